import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, device2Auth, deviceAuth, invoice, testGateways, type TestGateway } from '../helpers.js';
import { eventually, fastUpstream, salesOn, seedUpstreamCatalogue } from '../e2e/bridge-helpers.js';
import {
  MISSING_POSTGRES,
  PG_BIN,
  skipPostgres,
  startPostgres,
  tableWaiting,
  takeGatewayLock,
  waitingForLock,
  type PgCluster,
  queryRows,
} from '../postgres.js';

let cluster: PgCluster;
const gateways = testGateways();
const gateway = (url: string, overrides: Record<string, unknown> = {}, dir?: string, port = 0) =>
  gateways.start({ store: { dataDir: './data', postgres: { url } }, ...overrides }, dir, port);
const stop = gateways.stop;
/** Connections a test opens behind the gateway's back, ended after it whatever happened. */
const sideClients: pg.Client[] = [];
const sideClient = async (url: string) => {
  const client = new pg.Client({ connectionString: url });
  // pg emits 'error' when the server drops the connection (the cluster stopping after a failed test).
  client.on('error', () => undefined);
  sideClients.push(client);
  await client.connect();
  return client;
};

const pushJson = async (g: TestGateway, invoices: unknown[], auth = deviceAuth) => {
  const res = await g.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }), auth, headers: { accept: 'application/json' } });
  return { status: res.status, body: await res.json() };
};

const burger = (id: number, extra: Record<string, unknown> = {}) =>
  invoice(
    id,
    [
      { productId: '18', qty: 1, total: 3.19 },
      { productId: '24', qty: 0.5, total: '1.10' },
    ],
    extra,
  );

describe.skipIf(skipPostgres)('a gateway on PostgreSQL', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    if (!PG_BIN) throw new Error(MISSING_POSTGRES);
    cluster = await startPostgres();
  }, 60_000);
  afterEach(async () => {
    for (const client of sideClients.splice(0)) await client.end().catch(() => undefined);
    await gateways.cleanup();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('push, re-push, refund, quarantine, stock, restart: nothing lost, nothing doubled', async () => {
    const url = await cluster.createDatabase();
    const a = await gateway(url);
    const admin = (path: string, method = 'GET', body?: unknown) => a.json(`/api${path}`, { method, body, auth: adminAuth });
    expect((await admin('/products/18', 'PUT', { name: 'Cheese Burger', price: 3.19 })).status).toBeLessThan(300);
    expect((await admin('/stock/18', 'PUT', { quantity: 10 })).status).toBeLessThan(300);
    expect((await a.json('/readyz')).body.checks.store).toEqual({ status: 'ok', message: 'the database answers and the last write succeeded' });

    expect(await pushJson(a, [burger(202611230100001), burger(202611230100002), { id: 'x', date: 'nope' }])).toEqual({
      status: 200,
      body: { received: 3, created: 2, updated: 0, unchanged: 0, quarantined: 1 },
    });
    expect((await pushJson(a, [burger(202611230100001), burger(202611230100002)])).body).toMatchObject({ unchanged: 2, created: 0 });
    expect((await pushJson(a, [burger(202611230100001, { checkoutStatus: '11' })])).body).toMatchObject({ updated: 1 });
    // The same invoice id from the other tablet is another register's sale.
    expect((await pushJson(a, [burger(202611230100001)], device2Auth)).body).toMatchObject({ created: 1 });
    expect((await admin('/stock/18')).body).toMatchObject({ quantity: 8 }); // 10 − TAB-1's second sale − TAB-2's sale
    const before = (await admin('/sales?maxResults=100')).body;
    await stop(a);

    const b = await gateway(url, {}, a.dir);
    const adminB = (path: string) => b.json(`/api${path}`, { auth: adminAuth });
    const after = (await adminB('/sales?maxResults=100')).body;
    // Same sales, same content (after a restart the list is ordered by last change, with lowdb too).
    const byId = (list: { items: { identifier: string }[] }) => [...list.items].sort((x, y) => x.identifier.localeCompare(y.identifier));
    expect(byId(after)).toEqual(byId(before));
    expect(after.total).toBe(3);
    expect((await adminB('/sales/TAB-1:202611230100001')).body).toMatchObject({ status: 'refunded', total: 4.29 });
    expect((await adminB('/stock/18')).body).toMatchObject({ quantity: 8 });
    expect((await adminB('/quarantine')).body.total).toBe(1);
    expect((await pushJson(b, [burger(202611230100001, { checkoutStatus: '11' }), burger(202611230100002)])).body).toMatchObject({ unchanged: 2 });

    const [counts] = await queryRows<{ sales: string; lines: string; journal: string; quarantine: string; total: string }>(
      url,
      `SELECT
      (SELECT count(*) FROM sales)::text AS sales, (SELECT count(*) FROM sale_lines)::text AS lines, (SELECT count(*) FROM journal)::text AS journal,
      (SELECT count(*) FROM quarantine)::text AS quarantine, (SELECT sum(total) FROM sales WHERE status = 'completed')::text AS total`,
    );
    expect(counts).toEqual({ sales: '3', lines: '6', journal: '5', quarantine: '1', total: '8.58' });
    const [refund] = await queryRows<{ status: string; invoice_status: string }>(
      url,
      `SELECT status, invoice->>'checkoutStatus' AS invoice_status FROM sales WHERE cash_register = 'TAB-1' AND invoice_id = '202611230100001'`,
    );
    expect(refund).toEqual({ status: 'refunded', invoice_status: '11' });
  });

  it('quarantine lifecycle and stale re-pushes on PostgreSQL: states, counters and the released sale survive a restart', async () => {
    const url = await cluster.createDatabase();
    const a = await gateway(url);
    const admin = (g: TestGateway, path: string, method = 'GET', body?: unknown) => g.json(`/api${path}`, { method, body, auth: adminAuth });
    const reset = burger(202611230200001, { date: '5000' });
    await pushJson(a, [reset, burger(202611230200002, { date: '6000' })]);
    await pushJson(a, [reset]);
    const open = (await admin(a, '/quarantine')).body.items;
    const first = open.find((q: any) => q.invoiceId === '202611230200001');
    const second = open.find((q: any) => q.invoiceId === '202611230200002');
    expect(first.count).toBe(2);
    expect((await admin(a, `/quarantine/${first.id}/release`, 'POST', { date: 'received' })).body).toEqual({
      outcome: 'created',
      sale: 'TAB-1:202611230200001',
      reason: null,
    });
    expect((await admin(a, `/quarantine/${second.id}/dismiss`, 'POST', { reason: 'test push' })).status).toBe(200);
    const sale = burger(202611230200003);
    await pushJson(a, [sale, { ...sale, checkoutStatus: '12' }]);
    expect((await pushJson(a, [sale])).body).toMatchObject({ unchanged: 1 });
    await stop(a);

    const b = await gateway(url, {}, a.dir);
    expect((await admin(b, '/quarantine')).body.total).toBe(0);
    expect((await admin(b, '/quarantine?state=all')).body.items.map((q: any) => [q.invoiceId, q.state, q.count]).sort()).toEqual([
      ['202611230200001', 'released', 2],
      ['202611230200002', 'dismissed', 1],
    ]);
    expect((await admin(b, '/sales/TAB-1:202611230200001')).body.source.quarantineId).toBe(first.id);
    expect((await admin(b, '/sales/TAB-1:202611230200003')).body.status).toBe('cancelled');
    expect((await admin(b, '/sales/TAB-1:202611230200003/history')).body.ignored).toMatchObject([{ status: 'completed', count: 1 }]);
    expect(await queryRows(url, 'SELECT state, count FROM quarantine ORDER BY state')).toEqual([
      { state: 'dismissed', count: 1 },
      { state: 'released', count: 2 },
    ]);
  });

  it('central stock for SQL: stock_levels moves in the transaction of each sale, level change and deletion, and is what a new leader starts from', async () => {
    const url = await cluster.createDatabase();
    const a = await gateway(url);
    const admin = (path: string, method = 'GET', body?: unknown) => a.json(`/api${path}`, { method, body, auth: adminAuth });
    const stockRows = () => queryRows<{ product: string; quantity: string }>(url, 'SELECT product, quantity::text FROM stock_levels ORDER BY product');
    for (const id of ['18', '24', '30']) expect((await admin(`/products/${id}`, 'PUT', { name: `P${id}`, price: 1 })).status).toBeLessThan(300);
    expect((await admin('/stock/18', 'PUT', { quantity: 10 })).status).toBeLessThan(300);
    expect((await admin('/stock/30', 'PUT', { quantity: 1 })).status).toBeLessThan(300);
    expect(await stockRows()).toEqual([
      { product: '18', quantity: '10' },
      { product: '30', quantity: '1' },
    ]);
    // Each acknowledged push has moved the table already: 24 has no level (not tracked, no row).
    expect((await pushJson(a, [burger(202611230500001)])).body).toMatchObject({ created: 1 });
    expect(await stockRows()).toEqual([
      { product: '18', quantity: '9' },
      { product: '30', quantity: '1' },
    ]);
    expect((await pushJson(a, [burger(202611230500002, { positions: [{ productId: '18', qty: '0.25', total: 0.8 }] })])).body).toMatchObject({ created: 1 });
    expect(await stockRows()).toEqual([
      { product: '18', quantity: '8.75' },
      { product: '30', quantity: '1' },
    ]);
    expect((await pushJson(a, [burger(202611230500001, { checkoutStatus: '11' })])).body).toMatchObject({ updated: 1 });
    expect(await stockRows()).toEqual([
      { product: '18', quantity: '9.75' },
      { product: '30', quantity: '1' },
    ]);
    expect((await admin('/stock/18/adjustments', 'POST', { delta: -0.75, reason: 'breakage' })).status).toBe(201);
    expect((await admin('/products/30', 'DELETE')).status).toBe(204);
    expect(await stockRows()).toEqual([{ product: '18', quantity: '9' }]);
    expect((await admin('/stock/18')).body).toMatchObject({ quantity: 9 });
    // A new leader starts from the table: a row nobody tracks goes.
    await queryRows(url, "INSERT INTO stock_levels (product, quantity) VALUES ('ghost', 1)");
    await stop(a);
    await gateway(url, {}, a.dir);
    expect(await stockRows()).toEqual([{ product: '18', quantity: '9' }]);
  });

  it('bridge mode on PostgreSQL: the outbox survives an upstream outage and a restart, each sale delivered once in effect', async () => {
    const upstreamUrl = await cluster.createDatabase();
    const upstream = await gateway(upstreamUrl);
    await seedUpstreamCatalogue(upstream);
    const upstreamPort = Number(new URL(upstream.url).port);
    const url = await cluster.createDatabase();
    const a = await gateway(url, { upstream: fastUpstream(upstream.url) });
    await eventually(async () => (await a.fetch('/home')).status === 200, 'a catalogue from upstream');
    expect((await pushJson(a, [invoice(202611230200001, [{ productId: '72', qty: 1, total: 3.5 }])])).status).toBe(200);
    await eventually(async () => (await salesOn(upstream)).length === 1, 'the first sale upstream');

    // Upstream down: pushes still answer at once; the outbox holds them in PostgreSQL, across a restart of A.
    await stop(upstream);
    expect((await pushJson(a, [invoice(202611230200002, [{ productId: '72', qty: 1, total: 3.5 }])])).status).toBe(200);
    expect((await pushJson(a, [invoice(202611230200001, [{ productId: '72', qty: 1, total: 3.5 }], { checkoutStatus: '11' })])).status).toBe(200);
    const outbox = async () => Number((await queryRows<{ n: string }>(url, 'SELECT count(*)::text AS n FROM outbox')).at(0)!.n);
    expect(await outbox()).toBe(2);
    await stop(a);
    const a2 = await gateway(url, { upstream: fastUpstream(upstream.url) }, a.dir);
    expect((await a2.json('/api/outbox', { auth: adminAuth })).body).toMatchObject({ depth: 2 });

    const back = await gateway(upstreamUrl, {}, upstream.dir, upstreamPort);
    const want = JSON.stringify(['TAB-1:202611230200001 refunded', 'TAB-1:202611230200002 completed']);
    await eventually(
      async () => JSON.stringify((await salesOn(back)).map((s) => `${s.identifier} ${s.status}`).sort()) === want && (await outbox()) === 0,
      'both sales upstream, the refund applied, the outbox empty',
      15_000,
    );
    const [n] = await queryRows<{ n: string }>(upstreamUrl, 'SELECT count(*)::text AS n FROM sales');
    expect(n.n).toBe('2');
  });

  it('a process whose lease connection died while another process took the lease: its push waits, fails (503), and once the lease is free it serves again, with everything', async () => {
    const url = await cluster.createDatabase();
    const a = await gateway(url);
    expect((await pushJson(a, [burger(202611230300001)])).status).toBe(200);
    // A's lock connection dies (a network cut, an admin) and another process, queued for the lock,
    // takes it and raises the epoch in the same round trip, before A can notice.
    const rival = await sideClient(url);
    await (await takeGatewayLock(rival, url, 'UPDATE gateway_leader SET epoch = epoch + 1')).done;
    const refused = await a.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: [burger(202611230300002)] }) });
    expect(refused.status).toBe(503);
    await rival.end();

    const b = await gateway(url);
    expect((await pushJson(b, [burger(202611230300003)])).body).toMatchObject({ created: 1 });
    expect(await queryRows(url, 'SELECT identifier FROM sales ORDER BY identifier')).toEqual([
      { identifier: 'TAB-1:202611230300001' },
      { identifier: 'TAB-1:202611230300003' },
    ]);
    expect((await pushJson(b, [burger(202611230300001)])).body).toMatchObject({ unchanged: 1 });
    // A's refused push never reached the database; A takes the lease again for its next push.
    expect((await pushJson(a, [burger(202611230300004), burger(202611230300003)])).body).toMatchObject({ created: 1, unchanged: 1 });
    expect(await queryRows(url, 'SELECT count(*)::int AS n FROM sales')).toEqual([{ n: 3 }]);
  });

  it('fencing: a round of the old leader still in flight when another process takes the lead commits before the new one can load', async () => {
    const url = await cluster.createDatabase();
    const a = await gateway(url);
    expect((await pushJson(a, [burger(202611230400001)])).status).toBe(200);
    // Hold A's next round inside its transaction, after its lock check: its write to sales waits.
    const blocker = await sideClient(url);
    const rival = await sideClient(url);
    await blocker.query('BEGIN; LOCK TABLE sales IN EXCLUSIVE MODE');
    const pushed = pushJson(a, [burger(202611230400002)]);
    await tableWaiting(url, 'sales', "A's round waiting at its write to sales");
    // A rival does what a new leader does: A's lock connection dies, the rival takes the lock,
    // raises the epoch, then reads what it would load.
    const takeover = await takeGatewayLock(rival, url, 'UPDATE gateway_leader SET epoch = epoch + 1; SELECT count(*)::int AS n FROM sales');
    await waitingForLock(url, takeover.pid, "the rival's new epoch waiting for A's round (FOR SHARE)");
    await blocker.query('COMMIT');
    expect(await pushed).toMatchObject({ status: 200, body: { created: 1 } });
    // The epoch waited for A's round: what a new leader loads holds the sale A acknowledged.
    expect((await takeover.done).at(-1)!.rows).toEqual([{ n: 2 }]);
    await rival.end();
    // A keeps serving: its next push takes the lease again.
    expect((await pushJson(a, [burger(202611230400003)])).body).toMatchObject({ created: 1 });
    const b = await gateway(url);
    expect((await b.json('/api/sales', { auth: adminAuth })).body.total).toBe(3);
    expect((await pushJson(b, [burger(202611230400002)])).body).toMatchObject({ unchanged: 1 });
  });
  it('sets aside a stored sale that cannot be loaded (total null) into the quarantine when a push reads it, and stores the push again', async () => {
    const url = await cluster.createDatabase();
    const a = await gateway(url);
    expect((await pushJson(a, [burger(202611230500001), burger(202611230500002)])).body).toMatchObject({ created: 2 });
    await stop(a);
    await queryRows(url, `UPDATE sales SET record = jsonb_set(record::jsonb, '{sale,total}', 'null')::json WHERE identifier = 'TAB-1:202611230500002'`);
    // Start-up reads no stored sale on PostgreSQL: the damaged record is found when a change reads it.
    const b = await gateway(url, {}, a.dir);
    const admin = (path: string) => b.json(`/api${path}`, { auth: adminAuth });
    expect((await admin('/quarantine')).body.items).toEqual([]);
    expect((await pushJson(b, [burger(202611230500002)])).body).toMatchObject({ created: 1 });
    expect((await admin('/quarantine')).body.items).toEqual([
      expect.objectContaining({
        code: 'unloadable_record',
        reason: expect.stringMatching(/\/total must be a number of magnitude at most 1e\+12, got null/),
        payload: expect.objectContaining({ sale: expect.objectContaining({ identifier: 'TAB-1:202611230500002', total: null }) }),
      }),
    ]);
    expect((await admin('/sales/TAB-1:202611230500002')).body).toMatchObject({ total: 4.29 });
    expect((await admin('/sales')).body.total).toBe(2);
    // The same push again is unchanged, and the item is not quarantined twice.
    expect((await pushJson(b, [burger(202611230500002)])).body).toMatchObject({ unchanged: 1 });
    expect((await admin('/quarantine')).body.items).toHaveLength(1);
  });
});
