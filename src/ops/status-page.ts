import { createHash } from 'node:crypto';
import type { QuarantineSummary } from '../domain/ledger.js';
import type { DeadLetter, ForwardingStatus, OutboxTargetState } from '../forward/status.js';
import type { DaySummary } from './daily-sales.js';
import type { DeviceState } from './device-activity.js';
import type { ShopTimeZone } from '../domain/time-zone.js';
import { formatDuration, html, SafeHtml, when } from './html.js';
import type { Check, Readiness } from './readiness.js';
import { safeTarget, safeText } from './safe-target.js';

export interface StatusView {
  now: Date;
  version: string;
  startedAt: Date;
  currency: string;
  /** The shop's time zone: every time on the page is shown in it, with its offset. */
  timeZone?: ShopTimeZone;
  readiness: Readiness;
  devices: DeviceState[];
  today: DaySummary;
  /** Open items (newest first, at most a page of them) and how many were resolved. */
  quarantine: { total: number; resolved: number; recent: QuarantineSummary[] };
  /** Absent: standalone without webhooks, nothing is forwarded. */
  forwarding: {
    upstream: ReturnType<ForwardingStatus['upstream']>;
    targets: OutboxTargetState[];
    deadLetters: DeadLetter[];
    dismissedDeadLetters: number;
  } | null;
  csrfToken: string;
  /** api.basePath without a trailing slash ("/api"; "" for "/"), as shown in the page's hints. */
  apiPath: string;
  /** The same relative to the page, for links to quarantine items ("./api"; "../../api/shops/cafe" for /shops/cafe/status). */
  apiHref: string;
  notice: { kind: 'ok' | 'warn'; text: string } | null;
  /** An operator's view of one shop of several (/shops/{shop}/status): the shop, and the way back to all shops. */
  overview?: { shop: string; name: string; href: string } | null;
}

export const STATUS_CSS = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1d1f21;--muted:#6b7075;--line:#d8dbdf;--ok:#1a7f37;--warn:#9a6700;--fail:#cf222e;--head:#f3f4f6}
@media (prefers-color-scheme:dark){:root{--bg:#15171a;--fg:#e6e6e6;--muted:#9aa0a6;--line:#33373c;--head:#1f2226}}
*{box-sizing:border-box}
body{margin:0;padding:12px;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg);max-width:1100px;margin-inline:auto}
h1{font-size:1.3em;margin:.2em 0}h2{font-size:1.1em;margin:1.4em 0 .4em;border-bottom:1px solid var(--line);padding-bottom:.2em}
.meta{color:var(--muted);font-size:.9em}.muted{color:var(--muted)}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--head);font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.reason{min-width:14em;overflow-wrap:anywhere}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.85em;font-weight:600;color:#fff;white-space:nowrap}
.ok{background:var(--ok)}.warn{background:var(--warn)}.fail{background:var(--fail)}.standalone{background:var(--muted)}
.notice{padding:8px 12px;border-radius:6px;margin:8px 0;border:1px solid var(--line)}
.notice.ok{background:rgba(26,127,55,.12);color:inherit}.notice.warn{background:rgba(154,103,0,.14);color:inherit}
button{font:inherit;padding:8px 14px;min-height:40px;border-radius:6px;border:1px solid var(--line);background:var(--head);color:inherit;cursor:pointer}
form{margin:0}
form.dismiss{display:flex;gap:6px;margin-top:6px}form.dismiss input{font:inherit;min-width:8em;flex:1;padding:6px}
h3{font-size:1em;margin:1em 0 .3em}
@media (max-width:640px){
body{padding:8px}
table.cards thead{display:none}
table.cards,table.cards tbody,table.cards tfoot,table.cards tr{display:block;width:100%}
table.cards tr{border:1px solid var(--line);border-radius:8px;margin:0 0 10px;padding:4px 10px}
table.cards tfoot tr{background:var(--head)}
table.cards td,table.cards th{display:flex;gap:10px;border:0;padding:4px 0;text-align:left;white-space:normal;background:none}
table.cards td::before,table.cards th::before{content:attr(data-label);flex:0 0 38%;color:var(--muted);font-weight:600}
table.cards td .v,table.cards th .v{flex:1;min-width:0;overflow-wrap:anywhere}
table.cards tr.empty td::before{content:none}
}
`;

/** The inline style is allowed by its hash; the page runs no script at all. */
export const STATUS_CSS_HASH = `'sha256-${createHash('sha256').update(STATUS_CSS).digest('base64')}'`;

/** The document's start up to `</head>` that the status pages share: their title and stylesheet. */
export const statusPageHead = (title: string): SafeHtml => html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title>tabshop-gateway ${title}</title>
<style>${new SafeHtml(STATUS_CSS)}</style>
</head>`;

export const badge = (status: string, text = status) => html`<span class="badge ${status}">${text}</span>`;

type Content = SafeHtml | string | number | null | undefined;

export interface Cell {
  value: Content;
  /** data-field, for tests and scripts reading the page. */
  field?: string;
  num?: boolean;
  wide?: boolean;
}

export interface Column {
  label: string;
  num?: boolean;
}

export interface Row {
  attrs: SafeHtml;
  cells: (Cell | Content)[];
}

const asCell = (c: Cell | Content): Cell => (c !== null && typeof c === 'object' && !(c instanceof SafeHtml) ? c : { value: c });

/**
 * A table that turns into one card per row on a phone: every cell carries its column's label
 * (data-label), which the narrow-screen CSS shows in front of the value.
 */
export function cardTable(id: string, columns: Column[], rows: Row[], empty: string, foot?: Row): SafeHtml {
  const cells = (row: Row, tag: 'td' | 'th') =>
    row.cells.map((c, i) => {
      const cell = asCell(c);
      const cls = [(cell.num ?? columns[i].num) ? 'num' : '', cell.wide ? 'reason' : ''].filter(Boolean).join(' ');
      return html`<${new SafeHtml(tag)} data-label="${columns[i].label}"${cls ? html` class="${cls}"` : ''}${cell.field ? html` data-field="${cell.field}"` : ''}><div class="v">${cell.value}</div></${new SafeHtml(tag)}>`;
    });
  const head = columns.map((c) => html`<th${c.num ? html` class="num"` : ''}>${c.label}</th>`);
  const body = rows.length
    ? rows.map((r) => html`<tr ${r.attrs}>${cells(r, 'td')}</tr>`)
    : html`<tr class="empty"><td colspan="${columns.length}" class="muted">${empty}</td></tr>`;
  return html`<div class="scroll"><table class="cards" id="${id}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody>${foot ? html`<tfoot><tr ${foot.attrs}>${cells(foot, 'th')}</tr></tfoot>` : ''}</table></div>`;
}

function checkRow(name: string, check: Check): SafeHtml {
  return html`<tr data-check="${name}"><td>${name}</td><td>${badge(check.status)}</td><td class="reason">${check.message}</td></tr>`;
}

const DEVICE_COLUMNS: Column[] = [
  { label: 'Device' },
  { label: 'Register' },
  { label: 'State' },
  { label: 'Last seen' },
  { label: 'Last push' },
  { label: 'Last failed login' },
];

function deviceRow(d: DeviceState, now: Date, zone?: ShopTimeZone): Row {
  const failing = d.lastFailedLogin && (!d.lastSeen || d.lastFailedLogin.at > d.lastSeen.at);
  const state = failing
    ? badge('fail', d.lastFailedLogin!.status === 429 ? 'login throttled' : 'login failing')
    : d.lastSeen
      ? badge('ok', 'ok')
      : badge('standalone', 'never seen');
  const push = d.lastPush?.summary;
  const pushText = push
    ? `${push.received} received: ${push.created} new, ${push.updated} updated, ${push.unchanged} unchanged, ${push.quarantined} quarantined`
    : d.lastPush?.derived
      ? 'from stored sales'
      : '';
  const last = d.lastSeen ? `${d.lastSeen.method} ${d.lastSeen.path} → ${d.lastSeen.status} from ${d.lastSeen.ip}` : '';
  return {
    attrs: html`data-device="${d.username}"`,
    cells: [
      d.username,
      d.cashRegister,
      state,
      { field: 'last-seen', value: html`${when(d.lastSeen?.at, now, zone)}<div class="muted">${last}</div>` },
      { field: 'last-push', value: html`${when(d.lastPush?.at, now, zone)}<div class="muted">${pushText}</div>` },
      {
        field: 'failed-login',
        value: d.lastFailedLogin
          ? html`${when(d.lastFailedLogin.at, now, zone)}<div class="muted">${d.lastFailedLogin.status} from ${d.lastFailedLogin.ip}</div>`
          : '',
      },
    ],
  };
}

function salesTable(today: DaySummary, currency: string): SafeHtml {
  const columns: Column[] = [
    { label: 'Register' },
    { label: 'Sales', num: true },
    { label: `Total ${currency}`, num: true },
    { label: 'Refunded / cancelled', num: true },
    { label: `Reversed ${currency}`, num: true },
  ];
  const figures = (r: { sales: number; total: string; reversed: number; reversedTotal: string }) => [
    { field: 'sales', value: r.sales },
    { field: 'total', value: r.total },
    { field: 'reversed', value: r.reversed },
    { field: 'reversed-total', value: r.reversedTotal },
  ];
  const rows = today.registers.map((r) => ({ attrs: html`data-register="${r.register}"`, cells: [r.register, ...figures(r)] }));
  return cardTable('sales-table', columns, rows, 'no registers', { attrs: html`data-register="(all)"`, cells: ['All registers', ...figures(today)] });
}

function quarantineTable(view: StatusView): SafeHtml {
  const { total, resolved, recent } = view.quarantine;
  const list = `${view.apiHref}/quarantine`;
  const done = resolved > 0 ? html` ${resolved} resolved (<a href="${`${list}?state=all`}">all items</a>).` : '';
  if (total === 0) return html`<p class="muted" data-field="quarantine-open">0 open: nothing waits for you.${done}</p>`;
  const columns: Column[] = [{ label: 'When' }, { label: 'Register' }, { label: 'Invoice' }, { label: 'Code' }, { label: 'Reason' }, { label: 'Id' }];
  const rows = recent.map((q) => ({
    attrs: html`data-quarantine="${q.id}"`,
    cells: [
      when(q.at, view.now, view.timeZone),
      q.cashRegisterName ?? '',
      q.invoiceId ?? '',
      badge(q.code === 'collision' ? 'fail' : 'warn', q.code),
      { value: q.reason, wide: true },
      html`<a href="${`${view.apiHref}/quarantine/${encodeURIComponent(q.id)}`}">${q.id}</a>`,
    ],
  }));
  return html`<p data-field="quarantine-open"><a href="${list}" id="quarantine-link"><strong>${total} open</strong></a> item(s) wait for an admin${total > recent.length ? ` (the newest ${recent.length} shown)` : ''}:
release each (<code>POST ${view.apiPath}/quarantine/{id}/release</code>) or dismiss it with a reason (<code>…/dismiss</code>).${done}</p>
${cardTable('quarantine-table', columns, rows, '')}`;
}

function forwardingSection(view: StatusView): SafeHtml {
  const f = view.forwarding;
  if (!f) return html`<p class="muted">Standalone: nothing is forwarded (no upstream, no webhooks).</p>`;
  const up = f.upstream;
  const upstream =
    up.mode === 'bridge'
      ? html`<p data-field="upstream">Upstream: ${up.reachable === null ? badge('standalone', 'unknown') : up.reachable ? badge('ok', 'reachable') : badge('fail', 'unreachable')}
 breaker ${up.breaker ?? 'n/a'}, catalogue ${up.catalogueCached ? 'cached' : 'not cached'}, last sync ${when(up.lastSyncAt, view.now, view.timeZone)}</p>`
      : html`<p class="muted">No upstream (webhooks only).</p>`;
  const targetColumns: Column[] = [
    { label: 'Target' },
    { label: 'Waiting', num: true },
    { label: 'Oldest', num: true },
    { label: 'Attempts', num: true },
    { label: 'Last error' },
    { label: 'Next attempt' },
  ];
  const targets = f.targets.map((t) => ({
    attrs: html`data-target="${safeTarget(t.target)}"`,
    cells: [
      safeTarget(t.target),
      { field: 'depth', value: t.depth },
      t.oldestAgeMs === null ? '' : formatDuration(t.oldestAgeMs),
      t.attempts,
      { value: t.lastError ? safeText(t.lastError) : '', wide: true },
      t.nextAttemptAt ? when(t.nextAttemptAt, view.now, view.timeZone) : '',
    ],
  }));
  const deadColumns: Column[] = [
    { label: 'Sale' },
    { label: 'Target' },
    { label: 'Attempts', num: true },
    { label: 'Reason' },
    { label: 'Since' },
    { label: '' },
  ];
  const dead = f.deadLetters.map((d) => ({
    attrs: html`data-dead-letter="${d.identifier}"`,
    cells: [
      d.identifier,
      safeTarget(d.target),
      d.attempts,
      { value: safeText(d.lastError), wide: true },
      when(d.at, view.now, view.timeZone),
      html`<form method="post" action="${`status/deadletters/${encodeURIComponent(d.identifier)}/retry`}"><input type="hidden" name="token" value="${view.csrfToken}"><input type="hidden" name="target" value="${d.target}"><button type="submit">Retry</button></form>
<form method="post" action="${`status/deadletters/${encodeURIComponent(d.identifier)}/dismiss`}" class="dismiss"><input type="hidden" name="token" value="${view.csrfToken}"><input type="hidden" name="target" value="${d.target}"><input name="reason" required maxlength="500" placeholder="why it may stay undelivered" aria-label="reason for dismissing ${d.identifier}"><button type="submit">Dismiss</button></form>`,
    ],
  }));
  const dismissed =
    f.dismissedDeadLetters > 0
      ? html`<p class="muted" data-field="dismissed-dead-letters">${f.dismissedDeadLetters} dismissed (kept: <code>GET ${view.apiPath}/deadletters?state=dismissed</code>).</p>`
      : '';
  return html`${upstream}
<h3>Outbox</h3>
${cardTable('outbox-table', targetColumns, targets, 'no targets')}
<h3>Dead letters</h3>
${dead.length ? cardTable('dead-letters-table', deadColumns, dead, '') : html`<p class="muted" id="no-dead-letters">None.</p>`}${dismissed}`;
}

export function renderStatusPage(view: StatusView): string {
  const r = view.readiness;
  const checks = (Object.entries(r.checks) as [string, Check][]).map(([name, c]) => checkRow(name, c));
  const overall = r.status === 'ready' ? 'ok' : r.status === 'degraded' ? 'warn' : 'fail';
  return html`${statusPageHead('status')}<body>
<header><h1>tabshop-gateway ${badge(overall, r.status)}</h1>
<p class="meta">version <span data-field="version">${view.version}</span> · up <span data-field="uptime">${formatDuration(view.now.getTime() - view.startedAt.getTime())}</span> (since ${when(view.startedAt, view.now, view.timeZone)}) · ${view.forwarding?.upstream.mode === 'bridge' ? 'bridge mode' : 'standalone'} · <a href="status">refresh</a></p></header>
${view.overview ? html`<p class="meta" id="shop">Shop <strong data-field="shop-name">${view.overview.name}</strong> (<span data-field="shop-id">${view.overview.shop}</span>) · <a href="${view.overview.href}" id="all-shops">all shops</a></p>` : ''}
${view.notice ? html`<p class="notice ${view.notice.kind}" id="notice">${view.notice.text}</p>` : ''}
<section id="health"><h2>Health</h2><div class="scroll"><table><tbody>${checks}</tbody></table></div></section>
<section id="devices"><h2>Devices</h2>${cardTable(
    'devices-table',
    DEVICE_COLUMNS,
    view.devices.map((d) => deviceRow(d, view.now, view.timeZone)),
    'no devices configured',
  )}</section>
<section id="sales"><h2>Today's sales <span class="muted" data-field="day">(${view.today.day})</span></h2>${salesTable(view.today, view.currency)}</section>
<section id="quarantine"><h2>Quarantine</h2>${quarantineTable(view)}</section>
<section id="forwarding"><h2>Forwarding</h2>${forwardingSection(view)}</section>
</body></html>
`.value;
}
