import { createHash } from 'node:crypto';
import type { QuarantineSummary } from '../domain/ledger.js';
import type { DeadLetter, ForwardingStatus, OutboxTargetState } from '../forward/status.js';
import type { DaySummary } from './daily-sales.js';
import type { DeviceState } from './device-activity.js';
import { formatDuration, html, SafeHtml, when } from './html.js';
import type { Check, Readiness } from './readiness.js';
import { safeTarget, safeText } from './safe-target.js';

export interface StatusView {
  now: Date;
  version: string;
  startedAt: Date;
  currency: string;
  readiness: Readiness;
  devices: DeviceState[];
  today: DaySummary;
  quarantine: { total: number; recent: QuarantineSummary[] };
  /** Absent: standalone without webhooks, nothing is forwarded. */
  forwarding: {
    upstream: ReturnType<ForwardingStatus['upstream']>;
    targets: OutboxTargetState[];
    deadLetters: DeadLetter[];
  } | null;
  csrfToken: string;
  /** api.basePath without a trailing slash ("/api"; "" for "/"), for links to quarantine items. */
  apiPath: string;
  notice: { kind: 'ok' | 'warn'; text: string } | null;
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
@media (max-width:600px){body{padding:8px;font-size:14px}th,td{padding:5px 6px}}
`;

/** The inline style is allowed by its hash; the page runs no script at all. */
export const STATUS_CSS_HASH = `'sha256-${createHash('sha256').update(STATUS_CSS).digest('base64')}'`;

const badge = (status: string, text = status) => html`<span class="badge ${status}">${text}</span>`;

function checkRow(name: string, check: Check): SafeHtml {
  return html`<tr data-check="${name}"><td>${name}</td><td>${badge(check.status)}</td><td class="reason">${check.message}</td></tr>`;
}

function deviceRow(d: DeviceState, now: Date): SafeHtml {
  const failing = d.lastFailedLogin && (!d.lastSeen || d.lastFailedLogin.at > d.lastSeen.at);
  const state = failing ? badge('fail', d.lastFailedLogin!.status === 429 ? 'login throttled' : 'login failing')
    : d.lastSeen ? badge('ok', 'ok') : badge('standalone', 'never seen');
  const push = d.lastPush?.summary;
  const pushText = push
    ? `${push.received} received: ${push.created} new, ${push.updated} updated, ${push.unchanged} unchanged, ${push.quarantined} quarantined`
    : d.lastPush?.derived ? 'from stored sales' : '';
  const last = d.lastSeen ? `${d.lastSeen.method} ${d.lastSeen.path} → ${d.lastSeen.status} from ${d.lastSeen.ip}` : '';
  return html`<tr data-device="${d.username}">
<td>${d.username}</td><td>${d.cashRegister}</td><td>${state}</td>
<td data-field="last-seen">${when(d.lastSeen?.at, now)}<div class="muted">${last}</div></td>
<td data-field="last-push">${when(d.lastPush?.at, now)}<div class="muted">${pushText}</div></td>
<td data-field="failed-login">${d.lastFailedLogin ? html`${when(d.lastFailedLogin.at, now)}<div class="muted">${d.lastFailedLogin.status} from ${d.lastFailedLogin.ip}</div>` : ''}</td>
</tr>`;
}

function salesTable(today: DaySummary, currency: string): SafeHtml {
  const rows = today.registers.map((r) => html`<tr data-register="${r.register}">
<td>${r.register}</td><td class="num" data-field="sales">${r.sales}</td><td class="num" data-field="total">${r.total}</td>
<td class="num" data-field="reversed">${r.reversed}</td><td class="num" data-field="reversed-total">${r.reversedTotal}</td></tr>`);
  return html`<div class="scroll"><table id="sales-table">
<thead><tr><th>Register</th><th class="num">Sales</th><th class="num">Total ${currency}</th><th class="num">Refunded / cancelled</th><th class="num">Reversed ${currency}</th></tr></thead>
<tbody>${rows}</tbody>
<tfoot><tr data-register="(all)"><th>All registers</th><th class="num" data-field="sales">${today.sales}</th><th class="num" data-field="total">${today.total}</th><th class="num" data-field="reversed">${today.reversed}</th><th class="num" data-field="reversed-total">${today.reversedTotal}</th></tr></tfoot>
</table></div>`;
}

function quarantineTable(view: StatusView): SafeHtml {
  const { total, recent } = view.quarantine;
  if (total === 0) return html`<p class="muted">Empty: every pushed invoice was stored.</p>`;
  const rows = recent.map((q) => html`<tr data-quarantine="${q.id}">
<td>${when(q.at, view.now)}</td><td>${q.cashRegisterName ?? ''}</td><td>${q.invoiceId ?? ''}</td><td>${badge(q.code === 'collision' ? 'fail' : 'warn', q.code)}</td>
<td class="reason">${q.reason}</td><td><a href="${`.${view.apiPath}/quarantine/${encodeURIComponent(q.id)}`}">${q.id}</a></td></tr>`);
  return html`<p>${total} item(s)${total > recent.length ? `, the newest ${recent.length} shown` : ''}. Full payloads: <code>GET ${view.apiPath}/quarantine</code>.</p>
<div class="scroll"><table id="quarantine-table"><thead><tr><th>When</th><th>Register</th><th>Invoice</th><th>Code</th><th>Reason</th><th>Id</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

function forwardingSection(view: StatusView): SafeHtml {
  const f = view.forwarding;
  if (!f) return html`<p class="muted">Standalone: nothing is forwarded (no upstream, no webhooks).</p>`;
  const up = f.upstream;
  const upstream = up.mode === 'bridge'
    ? html`<p data-field="upstream">Upstream: ${up.reachable === null ? badge('standalone', 'unknown') : up.reachable ? badge('ok', 'reachable') : badge('fail', 'unreachable')}
 breaker ${up.breaker ?? 'n/a'}, catalogue ${up.catalogueCached ? 'cached' : 'not cached'}, last sync ${when(up.lastSyncAt, view.now)}</p>`
    : html`<p class="muted">No upstream (webhooks only).</p>`;
  const targets = f.targets.map((t) => html`<tr data-target="${safeTarget(t.target)}">
<td>${safeTarget(t.target)}</td><td class="num" data-field="depth">${t.depth}</td><td class="num">${t.oldestAgeMs === null ? '' : formatDuration(t.oldestAgeMs)}</td>
<td class="num">${t.attempts}</td><td class="reason">${t.lastError ? safeText(t.lastError) : ''}</td><td>${t.nextAttemptAt ? when(t.nextAttemptAt, view.now) : ''}</td></tr>`);
  const dead = f.deadLetters.map((d) => html`<tr data-dead-letter="${d.identifier}">
<td>${d.identifier}</td><td>${safeTarget(d.target)}</td><td class="num">${d.attempts}</td><td class="reason">${safeText(d.lastError)}</td><td>${when(d.at, view.now)}</td>
<td><form method="post" action="${`status/deadletters/${encodeURIComponent(d.identifier)}/retry`}"><input type="hidden" name="token" value="${view.csrfToken}"><button type="submit">Retry</button></form></td></tr>`);
  return html`${upstream}
<h3>Outbox</h3>
<div class="scroll"><table id="outbox-table"><thead><tr><th>Target</th><th class="num">Waiting</th><th class="num">Oldest</th><th class="num">Attempts</th><th>Last error</th><th>Next attempt</th></tr></thead>
<tbody>${targets.length ? targets : html`<tr><td colspan="6" class="muted">no targets</td></tr>`}</tbody></table></div>
<h3>Dead letters</h3>
${dead.length ? html`<div class="scroll"><table id="dead-letters-table"><thead><tr><th>Sale</th><th>Target</th><th class="num">Attempts</th><th>Reason</th><th>Since</th><th></th></tr></thead><tbody>${dead}</tbody></table></div>`
    : html`<p class="muted" id="no-dead-letters">None.</p>`}`;
}

export function renderStatusPage(view: StatusView): string {
  const r = view.readiness;
  const checks = (Object.entries(r.checks) as [string, Check][]).map(([name, c]) => checkRow(name, c));
  const overall = r.status === 'ready' ? 'ok' : r.status === 'degraded' ? 'warn' : 'fail';
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title>tabshop-gateway status</title>
<style>${new SafeHtml(STATUS_CSS)}</style>
</head><body>
<header><h1>tabshop-gateway ${badge(overall, r.status)}</h1>
<p class="meta">version <span data-field="version">${view.version}</span> · up <span data-field="uptime">${formatDuration(view.now.getTime() - view.startedAt.getTime())}</span> (since ${when(view.startedAt, view.now)}) · ${view.forwarding?.upstream.mode === 'bridge' ? 'bridge mode' : 'standalone'} · <a href="status">refresh</a></p></header>
${view.notice ? html`<p class="notice ${view.notice.kind}" id="notice">${view.notice.text}</p>` : ''}
<section id="health"><h2>Health</h2><div class="scroll"><table><tbody>${checks}</tbody></table></div></section>
<section id="devices"><h2>Devices</h2><div class="scroll"><table id="devices-table">
<thead><tr><th>Device</th><th>Register</th><th>State</th><th>Last seen</th><th>Last push</th><th>Last failed login</th></tr></thead>
<tbody>${view.devices.map((d) => deviceRow(d, view.now))}</tbody></table></div></section>
<section id="sales"><h2>Today's sales <span class="muted" data-field="day">${view.today.day}</span></h2>${salesTable(view.today, view.currency)}</section>
<section id="quarantine"><h2>Quarantine</h2>${quarantineTable(view)}</section>
<section id="forwarding"><h2>Forwarding</h2>${forwardingSection(view)}</section>
</body></html>
`.value;
}
