import { randomUUID } from 'node:crypto';
import { Router, type Response } from 'express';
import { accountOf } from '../auth/basic-auth.js';
import type { Account } from '../auth/accounts.js';
import type { SalesLedger } from '../domain/ledger.js';
import type { Sale, SaleStatus } from '../domain/types.js';
import { AppError, notFound } from '../errors.js';
import type { Store } from '../store/port.js';
import { sumDecimals } from '../translate/decimal.js';
import { stringParam, timeParam } from './http.js';
import { validateBody } from './validate.js';
import { listRange, sendCsv, wantsCsv } from './negotiate.js';
import { objectsToCsv } from '../render/csv.js';
import type { QuarantineItem } from '../store/records.js';

type SaleBody = Omit<Sale, 'version'> & Partial<Pick<Sale, 'identifier' | 'status'>>;

const STATUSES: ReadonlySet<string> = new Set(['completed', 'refunded', 'cancelled']);

export interface SalesDeps {
  ledger: SalesLedger;
  store: Store;
  now: () => Date;
}

/** srv4pos use case 3 (sales) over the gateway's own store, and the quarantine. */
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
    const page = ledger.page({ cashRegisterName: register, status: status as SaleStatus | undefined, from, to }, firstResult, maxResults);
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
    await storeSale(res, body, req.params.id);
  });

  async function storeSale(res: Response, body: SaleBody, identifier: string, createOnly = false): Promise<void> {
    const account = accountOf(res);
    if (account.role === 'device' && body.cashRegisterName !== account.cashRegister) {
      throw new AppError('forbidden', `device ${account.username} may only post sales of register ${account.cashRegister}`);
    }
    if (!identifier.startsWith(`${body.cashRegisterName}:`)) {
      throw new AppError('validation_failed', 'a sale identifier is "<cashRegisterName>:<id>"', [{ field: '/identifier', message: `must start with ${body.cashRegisterName}:` }]);
    }
    const sale = normaliseSale(body, identifier, account);
    const { outcome, sale: stored } = await ledger.putApiSale(sale, now(), { createOnly });
    await store.commit();
    res.status(outcome === 'created' ? 201 : 200).location(`sales/${encodeURIComponent(identifier)}`).json(stored);
  }

  router.get('/quarantine', async (req, res) => {
    const asCsv = wantsCsv(req);
    const { firstResult, maxResults } = listRange(req, asCsv);
    const all = ledger.quarantineSummaries();
    const items = await Promise.all(all.slice(firstResult, firstResult + maxResults).map((q) => store.getQuarantine(q.id)));
    if (asCsv) sendCsv(res, objectsToCsv(items.map(quarantineRow), QUARANTINE_COLUMNS), 'quarantine.csv');
    else res.json({ items, total: all.length });
  });

  router.get('/quarantine/:id', async (req, res) => {
    const item = await store.getQuarantine(req.params.id);
    if (!item) throw notFound(`quarantine item ${req.params.id}`);
    res.json(item);
  });

  return router;
}

// CSV: one row per sale (its lines and payments summed up in a cell), one per quarantine item (payloads as JSON text).
const SALE_COLUMNS = [
  'identifier', 'cashRegisterName', 'createdAt', 'status', 'dayId', 'total', 'vat', 'discount', 'costPrice', 'lines', 'payments', 'device', 'invoiceId',
];

function saleRow(sale: Sale) {
  return {
    identifier: sale.identifier, cashRegisterName: sale.cashRegisterName, createdAt: sale.createdAt, status: sale.status,
    dayId: sale.dayId ?? null, total: sale.total, vat: sale.vat, discount: sale.discount, costPrice: sale.costPrice, lines: sale.lines.length,
    payments: sale.payments.map((p) => `${p.method} ${p.amount}`).join('; '), device: sale.source?.device ?? null, invoiceId: sale.source?.invoiceId ?? null,
  };
}

const QUARANTINE_COLUMNS = ['id', 'at', 'code', 'reason', 'cashRegisterName', 'device', 'invoiceId', 'payload'];

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
    lineNo: l.lineNo ?? i + 1, product: l.product, name: l.name ?? '', ...(l.title !== undefined ? { title: l.title } : {}),
    quantity: l.quantity, subtotal: l.subtotal ?? l.total, discount: l.discount ?? 0, vat: l.vat ?? 0, total: l.total,
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
      ...(body.source ?? {}), kind: body.source?.kind ?? 'api',
      device: account.role === 'device' ? account.username : (body.source?.device ?? account.username),
    },
  };
}
