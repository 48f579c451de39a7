import { Router, type Request, type Response } from 'express';
import type { DayReport } from '../domain/reports.js';
import type { ShopTimeZone } from '../domain/time-zone.js';
import { AppError } from '../errors.js';
import { when } from '../ops/html.js';
import { objectToCsv } from '../render/csv.js';
import { reportText } from '../render/report-text.js';
import { type AdminDeps, isStale, noticeOf, redirectTo, send, sessionOf, STALE_FORM, text } from './context.js';
import { badge, csrfField, html, type Notice, type SafeHtml, table } from './page.js';

const dayPath = (dayId: string) => `days/${encodeURIComponent(dayId)}`;

/** Days per register: the X report now, Close day (confirmed) → Z report; 80 mm, A4 and CSV. */
export function daysRoutes(deps: AdminDeps): Router {
  const { gateway } = deps;
  const { backOffice, uow } = gateway;
  const router = Router();
  const m = (n: number) => backOffice.money.text(n);

  router.get('/days', (req, res) => {
    const now = gateway.now();
    const registers = backOffice.registrations().map((r) => {
      const x = r.currentDayId ? backOffice.report(r.currentDayId) : null;
      return {
        attrs: html`data-register="${r.cashRegisterName}"`,
        cells: [
          r.cashRegisterName,
          x ? html`${x.dayId} <span class="muted">since ${when(x.openedAt, now)}</span>` : html`<span class="muted">no open day</span>`,
          x ? html`<span data-field="sales">${x.saleCount}</span>` : '',
          x ? html`<span data-field="gross">${m(x.gross)}</span>` : '',
          x
            ? html`<span class="actions"><a href="${dayPath(x.dayId)}">X report now</a> <a class="button" href="days/close?register=${encodeURIComponent(r.cashRegisterName)}">Close day</a></span>`
            : html`<span class="muted">A day opens with the register's first sale.</span>`,
        ],
      };
    });
    const closed = backOffice
      .days({})
      .filter((d) => d.status === 'closed')
      .sort((a, b) => (b.closedAt ?? '').localeCompare(a.closedAt ?? ''))
      .slice(0, 100)
      .map((d) => ({
        attrs: html`data-day="${d.dayId}"`,
        cells: [html`<a href="${dayPath(d.dayId)}">${d.dayId}</a>`, d.cashRegisterName, when(d.openedAt, now), when(d.closedAt, now), d.saleCount, m(d.gross)],
      }));
    send(req, res, deps, {
      title: 'Days',
      section: 'days',
      live: true,
      notice: noticeOf(res),
      content: html`<h1>Days</h1>
<div id="live-days" data-live>
<h2>Open days</h2>${table('open-days', [{ label: 'Register' }, { label: 'Day' }, { label: 'Sales', num: true }, { label: `Gross ${backOffice.money.currency}`, num: true }, { label: '' }], registers, 'No registers yet.')}
<h2>Closed days (Z reports)</h2>${table('closed-days', [{ label: 'Day' }, { label: 'Register' }, { label: 'Opened' }, { label: 'Closed' }, { label: 'Sales', num: true }, { label: 'Gross', num: true }], closed, 'No day closed yet.')}
</div>`,
    });
  });

  const confirmPage = (req: Request, res: Response, register: string, notice: Notice | null, status = 200) => {
    const dayId = backOffice.currentDayId(register);
    const x = dayId ? backOffice.report(dayId) : null;
    send(
      req,
      res,
      deps,
      {
        title: 'Close day',
        section: 'days',
        notice,
        content: x
          ? html`<h1>Close day ${x.dayId}?</h1>
<p>Closing freezes this day's figures as its Z report (it never changes afterwards) and starts a new day with the register's next sale. Sales so far: <strong>${x.saleCount}</strong>, gross <strong>${m(x.gross)} ${x.currency}</strong>, expected cash <strong>${m(x.balance.expectedCash)}</strong>.</p>
<form method="post" action="close" class="actions">${csrfField(sessionOf(res).csrfToken)}<input type="hidden" name="register" value="${register}"><input type="hidden" name="dayId" value="${x.dayId}">
<button class="danger" type="submit">Close day</button> <a href="../days">Cancel</a></form>`
          : html`<h1>No open day</h1><p>Register ${register} has no open day to close.</p><p><a href="../days">Days</a></p>`,
      },
      status,
    );
  };

  router.get('/days/close', (req, res) => {
    const register = typeof req.query.register === 'string' ? req.query.register : '';
    try {
      backOffice.knownRegister(register);
    } catch {
      return send(
        req,
        res,
        deps,
        { title: 'Not found', section: 'days', content: html`<h1>No register ${register}</h1><p><a href="../days">Days</a></p>` },
        404,
      );
    }
    confirmPage(req, res, register, null);
  });

  router.post('/days/close', async (req, res) => {
    const register = text(req, 'register');
    if (isStale(req, sessionOf(res))) return confirmPage(req, res, register, STALE_FORM, 403);
    try {
      const { report, alreadyClosed } = await uow.transact(() => backOffice.closeDay(register, sessionOf(res).username, text(req, 'dayId') || undefined));
      req.log?.info({ event: 'admin.day_closed', dayId: report.dayId, admin: sessionOf(res).username }, `day ${report.dayId} closed in the back office`);
      redirectTo(
        req,
        res,
        dayPath(report.dayId),
        alreadyClosed ? `Day ${report.dayId} was already closed; this is its Z report.` : `Day ${report.dayId} closed. This is its Z report.`,
      );
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      confirmPage(req, res, register, { kind: 'fail', text: `The day was not closed: ${err.message}.` }, err.status);
    }
  });

  const reportOf = (req: Request, res: Response): DayReport | null => {
    try {
      return backOffice.report(String(req.params.dayId));
    } catch {
      send(
        req,
        res,
        deps,
        { title: 'Not found', section: 'days', content: html`<h1>No day ${String(req.params.dayId)}</h1><p><a href="../days">Days</a></p>` },
        404,
      );
      return null;
    }
  };

  router.get('/days/:dayId', (req, res) => {
    const report = reportOf(req, res);
    if (!report) return;
    const view = req.query.view === '80mm' ? '80mm' : req.query.view === 'a4' ? 'a4' : null;
    const id = encodeURIComponent(report.dayId);
    const title = `${report.type} report ${report.dayId}`;
    const links = html`<p class="no-print actions"><a href="../days">← Days</a> <a href="${id}?view=80mm">80 mm receipt</a> <a href="${id}?view=a4">A4 page</a> <a href="${id}/report.csv" download>CSV</a> <button type="button" data-print hidden>Print</button></p>`;
    if (view === '80mm') {
      return send(req, res, deps, {
        title,
        section: 'days',
        print: '80mm',
        content: html`${links}<pre id="report-text">${reportText(report, backOffice.money, backOffice.timeZone)}</pre>`,
      });
    }
    send(req, res, deps, {
      title,
      section: 'days',
      print: view === 'a4' ? 'a4' : undefined,
      notice: noticeOf(res),
      live: report.type === 'X',
      content: html`${links}<div id="live-report" data-live>${reportHtml(report, m, backOffice.timeZone)}</div>`,
    });
  });

  router.get('/days/:dayId/report.csv', (req, res) => {
    const report = reportOf(req, res);
    if (!report) return;
    res
      .type('text/csv; charset=utf-8')
      .set('Content-Disposition', `attachment; filename="${report.type}-report-${report.dayId.replace(/[^A-Za-z0-9_.-]/g, '_')}.csv"`)
      .send(objectToCsv(report));
  });

  return router;
}

function reportHtml(r: DayReport, m: (n: number) => string, zone: ShopTimeZone): SafeHtml {
  const kv = (id: string, rows: [string, string | number][]) =>
    table(
      id,
      [{ label: 'Item' }, { label: 'Amount', num: true }],
      rows.map(([k, v]) => ({ attrs: html`data-item="${k}"`, cells: [k, v] })),
      '',
    );
  return html`<h1>${r.type === 'X' ? 'X report (day still open)' : 'Z report'} ${badge(r.type === 'X' ? 'warn' : 'ok', r.type)}</h1>
<p class="meta">Register <strong>${r.cashRegisterName}</strong> · day <strong data-field="day-id">${r.dayId}</strong> · opened ${zone.short(r.openedAt)}${r.closedAt ? ` · closed ${zone.short(r.closedAt)}` : ''} · ${r.currency}</p>
<h2>Sales</h2>${kv('report-sales', [
    ['Sales', r.saleCount],
    ['Refunds', r.refundCount],
    ['Refunded', m(r.refundTotal)],
    ['Cancels', r.cancelCount],
    ['Cancelled', m(r.cancelTotal)],
    ['Gross', m(r.gross)],
    ['Discounts', m(r.discounts)],
    ['Net', m(r.net)],
    ['VAT', m(r.vatTotal)],
    ['Grand total', m(r.grandTotal)],
  ])}
<h2>VAT</h2>${table(
    'report-vat',
    [
      { label: 'Rate', num: true },
      { label: 'Net', num: true },
      { label: 'VAT', num: true },
      { label: 'Gross', num: true },
    ],
    r.vatRates.map((v) => ({ cells: [`${v.rate} %`, m(v.net), m(v.vat), m(v.gross)] })),
    'No sales.',
  )}
<h2>Payments</h2>${kv(
    'report-payments',
    Object.entries(r.payments).map(([k, v]) => [k, m(v)]),
  )}
<h2>Cash drawer</h2>${kv('report-cash', [
    ['Opening', m(r.balance.opening)],
    ['Deposits', m(r.balance.deposits)],
    ['Withdrawals', m(r.balance.withdrawals)],
    ['Cash payments', m(r.balance.cashPayments)],
    ['Expected cash', m(r.balance.expectedCash)],
  ])}`;
}
