/**
 * A stored sales history for the PostgreSQL bench, written straight into the tables with COPY
 * (1,000,000 pushes would take far longer than the measurement). The rows are the adapter's own
 * (saleRow and the column lists of src/store/postgres/pg-store.ts), so a schema change reaches the
 * bench without a second copy of the layout; payment rows are filled by migration 0007's trigger.
 *
 * The records are what the gateway itself stores for a pushed TabShop invoice: the sale from
 * invoiceToSale, identity and content keys, one history entry (seq, status, received time, the
 * register's open day) and the line facts (VAT rate, category path) frozen at receipt.
 */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { lineKey, vatRateOf } from '../../src/domain/reports.js';
import type { SaleRecord } from '../../src/store/records.js';
import { LINE_COLUMNS, SALE_COLUMNS, saleRow } from '../../src/store/postgres/pg-store.js';
import { categoryPath } from '../../src/translate/articles.js';
import { invoiceContentKey, invoiceIdentityKey, invoiceToSale } from '../../src/translate/invoice.js';
import type { TabShopInvoice } from '../../src/translate/tabshop-types.js';
import type { BenchDevice } from './seed.js';
import { prng, tabshopInvoice, type CatalogueFile } from './workload.js';

const SALE_NAMES = SALE_COLUMNS.map(([name]) => name);
const LINE_NAMES = LINE_COLUMNS.map(([name]) => name);

/** A version of this generator (and the schema it writes), for caching a built database. */
export const HISTORY_FORMAT = createHash('sha256').update(`${SALE_NAMES}|${LINE_NAMES}|v1`).digest('hex').slice(0, 12);

export interface HistoryOptions {
  sales: number;
  registers: BenchDevice[];
  catalogue: CatalogueFile;
  /** The first day (UTC midnight, epoch ms); sales are spread over `days` days, 08:00–20:00. */
  firstDay?: number;
  days?: number;
}

/** `sales` sale records, as the gateway stores pushed invoices, numbered 1… in seq order. */
export function* historyRecords(opts: HistoryOptions): Generator<SaleRecord> {
  const cat = opts.catalogue;
  const rnd = prng(17);
  const products = cat.products.map((p) => p.identifier);
  const vat = new Map(cat.taxes.map((t) => [t.identifier, t.vat]));
  const rates = new Map(cat.products.filter((p) => p.tax !== null && vat.has(p.tax)).map((p) => [p.identifier, vat.get(p.tax!)!]));
  const categories = new Map(cat.categories.map((c) => [c.identifier, c]));
  const category = new Map<string, string>();
  for (const c of cat.commodities) if (!category.has(c.product)) category.set(c.product, categoryPath(c.category, categories as never));
  const configured = [...new Set(vat.values())];
  const days = opts.days ?? 365;
  const firstDay = opts.firstDay ?? Date.UTC(2025, 0, 1);
  const perDay = Math.ceil(opts.sales / days);
  for (let i = 0; i < opts.sales; i++) {
    const reg = opts.registers[i % opts.registers.length];
    const day = Math.floor(i / perDay);
    const date = firstDay + day * 86_400_000 + 8 * 3_600_000 + Math.floor(((i % perDay) / perDay) * 12 * 3_600_000);
    const invoice = tabshopInvoice({ seq: 1_000_000_000 + i, products, date, rnd }) as unknown as TabShopInvoice;
    const sale = invoiceToSale(invoice, { cashRegisterName: reg.cashRegister, device: reg.username, adopt: true });
    const dayId = `${reg.cashRegister}:1`;
    Object.assign(sale, { version: 1, dayId });
    const lineFacts: SaleRecord['lineFacts'] = {};
    for (const line of sale.lines) {
      lineFacts[lineKey(line)] = { vatRate: vatRateOf(line, rates.get(line.product), configured), category: category.get(line.product) ?? '/' };
    }
    yield {
      sale,
      identity: invoiceIdentityKey(invoice),
      content: invoiceContentKey(invoice),
      history: [{ seq: i + 1, status: sale.status, at: new Date(date + 1500).toISOString(), dayId }],
      lineFacts,
    };
  }
}

/** One field of COPY's text format: \N for null, backslash, tab and line breaks escaped. */
function field(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  return String(v).replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

const line = (values: unknown[]) => `${values.map(field).join('\t')}\n`;

/** COPY text of `records` for one table, in chunks of ~1 MB. */
function copyText(records: Iterable<SaleRecord>, rows: (r: SaleRecord) => unknown[][]): Readable {
  return Readable.from(
    (function* () {
      let chunk = '';
      for (const r of records) {
        for (const values of rows(r)) chunk += line(values);
        if (chunk.length > 1 << 20) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk) yield chunk;
    })(),
  );
}

/**
 * Writes the history into the database at `url` (migrated, no sales yet): `sales` first, then
 * `sale_lines` (the same records generated again: deterministic, and nothing held in memory).
 */
export async function copyHistory(url: string, opts: HistoryOptions): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await pipeline(
      copyText(historyRecords(opts), (r) => [saleRow(r).row]),
      client.query(copyFrom(`COPY sales (${SALE_NAMES.join(', ')}) FROM STDIN`)),
    );
    await pipeline(
      copyText(historyRecords(opts), (r) => saleRow(r).lines),
      client.query(copyFrom(`COPY sale_lines (${LINE_NAMES.join(', ')}) FROM STDIN`)),
    );
    // The back office's rows are computed from these sales at the next gateway start (once).
    await client.query('UPDATE back_office_state SET backfilled = false WHERE id');
    await client.query('ANALYZE sales');
    await client.query('ANALYZE sale_lines');
  } finally {
    await client.end();
  }
}
