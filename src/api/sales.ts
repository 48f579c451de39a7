import { randomUUID } from 'node:crypto';
import { Router, type Response } from 'express';
import { accountOf } from '../auth/basic-auth.js';
import type { Account } from '../auth/accounts.js';
import type { ReleaseInput, SalesLedger } from '../domain/ledger.js';
import type { Sale, SaleStatus } from '../domain/types.js';
import { AppError, notFound } from '../errors.js';
import type { Store } from '../store/port.js';
import type { QuarantineItem, QuarantineState } from '../store/records.js';
import { validateInvoice } from '../translate/invoice-schema.js';
import { sumDecimals } from '../translate/decimal.js';
import { dismissReason, stringParam, timeParam } from './http.js';
import { problemsOf, validateBody } from './validate.js';
import { listRange, sendCsv, wantsCsv } from './negotiate.js';
import { objectsToCsv } from '../render/csv.js';

type SaleBody = Omit<Sale, 'version'> & Partial<Pick<Sale, 'identifier' | 'status'>>;

const STATUSES: ReadonlySet<string> = new Set(['completed', 'refunded', 'cancelled']);

export interface SalesDeps {
  ledger: SalesLedger;
  store: Store;
  now: () => Date;
}

/** srv4pos use case 3 (sales) over the gateway's own store, and the quarantine (a to-do list: release or dismiss). */
export function salesRouter({ ledger, store, now }: SalesDeps): Router {
  const router = Router();

  router.get('/sales', async (req, res) => {
    const asCsv = wantsCsv(req);
    const { firstResult, maxResults } = listRange(req, asCsv);
    const register = stringParam(req, 'cashRegisterName');
    const status = stringParam(req, 'status');
    if (status !== undefined && !STATUSES.has(status)) throw new AppError('bad_request', 'status must be completed, refunded or cancelled');
    const from = timeParam(req, 'from');
    const to = timeParam(req, 'to');
    const page = await ledger.page({ cashRegisterName: register, status: status as SaleStatus | undefined, from, to }, firstResult, maxResults);
    const items = await Promise.all(page.items.map(async (e) => (await ledger.getSale(e.identifier))!.sale));
    if (asCsv) sendCsv(res, objectsToCsv(items.map(saleRow), SALE_COLUMNS), 'sales.csv');
    else res.json({ items, total: page.total });
  });

  router.get('/sales/:id', async (req, res) => {
    const record = await ledger.getSale(req.params.id);
    if (!record) throw notFound(`sale ${req.params.id}`);
    res.json(record.sale);
  });

  router.post('/sales', async (req, res) => {
    const body = validateBody<SaleBody>('sale', req.body);
    await storeSale(res, body, body.identifier ?? defaultIdentifier(body), true);
  });

  router.put('/sales/:id', async (req, res) => {
    const body = validateBody<SaleBody>('sale', req.body);
    if (body.identifier !== undefined && body.identifier !== req.params.id) {
      throw new AppError('url_and_body_identifiers_mismatch', `identifier in the URL (${req.params.id}) differs from the body's (${body.identifier})`);
    }
    await storeSale(res, body, req.params.id, false, req.query.replace === 'true');
  });

  async function storeSale(res: Response, body: SaleBody, identifier: string, createOnly = false, replace = false): Promise<void> {
    const account = accountOf(res);
    if (account.role === 'device' && body.cashRegisterName !== account.cashRegister) {
      throw new AppError('forbidden', `device ${account.username} may only post sales of register ${account.cashRegister}`);
    }
    if (!identifier.startsWith(`${body.cashRegisterName}:`)) {
      throw new AppError('validation_failed', 'a sale identifier is "<cashRegisterName>:<id>"', [
        { field: '/identifier', message: `must start with ${body.cashRegisterName}:` },
      ]);
    }
    const sale = normaliseSale(body, identifier, account);
    const { outcome, sale: stored } = await ledger.putApiSale(sale, now(), { createOnly, replace });
    res
      .status(outcome === 'created' ? 201 : 200)
      .location(`sales/${encodeURIComponent(identifier)}`)
      .json(stored);
  }

  router.get('/sales/:id/history', async (req, res) => {
    const record = await ledger.getSale(req.params.id);
    if (!record) throw notFound(`sale ${req.params.id}`);
    res.json({ identifier: record.sale.identifier, status: record.sale.status, changes: record.history, ignored: record.ignored ?? [] });
  });

  router.get('/quarantine', async (req, res) => {
    const asCsv = wantsCsv(req);
    const { firstResult, maxResults } = listRange(req, asCsv);
    const state = stringParam(req, 'state') ?? 'open';
    if (!QUARANTINE_STATES.has(state))
      throw new AppError('bad_request', 'state must be open, released, dismissed or all', [{ field: 'state', message: 'invalid' }]);
    const page = await ledger.quarantinePage(state as QuarantineState | 'all', firstResult, maxResults);
    const items = await Promise.all(page.items.map(async (q) => withState((await store.getQuarantine(q.id))!)));
    if (asCsv) sendCsv(res, objectsToCsv(items.map(quarantineRow), QUARANTINE_COLUMNS), 'quarantine.csv');
    else res.json({ items, total: page.total });
  });

  router.get('/quarantine/:id', async (req, res) => {
    const item = await store.getQuarantine(req.params.id);
    if (!item) throw notFound(`quarantine item ${req.params.id}`);
    res.json(withState(item));
  });

  router.post('/quarantine/:id/release', async (req, res) => {
    const account = accountOf(res);
    const input = releaseInput(req.body, account);
    const result = await ledger.releaseQuarantine(req.params.id, input, account.username, now());
    const answer = { outcome: result.outcome, sale: result.sale, reason: result.reason };
    req.log?.info(
      { event: 'quarantine.release', id: req.params.id, admin: account.username, outcome: result.outcome, sale: result.sale },
      result.outcome === 'quarantined'
        ? `quarantine item ${req.params.id} quarantined again; it stays open`
        : `quarantine item ${req.params.id} released: ${result.outcome} ${result.sale}`,
    );
    if (result.outcome === 'quarantined') {
      res
        .status(422)
        .json({ ...answer, error: { code: 'quarantined_again', message: `the release was quarantined again and the item stays open: ${result.reason}` } });
      return;
    }
    res.json(answer);
  });

  router.post('/quarantine/:id/dismiss', async (req, res) => {
    const reason = dismissReason(req.body);
    const item = await ledger.dismissQuarantine(req.params.id, reason, accountOf(res).username, now());
    req.log?.info({ event: 'quarantine.dismiss', id: item.id, admin: item.resolvedBy }, `quarantine item ${item.id} dismissed`);
    res.json(withState(item));
  });

  return router;
}

/** An item as the API shows it: items stored before states existed are open, seen once. */
function withState(item: QuarantineItem): QuarantineItem {
  return { ...item, state: item.state ?? 'open', count: item.count ?? 1 };
}

/** The body of a release: nothing ({}), {"date": "received"}, {"invoice": …} or {"sale": …}; 400 naming the field otherwise. */
function releaseInput(body: unknown, account: Account): ReleaseInput {
  if (body === undefined || body === null) return { kind: 'stored' };
  if (typeof body !== 'object' || Array.isArray(body))
    throw new AppError('invalid_body', 'the body of a release is a JSON object: {}, {"date": "received"}, {"invoice": …} or {"sale": …}');
  const keys = Object.keys(body);
  const unknown = keys.filter((k) => !RELEASE_KEYS.has(k));
  if (unknown.length > 0)
    throw new AppError(
      'validation_failed',
      `unknown key ${unknown[0]}`,
      unknown.map((k) => ({ field: `/${k}`, message: 'unknown key' })),
    );
  if (keys.length > 1)
    throw new AppError(
      'validation_failed',
      `give one of invoice, sale or date, not ${keys.join(' and ')}`,
      keys.map((k) => ({ field: `/${k}`, message: 'only one of invoice, sale, date' })),
    );
  const b = body as { invoice?: unknown; sale?: unknown; date?: unknown };
  if ('date' in b) {
    if (b.date !== 'received') throw new AppError('validation_failed', 'date must be "received"', [{ field: '/date', message: 'must be "received"' }]);
    return { kind: 'stored', date: 'received' };
  }
  if ('invoice' in b) {
    const checked = validateInvoice(b.invoice);
    if (!checked.ok) {
      const details = checked.problems?.length
        ? checked.problems.map((p) => ({ field: `/invoice${p.path}`, message: p.message }))
        : [{ field: '/invoice', message: checked.reason }];
      throw new AppError('validation_failed', `invoice is not a valid TabShop invoice: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}`, details);
    }
    return { kind: 'invoice', invoice: b.invoice };
  }
  if ('sale' in b) {
    const details = problemsOf('sale', b.sale).map((p) => ({ field: `/sale${p.field === '/' ? '' : p.field}`, message: p.message }));
    if (details.length > 0)
      throw new AppError('validation_failed', `sale is not a valid sale: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}`, details);
    const sale = b.sale as SaleBody;
    const identifier = sale.identifier ?? defaultIdentifier(sale);
    if (!identifier.startsWith(`${sale.cashRegisterName}:`)) {
      throw new AppError('validation_failed', 'a sale identifier is "<cashRegisterName>:<id>"', [
        { field: '/sale/identifier', message: `must start with ${sale.cashRegisterName}:` },
      ]);
    }
    return { kind: 'sale', sale: normaliseSale(sale, identifier, account) };
  }
  return { kind: 'stored' };
}

const RELEASE_KEYS: ReadonlySet<string> = new Set(['invoice', 'sale', 'date']);
const QUARANTINE_STATES: ReadonlySet<string> = new Set(['open', 'released', 'dismissed', 'all']);

// CSV: one row per sale (its lines and payments summed up in a cell), one per quarantine item (payloads as JSON text).
const SALE_COLUMNS = [
  'identifier',
  'cashRegisterName',
  'createdAt',
  'status',
  'dayId',
  'total',
  'vat',
  'discount',
  'costPrice',
  'lines',
  'payments',
  'device',
  'invoiceId',
];

function saleRow(sale: Sale) {
  return {
    identifier: sale.identifier,
    cashRegisterName: sale.cashRegisterName,
    createdAt: sale.createdAt,
    status: sale.status,
    dayId: sale.dayId ?? null,
    total: sale.total,
    vat: sale.vat,
    discount: sale.discount,
    costPrice: sale.costPrice,
    lines: sale.lines.length,
    payments: sale.payments.map((p) => `${p.method} ${p.amount}`).join('; '),
    device: sale.source?.device ?? null,
    invoiceId: sale.source?.invoiceId ?? null,
  };
}

const QUARANTINE_COLUMNS = ['id', 'at', 'code', 'reason', 'state', 'count', 'cashRegisterName', 'device', 'invoiceId', 'payload'];

function quarantineRow(item: QuarantineItem | undefined) {
  const { payload, stored, problems, ...rest } = item ?? ({} as QuarantineItem);
  return {
    ...rest,
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    ...(stored !== undefined && { stored: JSON.stringify(stored) }),
    ...(problems !== undefined && { problems: problems.map((p) => `${p.path}: ${p.message}`).join('; ') }),
  };
}

function defaultIdentifier(body: SaleBody): string {
  const invoiceId = body.source?.invoiceId;
  return `${body.cashRegisterName}:${invoiceId ?? randomUUID()}`;
}

function normaliseSale(body: SaleBody, identifier: string, account: Account): Sale {
  const lines = body.lines.map((l, i) => ({
    lineNo: l.lineNo ?? i + 1,
    product: l.product,
    name: l.name ?? '',
    ...(l.title !== undefined ? { title: l.title } : {}),
    quantity: l.quantity,
    subtotal: l.subtotal ?? l.total,
    discount: l.discount ?? 0,
    vat: l.vat ?? 0,
    total: l.total,
    costPrice: l.costPrice ?? 0,
  }));
  return {
    identifier,
    cashRegisterName: body.cashRegisterName,
    createdAt: new Date(body.createdAt).toISOString(),
    status: (body.status ?? 'completed') as SaleStatus,
    lines,
    payments: body.payments ?? [],
    total: body.total ?? sumDecimals(lines.map((l) => l.total)).toNumber(),
    vat: body.vat ?? sumDecimals(lines.map((l) => l.vat)).toNumber(),
    discount: body.discount ?? sumDecimals(lines.map((l) => l.discount)).toNumber(),
    costPrice: body.costPrice ?? sumDecimals(lines.map((l) => l.costPrice)).toNumber(),
    customer: { name: body.customer?.name ?? '', address: body.customer?.address ?? '', email: body.customer?.email ?? '' },
    receiptPrintedAt: null,
    // A device is who it says; an admin (e.g. a bridge gateway forwarding a tablet's sale) may name the tablet.
    source: {
      ...(body.source ?? {}),
      kind: body.source?.kind ?? 'api',
      device: account.role === 'device' ? account.username : (body.source?.device ?? account.username),
    },
  };
}
