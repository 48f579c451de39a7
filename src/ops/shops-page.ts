import { formatDuration, html, type SafeHtml, when } from './html.js';
import type { Readiness } from './readiness.js';
import { badge, type Column, cardTable, type Row, statusPageHead } from './status-page.js';

type ReadinessStatus = Readiness['status'];

/** One shop's figures, as its own status page counts them. */
export interface ShopFigures {
  health: ReadinessStatus;
  /** The checks that fail, then those that warn. */
  failing: string[];
  devices: number;
  devicesSeen: number;
  lastSeen: Date | null;
  salesToday: number;
  totalToday: string;
  quarantineOpen: number;
  /** Open dead letters; null when the shop forwards nothing. */
  deadLetters: number | null;
}

export interface ShopLine {
  id: string;
  name: string;
  currency: string;
  disabled: boolean;
  /** Devices the directory lists for it (config and API). */
  devices: number;
  open: boolean;
  /** Live when open; else the last figures this process took while it was open, or null. */
  figures: ShopFigures | null;
  figuresAt: Date | null;
}

export interface ShopsView {
  now: Date;
  version: string;
  startedAt: Date;
  shops: ShopLine[];
}

const HEALTH_BADGE: Record<ReadinessStatus, string> = { ready: 'ok', degraded: 'warn', not_ready: 'fail' };

const COLUMNS: Column[] = [
  { label: 'Shop' },
  { label: 'Health' },
  { label: 'Devices seen', num: true },
  { label: "Today's sales", num: true },
  { label: 'Total', num: true },
  { label: 'Open quarantine', num: true },
  { label: 'Dead letters', num: true },
];

function shopRow(s: ShopLine, now: Date): Row {
  const f = s.figures;
  const state = s.open && f ? badge(HEALTH_BADGE[f.health], f.health) : badge('standalone', 'not open');
  const health = html`${state}${s.disabled ? html` ${badge('fail', 'disabled')}` : ''}${
    s.open && f?.failing.length ? html`<div class="muted">${f.failing.join(', ')}</div>` : ''
  }${!s.open && f && s.figuresAt ? html`<div class="muted">figures as of ${when(s.figuresAt, now)}</div>` : ''}`;
  const figure = (field: string, value: string | number | SafeHtml | null | undefined) => ({
    field,
    value: f ? (value ?? '—') : html`<span class="muted">—</span>`,
  });
  return {
    attrs: html`data-shop="${s.id}"`,
    cells: [
      html`<a href="${`shops/${encodeURIComponent(s.id)}/status`}" data-link="shop">${s.name}</a><div class="muted">${s.id} · <a href="${`shops/${encodeURIComponent(s.id)}/admin/`}" data-link="back-office">back office</a></div>`,
      { field: 'health', value: health },
      f
        ? { field: 'devices-seen', value: html`${f.devicesSeen} of ${f.devices}<div class="muted">${when(f.lastSeen, now)}</div>` }
        : { field: 'devices-seen', value: html`<span class="muted">— of ${s.devices}</span>` },
      figure('sales', f?.salesToday),
      figure('total', f ? `${f.totalToday} ${s.currency}` : null),
      figure('quarantine-open', f?.quarantineOpen),
      figure('dead-letters', f ? (f.deadLetters === null ? html`<span class="muted">n/a</span>` : f.deadLetters) : null),
    ],
  };
}

/** The operators' page at /status: every shop of the deployment on one line, each linking to its own page. */
export function renderShopsPage(view: ShopsView): string {
  const open = view.shops.filter((s) => s.open);
  const healths = open.map((s) => s.figures?.health).filter((h): h is ReadinessStatus => h !== undefined);
  const overall: ReadinessStatus = healths.includes('not_ready') ? 'not_ready' : healths.includes('degraded') ? 'degraded' : 'ready';
  const disabled = view.shops.filter((s) => s.disabled).length;
  return html`${statusPageHead('shops')}<body>
<header><h1>tabshop-gateway ${badge(HEALTH_BADGE[overall], overall)}</h1>
<p class="meta">version <span data-field="version">${view.version}</span> · up <span data-field="uptime">${formatDuration(view.now.getTime() - view.startedAt.getTime())}</span> (since ${when(view.startedAt, view.now)}) · <span data-field="shops">${view.shops.length}</span> shops, <span data-field="shops-open">${open.length}</span> open, ${disabled} disabled · <a href="status">refresh</a></p></header>
<section id="shops"><h2>Shops</h2>${cardTable(
    'shops-table',
    COLUMNS,
    view.shops.map((s) => shopRow(s, view.now)),
    'no shops',
  )}
<p class="muted">A shop's gateway opens on its first request; the page of a shop that is not open opens it. Health, devices, sales, quarantine and dead letters are those of its own page (health of the open shops only). A shop not open shows the figures it had when this page last saw it open, if any.</p></section>
</body></html>
`.value;
}
