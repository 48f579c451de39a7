import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { adminAuth, deviceAuth, invoice, testGateways, type TestGateway } from '../helpers.js';
import { copyLowdbToPostgres } from '../../src/store/postgres/copy-from-lowdb.js';
import { queryRows, skipPostgres } from '../postgres.js';
import { usePostgresCluster } from '../postgres-suite.js';

const gateways = testGateways();
const gateway = (url: string, dir?: string) => gateways.start({ store: { dataDir: './data', postgres: { url } } }, dir);

/** SQL as the gateway writes it (it announces its writer schema) or as a writer that does not (an old version, hand-written SQL). */
async function sql<R extends pg.QueryResultRow>(url: string, query: string, opts: { announced: boolean }): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, ...(opts.announced ? { options: '-c tabshop.writer_schema=8' } : {}) });
  await client.connect();
  try {
    return (await client.query<R>(query)).rows;
  } finally {
    await client.end();
  }
}

const push = async (g: TestGateway, invoices: unknown[]) => {
  const res = await g.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }), auth: deviceAuth, headers: { accept: 'application/json' } });
  expect(res.status).toBe(200);
  return res.json();
};
const api =
  (g: TestGateway) =>
  (path: string, method = 'GET', body?: unknown) =>
    g.json(`/api${path}`, { method, body, auth: adminAuth });
const quantities = async (g: TestGateway) => {
  const out: Record<string, unknown> = {};
  for (const p of ['18', '24', '30']) out[p] = (await api(g)(`/stock/${p}`)).body.quantity;
  return out;
};
const stockRows = (url: string) => queryRows<{ product: string; quantity: string }>(url, 'SELECT product, quantity::text FROM stock_levels ORDER BY product');
const derivedMarks = async (url: string) => (await queryRows<{ n: string }>(url, 'SELECT count(*)::text AS n FROM stock_state'))[0].n;

/** A TabShop invoice whose lines are spelled `product×quantity …` (each line's total 1). */
const sale = (id: number, spec: string, extra: Record<string, unknown> = {}) =>
  invoice(
    id,
    spec.split(' ').map((line) => {
      const [productId, qty] = line.split('×');
      return { productId, qty, total: 1 };
    }),
    extra,
  );

/**
 * A history on gateway `g`: sales sold and refunded, a level set, an adjustment, and a level set
 * between two sales (a sale of 30 before its level was set again does not count against it).
 */
async function writeHistory(g: TestGateway): Promise<void> {
  const admin = api(g);
  for (const id of ['18', '24', '30']) expect((await admin(`/products/${id}`, 'PUT', { name: `P${id}`, price: 1 })).status).toBeLessThan(300);
  expect((await admin('/stock/18', 'PUT', { quantity: 10 })).status).toBe(200);
  expect((await admin('/stock/30', 'PUT', { quantity: 5 })).status).toBe(200);
  expect(await push(g, [sale(202612030700001, '18×1 24×0.5')])).toMatchObject({ created: 1 });
  expect(await push(g, [sale(202612030700002, '18×1 30×1')])).toMatchObject({ created: 1 });
  expect(await push(g, [sale(202612030700001, '18×1 24×0.5', { checkoutStatus: '11' })])).toMatchObject({ updated: 1 });
  expect((await admin('/stock/18/adjustments', 'POST', { delta: -0.5, reason: 'breakage' })).status).toBe(201);
  expect((await admin('/stock/30', 'PUT', { quantity: 7 })).status).toBe(200);
  expect(await push(g, [sale(202612030700003, '18×0.25 30×2')])).toMatchObject({ created: 1 });
  expect((await admin('/stock/30/adjustments', 'POST', { delta: 1, reason: 'found' })).status).toBe(201);
}

/** 18: 10 − 1 − 1 + 1 (refund) − 0.5 − 0.25; 24: not tracked; 30: set to 7 after its first sale, − 2 + 1. */
const EXPECTED = { '18': 8.25, '24': 0, '30': 6 };

/** Every stored sale line now says 100: a start that replayed the sales' stock moves would see it. */
const TAMPER = `UPDATE sales SET record = jsonb_set(record::jsonb, '{sale,lines}',
  (SELECT jsonb_agg(l || '{"quantity": 100}') FROM jsonb_array_elements(record::jsonb -> 'sale' -> 'lines') l))::json`;

describe.skipIf(skipPostgres)('central stock on PostgreSQL: a process starts from stock_levels', { timeout: 60_000 }, () => {
  const db = usePostgresCluster();
  afterEach(() => gateways.cleanup());

  it('a gateway opened on a database written by another reports its quantities without replaying the stored sales, and new sales move the table', async () => {
    const url = await db.cluster.createDatabase();
    const a = await gateway(url);
    await writeHistory(a);
    expect(await quantities(a)).toEqual(EXPECTED);
    const tabshopStock = await (await a.fetch('/stock', { auth: deviceAuth })).text();
    await gateways.stop(a);
    expect(await derivedMarks(url)).toBe('1');

    await sql(url, TAMPER, { announced: true });
    const b = await gateway(url, a.dir);
    // No sale's stock move was replayed at start (each counts one): one change, the stored quantities.
    expect(b.gateway.catalog.stockGeneration).toBe(1);
    expect(b.logs.join('\n')).not.toContain('derived the central stock');
    expect(await quantities(b)).toEqual(EXPECTED);
    expect(await (await b.fetch('/stock', { auth: deviceAuth })).text()).toBe(tabshopStock);
    expect(await stockRows(url)).toEqual([
      { product: '18', quantity: '8.25' },
      { product: '30', quantity: '6' },
    ]);
    // A sale change after the start moves the stock and the table in its round, as before.
    expect(await push(b, [sale(202612030700004, '18×2')])).toMatchObject({ created: 1 });
    expect(await push(b, [sale(202612030700003, '18×0.25 30×2', { checkoutStatus: '11' })])).toMatchObject({ updated: 1 });
    expect(await quantities(b)).toEqual({ '18': 6.5, '24': 0, '30': 8 });
    expect(await stockRows(url)).toEqual([
      { product: '18', quantity: '6.5' },
      { product: '30', quantity: '8' },
    ]);
    await gateways.stop(b);

    // The check above is meaningful: a table that is not trusted is derived from these (tampered) sales.
    await sql(url, 'DELETE FROM stock_state', { announced: true });
    const c = await gateway(url, a.dir);
    expect(c.gateway.catalog.stockGeneration).toBeGreaterThan(6);
    expect(c.logs.join('\n')).toContain('derived the central stock (stock_levels) from the stored sales once');
    // 18: 10 − 0.5 − 100 (sale 2, tampered) − 2 (sale 4, pushed after), sales 1 and 3 refunded; 30: 7 + 1, sale 2 came before the level, sale 3 refunded.
    expect(await quantities(c)).toEqual({ '18': -92.5, '24': 0, '30': 8 });
    expect(await derivedMarks(url)).toBe('1');
  });

  it('a database of schema 9 keeps its quantities; a table that cannot be trusted is derived from the sales once and recorded as derived', async () => {
    const url = await db.cluster.createDatabase();
    const a = await gateway(url);
    await writeHistory(a);
    await gateways.stop(a);

    // The database as schema 9 left it: stock_levels written by that version, no migration 12.
    await sql(
      url,
      `DROP TABLE stock_state; DROP FUNCTION tabshop_stock_underived() CASCADE;
       DELETE FROM schema_migrations WHERE version = (SELECT version FROM schema_migrations WHERE name = 'stock_levels' AND version > 4)`,
      { announced: true },
    );
    const b = await gateway(url, a.dir);
    expect(await quantities(b)).toEqual(EXPECTED);
    expect(await derivedMarks(url)).toBe('1');
    await gateways.stop(b);

    // Written by a version before schema 4 (no stock_levels), or copied from a data dir: derived from the sales.
    await sql(url, 'DELETE FROM stock_levels', { announced: true });
    await sql(url, "UPDATE sales SET status = status WHERE identifier = 'none'", { announced: false });
    expect(await derivedMarks(url)).toBe('0');
    const c = await gateway(url, a.dir);
    expect(await quantities(c)).toEqual(EXPECTED);
    expect(await stockRows(url)).toEqual([
      { product: '18', quantity: '8.25' },
      { product: '30', quantity: '6' },
    ]);
    expect(await derivedMarks(url)).toBe('1');
    await gateways.stop(c);

    // A gateway's own writes (it announces its writer schema) keep the table trusted.
    await sql(url, "UPDATE sales SET status = status WHERE identifier = 'none'", { announced: true });
    expect(await derivedMarks(url)).toBe('1');
  });

  it('migrate-store into a database a gateway had opened (empty, its table derived): the first start derives the copied sales', async () => {
    const lowdb = await gateways.start({});
    await writeHistory(lowdb);
    expect(await quantities(lowdb)).toEqual(EXPECTED);
    await gateways.stop(lowdb);
    const url = await db.cluster.createDatabase();
    await gateways.stop(await gateway(url));
    expect(await derivedMarks(url)).toBe('1');
    expect((await copyLowdbToPostgres({ dataDir: lowdb.dataDir, url })).ok).toBe(true);
    expect(await derivedMarks(url)).toBe('0');
    const onPg = await gateway(url);
    expect(await quantities(onPg)).toEqual(EXPECTED);
    expect(await stockRows(url)).toEqual([
      { product: '18', quantity: '8.25' },
      { product: '30', quantity: '6' },
    ]);
  });
});
