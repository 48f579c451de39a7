import { Router } from 'express';
import { when } from '../ops/html.js';
import { type AdminDeps, devicePresence, noticeOf, send } from './context.js';
import { html, table } from './page.js';

/** Today at a glance: per register, the devices, what needs attention; refreshed live. */
export function dashboardRoutes(deps: AdminDeps): Router {
  const { gateway, activity, dailySales } = deps;
  const router = Router();

  router.get('/', async (req, res) => {
    const now = gateway.now();
    const currency = gateway.config.currency;
    const registers = [...new Set([...gateway.backOffice.registerNames(), ...activity.list().map((d) => d.cashRegister)])].filter(Boolean);
    const today = await dailySales.today(registers);
    const quarantine = await gateway.ledger.openQuarantineCount();
    const deadLetters = gateway.forwarding?.deadLetters().length ?? 0;
    const figures = (r: { sales: number; total: string; reversed: number; reversedTotal: string }) => [
      html`<span data-field="sales">${r.sales}</span>`,
      html`<span data-field="total">${r.total}</span>`,
      html`<span data-field="refunds">${r.reversed}</span>`,
      html`<span data-field="refunds-total">${r.reversedTotal}</span>`,
    ];
    const salesRows = [
      ...today.registers.map((r) => ({
        attrs: html`data-register="${r.register}"`,
        cells: [html`<a href="sales?register=${encodeURIComponent(r.register)}">${r.register}</a>`, ...figures(r)],
      })),
      { attrs: html`data-register="(all)"`, cells: [html`<strong>All registers</strong>`, ...figures(today)] },
    ];
    const presence = devicePresence(deps);
    const devices = activity.list().map((d) => ({
      attrs: html`data-device="${d.username}"`,
      cells: [
        d.username,
        d.cashRegister,
        html`<span data-field="last-seen">${when(presence(d.username, d.lastSeen?.at, d.lastPush?.at).seen, now)}</span>`,
        html`<span data-field="last-push">${when(presence(d.username, d.lastSeen?.at, d.lastPush?.at).pushed, now)}</span>`,
        d.lastFailedLogin ? html`${when(d.lastFailedLogin.at, now)}` : html`<span class="muted">none</span>`,
      ],
    }));
    send(req, res, deps, {
      title: 'Dashboard',
      section: 'dashboard',
      live: true,
      notice: noticeOf(res),
      content: html`<h1>Dashboard</h1>
<div id="live-attention" data-live class="cards">
<div class="card"><div class="muted">Open quarantine</div><div class="big" data-field="quarantine">${quarantine}</div>${quarantine ? html`<a href="quarantine">Review the quarantine</a>` : html`<span class="muted">Nothing to review</span>`}</div>
<div class="card"><div class="muted">Dead letters</div><div class="big" data-field="dead-letters">${deadLetters}</div>${deadLetters ? html`<a href="quarantine#dead-letters">Retry or dismiss</a>` : html`<span class="muted">${gateway.forwarding ? 'Everything was delivered' : 'Nothing is forwarded'}</span>`}</div>
<div class="card"><div class="muted">Sales today</div><div class="big" data-field="sales-today">${today.sales}</div><span class="muted">${currency} ${today.total}</span></div>
</div>
<section id="live-sales" data-live><h2>Today <span class="muted" data-field="day">${today.day}</span></h2>
${table('sales-table', [{ label: 'Register' }, { label: 'Sales', num: true }, { label: `Total ${currency}`, num: true }, { label: 'Refunds and cancels', num: true }, { label: `Refunded ${currency}`, num: true }], salesRows, 'No registers yet.')}
</section>
<section id="live-devices" data-live><h2>Devices</h2>
${table('devices-table', [{ label: 'Device' }, { label: 'Register' }, { label: 'Last seen' }, { label: 'Last push' }, { label: 'Last failed login' }], devices, 'No devices.')}
<p><a href="devices">Manage devices</a></p>
</section>
<p class="meta" id="live-stamp" data-live>Updated ${when(now, now)}</p>`,
    });
  });

  return router;
}
