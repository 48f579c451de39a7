import { Router, type Request } from 'express';
import { receiptOf } from '../domain/receipt.js';
import type { SaleQuery } from '../domain/ports/sales-view.js';
import type { SaleStatus } from '../domain/types.js';
import { when } from '../ops/html.js';
import { receiptText } from '../render/receipt-text.js';
import { type AdminDeps, noticeOf, send } from './context.js';
import { badge, field, html, table } from './page.js';

const PAGE_SIZE = 50;
const STATUS_TEXT: Record<SaleStatus, string> = { completed: 'Completed', refunded: 'Refunded', cancelled: 'Cancelled' };
const statusBadge = (s: SaleStatus) => badge(s === 'completed' ? 'ok' : 'warn', STATUS_TEXT[s]);
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A calendar date typed in the filter (local time of the server), as an ISO instant; `end`: the next midnight. */
function dayStart(value: string, end: boolean): string | undefined {
  if (!DATE.test(value)) return undefined;
  const [y, m, d] = value.split('-').map(Number);
  const t = new Date(y, m - 1, d + (end ? 1 : 0));
  return Number.isNaN(t.getTime()) ? undefined : t.toISOString();
}

const q = (req: Request, name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : '');

/** Sales: filter by register, dates and status; a sale's lines, payments, VAT, history and original invoice; its receipt. */
export function salesRoutes(deps: AdminDeps): Router {
  const { gateway } = deps;
  const { ledger, backOffice } = gateway;
  const router = Router();
  const currency = gateway.config.currency;

  router.get('/sales', async (req, res) => {
    const filter = { register: q(req, 'register'), from: q(req, 'from'), to: q(req, 'to'), status: q(req, 'status') };
    const errors: Record<string, string> = {};
    if (filter.from && !dayStart(filter.from, false)) errors.from = 'Enter a date such as 2026-11-23.';
    if (filter.to && !dayStart(filter.to, true)) errors.to = 'Enter a date such as 2026-11-23.';
    const query: SaleQuery = {
      cashRegisterName: filter.register || undefined,
      status: (['completed', 'refunded', 'cancelled'] as const).find((s) => s === filter.status),
      from: dayStart(filter.from, false),
      to: dayStart(filter.to, true),
    };
    const pageNo = Math.max(0, Number.parseInt(q(req, 'page') || '0', 10) || 0);
    const { items: shown, total: matching } = await ledger.page(query, pageNo * PAGE_SIZE, PAGE_SIZE, 'newest-first');
    const records = await Promise.all(shown.map((e) => ledger.getSale(e.identifier)));
    const rows = records.flatMap((r) =>
      r
        ? [
            {
              attrs: html`data-sale="${r.sale.identifier}"`,
              cells: [
                when(r.sale.createdAt, gateway.now()),
                r.sale.cashRegisterName,
                html`<a href="sales/${encodeURIComponent(r.sale.identifier)}">${r.sale.source?.invoiceId ?? r.sale.identifier}</a>`,
                statusBadge(r.sale.status),
                html`<span data-field="total">${backOffice.money.text(r.sale.total)}</span>`,
                r.sale.lines.length,
              ],
            },
          ]
        : [],
    );
    const registers = [...new Set([...backOffice.registerNames(), ...deps.activity.list().map((d) => d.cashRegister)])].filter(Boolean).sort();
    const pageLink = (n: number, label: string) => {
      const params = new URLSearchParams({ ...Object.fromEntries(Object.entries(filter).filter(([, v]) => v)), page: String(n) });
      return html`<a href="sales?${params.toString()}">${label}</a>`;
    };
    send(req, res, deps, {
      title: 'Sales',
      section: 'sales',
      notice: noticeOf(res),
      live: true,
      content: html`<h1>Sales</h1>
<form class="filters" method="get" action="sales">
${field({ label: 'Register', name: 'register', value: filter.register, options: [['', 'All registers'], ...registers.map((r): [string, string] => [r, r])] })}
${field({ label: 'From', name: 'from', type: 'date', value: filter.from, error: errors.from })}
${field({ label: 'To', name: 'to', type: 'date', value: filter.to, error: errors.to, hint: 'Inclusive' })}
${field({
  label: 'Status',
  name: 'status',
  value: filter.status,
  options: [
    ['', 'Any status'],
    ['completed', 'Completed'],
    ['refunded', 'Refunded'],
    ['cancelled', 'Cancelled'],
  ],
})}
<button type="submit">Filter</button> <a href="sales">Clear</a>
</form>
<div id="live-sales-list" data-live>
<p class="muted" data-field="count">${matching} sale(s)${matching > PAGE_SIZE ? `, ${pageNo * PAGE_SIZE + 1}–${pageNo * PAGE_SIZE + shown.length} shown, newest first` : ''}</p>
${table('sales-list', [{ label: 'Time' }, { label: 'Register' }, { label: 'Invoice' }, { label: 'Status' }, { label: `Total ${currency}`, num: true }, { label: 'Lines', num: true }], rows, 'No sales match.')}
<p class="actions">${pageNo > 0 ? pageLink(pageNo - 1, 'Newer') : ''} ${(pageNo + 1) * PAGE_SIZE < matching ? pageLink(pageNo + 1, 'Older') : ''}</p>
</div>`,
    });
  });

  router.get('/sales/:id', async (req, res) => {
    const record = await ledger.getSale(String(req.params.id));
    if (!record)
      return send(
        req,
        res,
        deps,
        { title: 'Not found', section: 'sales', content: html`<h1>No sale ${String(req.params.id)}</h1><p><a href="../sales">All sales</a></p>` },
        404,
      );
    const { sale } = record;
    const dayId = sale.dayId ?? (await backOffice.summary(sale.identifier))?.dayId;
    const receipt = receiptOf(sale, backOffice.lineFactsOf(record), backOffice.money, false);
    const m = (n: number) => backOffice.money.text(n);
    const now = gateway.now();
    const lines = receipt.lines.map((l, i) => ({
      cells: [
        l.lineNo,
        l.name,
        sale.lines[i]?.product ?? '',
        l.quantity,
        m(l.unitPrice),
        m(l.discount),
        `${l.vatRate} %`,
        m(sale.lines[i]?.vat ?? 0),
        m(l.total),
      ],
    }));
    const payments = sale.payments.map((p) => ({
      cells: [p.method, p.code ?? '', m(p.amount), p.given === undefined ? '' : m(p.given), p.returned === undefined ? '' : m(p.returned)],
    }));
    const vat = receipt.vat.map((v) => ({ cells: [`${v.rate} %`, m(v.net), m(v.vat), m(v.gross)] }));
    const history = record.history.map((h) => ({
      cells: [when(h.at, now), h.seq, h.kind === 'receipt' ? 'Receipt printed' : STATUS_TEXT[h.status], h.dayId ?? ''],
    }));
    const invoice = sale.source?.invoice;
    send(req, res, deps, {
      title: `Sale ${receipt.receiptNumber}`,
      section: 'sales',
      content: html`<p><a href="../sales">← All sales</a></p>
<h1>Sale ${receipt.receiptNumber} ${statusBadge(sale.status)}</h1>
<p class="meta">Register <strong>${sale.cashRegisterName}</strong> · ${when(sale.createdAt, now)} · day ${dayId ?? '–'} · ${sale.source?.device ? `pushed by ${sale.source.device}` : `posted through the API`}</p>
<div class="cards"><div class="card"><div class="muted">Total ${currency}</div><div class="big" data-field="total">${m(sale.total)}</div></div>
<div class="card"><div class="muted">VAT</div><div class="big" data-field="vat">${m(sale.vat)}</div></div>
<div class="card"><div class="muted">Discount</div><div class="big">${m(sale.discount)}</div></div></div>
<p class="actions"><a class="button" href="${encodeURIComponent(sale.identifier)}/receipt">Receipt print view</a></p>
<h2>Lines</h2>${table('sale-lines', [{ label: '#' }, { label: 'Item' }, { label: 'Product' }, { label: 'Qty', num: true }, { label: 'Unit price', num: true }, { label: 'Discount', num: true }, { label: 'VAT rate', num: true }, { label: 'VAT', num: true }, { label: 'Total', num: true }], lines, 'No lines.')}
<h2>Payments</h2>${table('sale-payments', [{ label: 'Method' }, { label: 'TabShop code' }, { label: 'Amount', num: true }, { label: 'Given', num: true }, { label: 'Returned', num: true }], payments, 'No payment recorded.')}
<h2>VAT</h2>${table(
        'sale-vat',
        [
          { label: 'Rate', num: true },
          { label: 'Net', num: true },
          { label: 'VAT', num: true },
          { label: 'Gross', num: true },
        ],
        vat,
        'No VAT.',
      )}
<h2>History</h2>${table('sale-history', [{ label: 'When' }, { label: 'Change no.', num: true }, { label: 'Status' }, { label: 'Day' }], history, 'No history.')}
${sale.customer.name || sale.customer.email ? html`<h2>Customer</h2><p>${sale.customer.name} ${sale.customer.email} ${sale.customer.address}</p>` : ''}
<h2>Original TabShop invoice</h2>
${invoice === undefined ? html`<p class="muted">This sale was posted through the API, not pushed by a tablet.</p>` : html`<pre id="original-invoice">${JSON.stringify(invoice, null, 2)}</pre>`}`,
    });
  });

  router.get('/sales/:id/receipt', async (req, res) => {
    const record = await ledger.getSale(String(req.params.id));
    if (!record) return send(req, res, deps, { title: 'Not found', section: 'sales', content: html`<h1>No sale ${String(req.params.id)}</h1>` }, 404);
    const receipt = receiptOf(record.sale, backOffice.lineFactsOf(record), backOffice.money, record.sale.receiptPrintedAt !== null);
    send(req, res, deps, {
      title: `Receipt ${receipt.receiptNumber}`,
      section: 'sales',
      print: '80mm',
      content: html`<p class="no-print actions"><a href="../${encodeURIComponent(record.sale.identifier)}">← Back to the sale</a> <button type="button" data-print hidden>Print</button></p>
<pre id="receipt" class="receipt">${receiptText(receipt, backOffice.money, backOffice.timeZone)}</pre>`,
    });
  });

  return router;
}
