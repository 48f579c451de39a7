import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, device2Auth, deviceAuth, invoice, testGateways, type TestGateway } from '../helpers.js';
import { MISSING_POSTGRES, PG_BIN, queryRows, skipPostgres, startPostgres, type PgCluster } from '../postgres.js';

// The back office on PostgreSQL keeps register state, day figures and stats as rows of the sale's
// round: a start reads them, not the sales. These tests run one script on lowdb (which rebuilds
// everything from its sales at start) and on PostgreSQL, and compare every back-office answer.

let cluster: PgCluster;
const gateways = testGateways();
const onLowdb = (dir?: string) => gateways.start({}, dir);
const onPg = (url: string, dir?: string) => gateways.start({ store: { dataDir: './data', seedDemo: false, postgres: { url } } }, dir);

const today = new Date().toISOString().slice(0, 10);
const tomorrow = new Date(Date.parse(`${today}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

const sale = (id: number, lines: { productId: string; qty: number; total: number; tax?: number }[], extra: Record<string, unknown> = {}) =>
  invoice(id, lines, extra);
const s1 = sale(202612030100001, [{ productId: '18', qty: 1, total: 3.19, tax: 0.29 }], { givenCash: 5, returnedCash: 1.81 });
const s2 = sale(202612030100002, [
  { productId: '18', qty: 2, total: 6.38, tax: 0.58 },
  { productId: '24', qty: 0.5, total: 1.1, tax: 0.1 },
]);
const s3 = sale(202612030100003, [{ productId: '24', qty: 3, total: 6.6, tax: 0.6 }], { checkoutType: '1' });
const s4 = sale(202612030200001, [{ productId: '31', qty: 1, total: 12.345, tax: 1.1 }]);
const s5 = sale(202612030100004, [{ productId: '18', qty: 1, total: 3.19, tax: 0.29 }]);
const s6 = sale(202612030100005, [{ productId: '31', qty: 2, total: 24.69, tax: 2.2 }]);
const s7 = sale(202612030200002, [{ productId: '24', qty: 1, total: 2.2, tax: 0.2 }]);

async function push(g: TestGateway, auth: string, invoices: unknown[]) {
  const res = await g.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }), auth });
  expect(res.status).toBe(200);
}
const admin = (g: TestGateway, path: string, method = 'GET', body?: unknown) => g.json(`/api${path}`, { method, body, auth: adminAuth });
async function expectStatus(g: TestGateway, path: string, method: string, status: number, body?: unknown) {
  const res = await admin(g, path, method, body);
  expect(res.status, JSON.stringify(res.body)).toBe(status);
}

/** Day 1 of TAB-1 (float, sales, a refund) closed, day 2 open with a sale and a withdrawal; TAB-2's day 1 open. */
async function firstPart(g: TestGateway) {
  await expectStatus(g, '/registrations/TAB-1/balance', 'POST', 201, { action: 'deposit', amount: 100, note: 'float' });
  await push(g, deviceAuth, [s1, s2, s3]);
  await push(g, device2Auth, [s4]);
  await push(g, deviceAuth, [{ ...s2, checkoutStatus: '11' }]);
  await expectStatus(g, '/days/current?cashRegisterName=TAB-1', 'POST', 201);
  await push(g, deviceAuth, [s5]);
  await expectStatus(g, '/registrations/TAB-1/balance', 'POST', 201, { action: 'withdraw', amount: 20, note: 'bank' });
}

/** After a restart: more sales, a refund of a sale of the open day, both days closed. */
async function secondPart(g: TestGateway) {
  await push(g, deviceAuth, [s6, { ...s5, checkoutStatus: '11' }]);
  await push(g, device2Auth, [s7]);
  await expectStatus(g, '/days/current?cashRegisterName=TAB-1', 'POST', 201);
  await expectStatus(g, '/days/current?cashRegisterName=TAB-2', 'POST', 201);
}

/** Times of receipt and presence differ from run to run; everything else must not. */
function timeless(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(timeless);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !k.endsWith('At') && k !== 'at')
        .map(([k, v]) => [k, timeless(v)]),
    );
  return value;
}

/** Every back-office answer: registrations, days, X and Z reports, balances, stats. */
async function backOffice(g: TestGateway, opts: { withSales?: boolean } = {}) {
  const get = async (path: string) => {
    const res = await admin(g, path);
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(200);
    return timeless(res.body);
  };
  const out: Record<string, unknown> = {};
  const days = (await admin(g, '/days')).body.items as { dayId: string }[];
  const paths = [
    '/registrations',
    '/registrations/TAB-1/balance',
    '/registrations/TAB-2/balance',
    '/days',
    ...days.map((d) => `/days/${d.dayId}/report`),
    '/products/stats',
    `/products/stats?from=${today}&to=${tomorrow}&cashRegisterName=TAB-1`,
    '/categories/stats',
    '/registrations/stats',
    `/registrations/stats?from=${tomorrow}`,
  ];
  if (opts.withSales !== false) paths.push('/sales/stats', `/sales/stats?from=${today}&to=${tomorrow}&cashRegisterName=TAB-2`);
  for (const path of paths) out[path] = await get(path);
  return out;
}

/** The database as a version before schema 11 left it: no back-office rows, migration 11 not applied. */
async function dropBackOfficeRows(url: string) {
  await queryRows(
    url,
    `DROP TABLE back_office_registers, day_figures, stats_buckets, stats_items, back_office_state;
     DROP INDEX sales_received_at, sales_register_received_at;
     DELETE FROM schema_migrations WHERE version = 11`,
  );
}

describe.skipIf(skipPostgres)('the back office on PostgreSQL', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    if (!PG_BIN) throw new Error(MISSING_POSTGRES);
    cluster = await startPostgres();
  }, 60_000);
  afterEach(async () => {
    await gateways.cleanup();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('answers days, X/Z reports, balances and stats as lowdb does, after a start that read no sale', async () => {
    const lowdb = await onLowdb();
    await firstPart(lowdb);
    const firstOnLowdb = await backOffice(lowdb);
    await gateways.stop(lowdb);
    const lowdbAgain = await onLowdb(lowdb.dir);
    expect(await backOffice(lowdbAgain)).toEqual(firstOnLowdb);
    await secondPart(lowdbAgain);
    const secondOnLowdb = await backOffice(lowdbAgain);

    const url = await cluster.createDatabase();
    const a = await onPg(url);
    await firstPart(a);
    expect(await backOffice(a)).toEqual(firstOnLowdb);
    await gateways.stop(a);
    const rows = await queryRows(url, 'SELECT day_id, closed FROM day_figures ORDER BY day_id');
    expect(rows).toEqual([
      { day_id: 'TAB-1:1', closed: true },
      { day_id: 'TAB-1:2', closed: false },
      { day_id: 'TAB-2:1', closed: false },
    ]);

    // The sales left behind the gateway's back: what the back office answers comes from its rows.
    await queryRows(url, 'ALTER TABLE sales RENAME TO sales_aside; CREATE TABLE sales (LIKE sales_aside INCLUDING ALL)');
    const b = await onPg(url, a.dir);
    expect(await backOffice(b, { withSales: false })).toEqual(withoutSales(firstOnLowdb));
    await gateways.stop(b);
    await queryRows(url, 'DROP TABLE sales; ALTER TABLE sales_aside RENAME TO sales');

    const c = await onPg(url, a.dir);
    expect(await backOffice(c)).toEqual(firstOnLowdb);
    await secondPart(c);
    expect(await backOffice(c)).toEqual(secondOnLowdb);
    await gateways.stop(c);
    const d = await onPg(url, a.dir);
    expect(await backOffice(d)).toEqual(secondOnLowdb);
  });

  it('migrates a database of schema 9: its first start writes the rows from the sales, once', async () => {
    const url = await cluster.createDatabase();
    const a = await onPg(url);
    await firstPart(a);
    const before = await backOffice(a);
    await gateways.stop(a);
    await dropBackOfficeRows(url);

    const b = await onPg(url, a.dir);
    expect(await queryRows(url, 'SELECT backfilled FROM back_office_state')).toEqual([{ backfilled: true }]);
    expect(b.logs.join('')).toContain('wrote the back office rows');
    expect(await backOffice(b)).toEqual(before);
    await secondPart(b);
    const after = await backOffice(b);
    await gateways.stop(b);

    // Later starts read the rows: with the sales out of reach the back office answers the same.
    await queryRows(url, 'ALTER TABLE sales RENAME TO sales_aside; CREATE TABLE sales (LIKE sales_aside INCLUDING ALL)');
    const c = await onPg(url, a.dir);
    expect(c.logs.join('')).not.toContain('wrote the back office rows');
    expect(await backOffice(c, { withSales: false })).toEqual(withoutSales(after));
  });

  it('gives sales stored before days existed to the open day during that first start, once, and writes them back', async () => {
    const url = await cluster.createDatabase();
    const a = await onPg(url);
    await push(a, deviceAuth, [invoice(1, [{ productId: 'a', qty: 1, total: 2 }])]);
    await gateways.stop(a);
    await dropBackOfficeRows(url);
    await queryRows(
      url,
      `UPDATE sales SET day_id = NULL, record = ((record::jsonb #- '{sale,dayId}' #- '{lineFacts}')
         || jsonb_build_object('history', (SELECT jsonb_agg(h - 'dayId') FROM jsonb_array_elements(record::jsonb -> 'history') h)))::json`,
    );

    const b = await onPg(url, a.dir);
    expect(b.logs.join('')).toMatch(/assigned sales stored before register days existed/);
    expect((await admin(b, '/days/TAB-1:1/report')).body).toMatchObject({ saleCount: 1, gross: 2 });
    expect((await admin(b, '/sales/stats')).body.items).toMatchObject([{ identifier: 'TAB-1:1', dayId: 'TAB-1:1', total: 2 }]);
    await gateways.stop(b);
    expect(await queryRows(url, "SELECT day_id, record -> 'history' -> 0 ->> 'dayId' AS change_day FROM sales")).toEqual([
      { day_id: 'TAB-1:1', change_day: 'TAB-1:1' },
    ]);

    const c = await onPg(url, a.dir);
    expect(c.logs.join('')).not.toMatch(/assigned sales|wrote the back office rows/);
    expect((await admin(c, '/days/TAB-1:1/report')).body).toMatchObject({ saleCount: 1, gross: 2 });
    expect((await admin(c, '/registrations/TAB-1')).body).toMatchObject({ version: 1, currentDayId: 'TAB-1:1' });
  });

  it('closes at start a day whose Z report is missing while a later day exists, from its figures row', async () => {
    const url = await cluster.createDatabase();
    const a = await onPg(url);
    await firstPart(a);
    const z = (await admin(a, '/days/TAB-1:1/report')).body;
    await gateways.stop(a);
    await queryRows(url, "DELETE FROM closed_days WHERE day_id = 'TAB-1:1'; UPDATE day_figures SET closed = false WHERE day_id = 'TAB-1:1'");

    const b = await onPg(url, a.dir);
    expect(b.logs.join('')).toContain('closed a day whose Z report was lost in a crash');
    const recovered = (await admin(b, '/days/TAB-1:1/report')).body;
    expect(timeless(recovered)).toEqual(timeless(z));
    expect(recovered.type).toBe('Z');
    expect((await admin(b, '/days/current/report?cashRegisterName=TAB-1')).body).toMatchObject({ dayId: 'TAB-1:2', saleCount: 1 });
  });
});

function withoutSales(answers: Record<string, unknown>) {
  return Object.fromEntries(Object.entries(answers).filter(([path]) => !path.startsWith('/sales/stats')));
}
