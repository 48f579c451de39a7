import { Router, type Request } from 'express';
import type { Product } from '../domain/types.js';
import { compareIds } from '../domain/catalog.js';
import { itemRow, mergeByRegister, mergeItems, registerRow, type DateRange } from '../domain/stats.js';
import { type ShopTimeZone, UTC } from '../domain/time-zone.js';
import { badRequest } from '../errors.js';
import type { BackOfficeDeps } from './back-office.js';
import { parseQueryTime, stringParam } from './http.js';
import { sendList } from './negotiate.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

// The leading CSV columns (an empty list still has its header); per-rate VAT and payment columns follow when present.
const ITEM_COLUMNS = ['quantity', 'gross', 'net', 'vat', 'costPrice', 'margin', 'saleCount', 'reversalCount'];
const REGISTER_COLUMNS = [
  'cashRegisterName',
  'saleCount',
  'refundCount',
  'cancelCount',
  'reinstatedCount',
  'salesTotal',
  'refundTotal',
  'cancelTotal',
  'reinstatedTotal',
  'changedTotal',
  'grossRounding',
  'gross',
  'net',
  'vatTotal',
];

/**
 * Stats are kept per date of the shop's calendar (the local date, in the shop's time zone, on which
 * the gateway received each change), so `from` and `to` are dates (2026-03-01) or times at a local
 * midnight (2026-03-01T00:00:00+11:00); `from` is inclusive, `to` exclusive.
 */
export function dateParam(req: Request, name: string, zone: ShopTimeZone): string | undefined {
  const raw = stringParam(req, name);
  if (raw === undefined) return undefined;
  const date = parseQueryTime(DATE.test(raw) ? `${raw}T00:00:00Z` : raw);
  const problem = (message: string) => badRequest(`${name} ${message}`, [{ field: name, message }]);
  if (date === null) throw problem('must be a date (2026-03-01), an ISO-8601 time or epoch milliseconds');
  if (DATE.test(raw)) return raw;
  if (zone.name === UTC && !date.toISOString().endsWith('T00:00:00.000Z')) throw problem('must fall on a UTC day boundary (stats are kept per UTC day)');
  if (!zone.startsDay(date))
    throw problem(`must fall on a day boundary in the shop's time zone, ${zone.name} (stats are kept per local day; give a date such as 2026-03-01)`);
  return zone.dateOf(date);
}

function filters(req: Request, zone: ShopTimeZone) {
  const range: DateRange = { from: dateParam(req, 'from', zone), to: dateParam(req, 'to', zone) };
  const cashRegisterName = stringParam(req, 'cashRegisterName');
  return { range, cashRegisterName, echo: { from: range.from ?? null, to: range.to ?? null, cashRegisterName: cashRegisterName ?? null } };
}

/** GET /products/stats, /categories/stats, /registrations/stats, /sales/stats (JSON or CSV). */
export function statsRouter({ backOffice, catalog, ledger }: BackOfficeDeps): Router {
  const router = Router();
  const money = backOffice.money;

  router.get('/products/stats', async (req, res) => {
    const { range, cashRegisterName, echo } = filters(req, backOffice.timeZone);
    const items = mergeItems(await backOffice.stats.select(range, cashRegisterName), (b) => b.products);
    const rows = [...items]
      .sort(([a], [b]) => compareIds(a, b))
      .map(([product, it]) => ({
        product,
        name: catalog.find<Product>('products', product)?.name ?? it.name,
        ...itemRow(it, money),
      }));
    sendList(req, res, rows, (r) => r, { ...echo, currency: money.currency }, 'products-stats.csv', ['product', 'name', ...ITEM_COLUMNS]);
  });

  router.get('/categories/stats', async (req, res) => {
    const { range, cashRegisterName, echo } = filters(req, backOffice.timeZone);
    const items = mergeItems(await backOffice.stats.select(range, cashRegisterName), (b) => b.categories);
    const rows = [...items].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([category, it]) => ({ category, ...itemRow(it, money) }));
    sendList(req, res, rows, (r) => r, { ...echo, currency: money.currency }, 'categories-stats.csv', ['category', ...ITEM_COLUMNS]);
  });

  router.get('/registrations/stats', async (req, res) => {
    const { range, cashRegisterName, echo } = filters(req, backOffice.timeZone);
    const byRegister = mergeByRegister(await backOffice.stats.select(range, cashRegisterName));
    const rows = [...byRegister].sort(([a], [b]) => compareIds(a, b)).map(([name, f]) => registerRow(name, f, money));
    sendList(req, res, rows, (r) => r, { ...echo, currency: money.currency }, 'registrations-stats.csv', REGISTER_COLUMNS);
  });

  router.get('/sales/stats', async (req, res) => {
    const { range, cashRegisterName, echo } = filters(req, backOffice.timeZone);
    const ids = await backOffice.stats.saleIds(range, cashRegisterName);
    // Entries and summaries of the listed sales in one read of the sales view, sorted by first seq.
    // On PostgreSQL the ids come from the sales table: a sale set aside at start (unloadable) is not listed.
    const known = await ledger.summaries(ids);
    const rows = ids.flatMap((identifier) => known.get(identifier) ?? []).sort((a, b) => a.summary.firstSeq - b.summary.firstSeq);
    sendList(
      req,
      res,
      rows,
      ({ identifier, cashRegisterName, createdAt, status, summary }) => ({
        identifier,
        cashRegisterName,
        createdAt,
        receivedAt: summary.receivedAt,
        dayId: summary.dayId,
        status,
        total: summary.total,
        vat: summary.vat,
        lines: summary.lines,
      }),
      { ...echo, currency: money.currency },
      'sales-stats.csv',
      ['identifier', 'cashRegisterName', 'createdAt', 'receivedAt', 'dayId', 'status', 'total', 'vat', 'lines'],
    );
  });

  return router;
}
