import { afterEach, describe, expect, it } from 'vitest';
import { adminAuth, device2Auth, deviceAuth, invoice, testGateways, type TestGateway } from '../helpers.js';
import { skipPostgres, queryRows } from '../postgres.js';
import { usePostgresCluster } from '../postgres-suite.js';

const gateways = testGateways();
const gateway = (url: string) => gateways.start({ store: { dataDir: './data', postgres: { url } } });

const push = async (g: TestGateway, invoices: unknown[], auth = deviceAuth) => {
  const res = await g.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }), auth, headers: { accept: 'application/json' } });
  return { status: res.status, body: await res.json() };
};
const api = (g: TestGateway, path: string, method = 'GET', body?: unknown) => g.json(`/api${path}`, { method, body, auth: adminAuth });
const tabletStock = async (g: TestGateway) => (await g.json('/stock')).body as { products: { title: string; stockqty: number }[] };
const sale = (id: number, product = 'p1') => invoice(id, [{ productId: product, qty: 1, total: 2 }]);

/** Two gateways (each its own store, caches and write lease) on one database: what two processes do. */
describe.skipIf(skipPostgres)('equal gateway processes on one PostgreSQL database', { timeout: 90_000 }, () => {
  const db = usePostgresCluster();
  afterEach(() => gateways.cleanup());

  it("both write articles, stock and sales; each sees the other's writes at its next read (API and TabShop bodies); sequence numbers never repeat", async () => {
    const url = await db.cluster.createDatabase();
    const a = await gateway(url);
    const b = await gateway(url);
    expect((await api(a, '/products/p1', 'PUT', { name: 'Pie', price: 2 })).status).toBeLessThan(300);
    expect((await api(b, '/products/p1')).body).toMatchObject({ name: 'Pie' });
    expect((await api(b, '/stock/p1', 'PUT', { quantity: 20 })).status).toBeLessThan(300);
    expect((await api(a, '/stock/p1')).body).toMatchObject({ quantity: 20 });
    // The TabShop body A serves was cached before B's level: the next read serves the new one.
    expect((await tabletStock(a)).products.find((p) => p.title === 'Pie')).toMatchObject({ stockqty: 20 });

    // Sales pushed to both, alternately and at once: every one stored, each moves the stock once.
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => push(i % 2 ? a : b, [sale(202612030100 + i)], i % 4 < 2 ? deviceAuth : device2Auth)),
    );
    expect(results.map((r) => r.body.created)).toEqual(Array(10).fill(1));
    for (const g of [a, b]) {
      expect((await api(g, '/stock/p1')).body).toMatchObject({ quantity: 10 });
      expect((await tabletStock(g)).products.find((p) => p.title === 'Pie')).toMatchObject({ stockqty: 10 });
    }
    const [seqs] = await queryRows<{ n: number; distinct_seqs: number; max: number }>(
      url,
      'SELECT count(*)::int AS n, count(DISTINCT seq)::int AS distinct_seqs, max(seq)::int AS max FROM sales',
    );
    expect(seqs).toEqual({ n: 10, distinct_seqs: 10, max: 10 });

    // A sale stored through one is `unchanged` through the other, and the same invoice sent to both at once is stored once.
    expect((await push(a, [sale(202612030100)])).body).toMatchObject({ unchanged: 1 });
    const both = await Promise.all([a, b].map((g) => push(g, [sale(202612030199)])));
    expect(both.map((r) => r.body.created).sort()).toEqual([0, 1]);
    expect(both.map((r) => r.body.unchanged).sort()).toEqual([0, 1]);
    const [listA, listB] = await Promise.all([a, b].map(async (g) => (await api(g, '/sales?maxResults=100')).body));
    expect(listA).toEqual(listB);
    expect(listA.total).toBe(11);

    // The article change feed is one sequence whoever wrote: both serve the same.
    expect((await api(b, '/products/p1', 'PUT', { name: 'Apple pie', price: 3 })).status).toBeLessThan(300);
    const feedA = (await api(a, '/modifications?from=0&maxResults=100')).body;
    const feedB = (await api(b, '/modifications?from=0&maxResults=100')).body;
    expect(feedA).toEqual(feedB);
    expect((await tabletStock(a)).products.find((p) => p.title === 'Apple pie')).toMatchObject({ stockqty: 9 });
  });

  it('presence: each process keeps the later time of every register and device, whoever wrote last; the others see it at their next read', async () => {
    const url = await db.cluster.createDatabase();
    const a = await gateway(url);
    const b = await gateway(url);
    const registrations = async (g: TestGateway) => {
      const items = (await api(g, '/registrations')).body.items as {
        cashRegisterName: string;
        lastPushAt: string | null;
        devices: { username: string; lastPushAt: string | null }[];
      }[];
      return Object.fromEntries(
        items.map((r) => [r.cashRegisterName, { register: r.lastPushAt, devices: Object.fromEntries(r.devices.map((d) => [d.username, d.lastPushAt])) }]),
      );
    };
    const stored = async () =>
      (await queryRows<{ doc: { registers: Record<string, { lastPushAt: string | null }> } }>(url, 'SELECT doc FROM presence'))[0]?.doc;
    // tablet-1 pushes through A, then tablet-2 through B: B never saw tablet-1 push.
    expect((await push(a, [sale(202612030300)])).body).toMatchObject({ created: 1 });
    await expect.poll(async () => (await stored())?.registers['TAB-1']?.lastPushAt ?? null, { timeout: 10_000 }).not.toBeNull();
    const tab1PushedAt = (await stored())!.registers['TAB-1'].lastPushAt;
    expect((await push(b, [sale(202612030301)], device2Auth)).body).toMatchObject({ created: 1 });
    await expect.poll(async () => (await stored())?.registers['TAB-2']?.lastPushAt ?? null, { timeout: 10_000 }).not.toBeNull();
    // B's write kept what A wrote (before: B's document replaced it, TAB-1 "never pushed").
    expect((await stored())!.registers['TAB-1'].lastPushAt).toBe(tab1PushedAt);
    // A learns TAB-2's push at its next read; a process started now knows both.
    const onA = await registrations(a);
    expect(onA['TAB-2'].register).not.toBeNull();
    expect(onA['TAB-2'].devices['tablet-2']).not.toBeNull();
    const c = await gateway(url);
    const onC = await registrations(c);
    expect(onC['TAB-1']).toEqual({ register: tab1PushedAt, devices: { 'tablet-1': tab1PushedAt } });
    expect(onC['TAB-2'].register).toBe(onA['TAB-2'].register);
    // An older time written later (A still holds tablet-1's first push only) never moves a time back.
    expect((await push(b, [sale(202612030302)])).body).toMatchObject({ created: 1 });
    await expect.poll(async () => (await stored())!.registers['TAB-1'].lastPushAt! > tab1PushedAt!, { timeout: 10_000 }).toBe(true);
    const newest = (await stored())!.registers['TAB-1'].lastPushAt;
    expect((await push(a, [sale(202612030303)], device2Auth)).body).toMatchObject({ created: 1 });
    await expect.poll(async () => (await registrations(c))['TAB-1'].register, { timeout: 10_000 }).toBe(newest);
    expect((await stored())!.registers['TAB-1'].lastPushAt).toBe(newest);
  });

  it('presence: a round writes only the registers whose times changed since the process last wrote them; the merge keeps the later times as the whole-document merge does', async () => {
    const url = await db.cluster.createDatabase();
    const a = await gateway(url);
    const stored = async () =>
      (
        await queryRows<{ doc: { registers: Record<string, { lastPushAt: string | null; devices: Record<string, unknown> }> } }>(
          url,
          'SELECT doc FROM presence',
        )
      )[0]?.doc;
    expect((await push(a, [sale(202612030400)])).body).toMatchObject({ created: 1 });
    expect((await push(a, [sale(202612030401)], device2Auth)).body).toMatchObject({ created: 1 });
    await expect.poll(async () => (await stored())?.registers['TAB-2']?.lastPushAt ?? null, { timeout: 10_000 }).not.toBeNull();
    // tablet-2 was seen when its answer went out: the next round writes that.
    const before = (await stored())!.registers['TAB-1'].lastPushAt!;
    expect((await push(a, [sale(202612030403)])).body).toMatchObject({ created: 1 });
    await expect.poll(async () => (await stored())!.registers['TAB-1'].lastPushAt! > before, { timeout: 10_000 }).toBe(true);
    // Stored TAB-2 is marked behind A's back: A's next round (a push of TAB-1) leaves it as stored.
    await queryRows(url, `UPDATE presence SET doc = jsonb_set(doc::jsonb, '{registers,TAB-2,lastPushAt}', '"2000-01-01T00:00:00.000Z"')::json`);
    const tab1 = (await stored())!.registers['TAB-1'].lastPushAt!;
    expect((await push(a, [sale(202612030402)])).body).toMatchObject({ created: 1 });
    await expect.poll(async () => (await stored())!.registers['TAB-1'].lastPushAt! > tab1, { timeout: 10_000 }).toBe(true);
    expect((await stored())!.registers['TAB-2'].lastPushAt).toBe('2000-01-01T00:00:00.000Z');

    // The SQL merge of some registers is the whole-document merge (schema 17) on what it is given.
    const s = {
      registers: {
        R1: { lastSeenAt: '2026-01-02T00:00:00.000Z', lastPushAt: null, devices: { d1: { lastSeenAt: '2026-01-02T00:00:00.000Z', lastPushAt: null } } },
        R2: { lastSeenAt: '2026-01-01T00:00:00.000Z', lastPushAt: '2026-01-01T00:00:00.000Z', devices: {} },
      },
    };
    const w = {
      registers: {
        R1: {
          lastSeenAt: '2026-01-01T00:00:00.000Z',
          lastPushAt: '2026-01-03T00:00:00.000Z',
          devices: { d1: { lastSeenAt: null, lastPushAt: '2026-01-03T00:00:00.000Z' }, d2: { lastSeenAt: '2026-01-03T00:00:00.000Z', lastPushAt: null } },
        },
        R3: { lastSeenAt: '2026-01-04T00:00:00.000Z', lastPushAt: null, devices: {} },
      },
    };
    const [merged] = await queryRows<{ some: unknown; whole: unknown }>(
      url,
      'SELECT tabshop_presence_merge_some($1::jsonb, $2::jsonb) AS some, tabshop_presence_merge($1::jsonb, $2::jsonb) AS whole',
      [JSON.stringify(s), JSON.stringify(w)],
    );
    expect(merged.some).toEqual(merged.whole);
    expect(merged.some).toMatchObject({
      registers: {
        R1: {
          lastSeenAt: '2026-01-02T00:00:00.000Z',
          lastPushAt: '2026-01-03T00:00:00.000Z',
          devices: { d1: { lastSeenAt: '2026-01-02T00:00:00.000Z', lastPushAt: '2026-01-03T00:00:00.000Z' } },
        },
        R2: s.registers.R2,
        R3: w.registers.R3,
      },
    });
  });

  it('stats pushed through both in turn add up: each process adds to what the other stored, not to what it wrote last', async () => {
    const url = await db.cluster.createDatabase();
    const a = await gateway(url);
    const b = await gateway(url);
    for (const [i, g] of [a, a, b, a, b, b, a].entries()) expect((await push(g, [sale(202612030300 + i)])).body).toMatchObject({ created: 1 });
    const buckets = await queryRows<{ sales: number }>(url, `SELECT sum((figures->>'saleCount')::int)::int AS sales FROM stats_buckets`);
    expect(buckets).toEqual([{ sales: 7 }]);
    const items = await queryRows<{ sales: number }>(url, `SELECT sum(sale_count)::int AS sales FROM stats_items WHERE kind = 'product'`);
    expect(items).toEqual([{ sales: 7 }]);
  });

  it('a database that went down and came back: both processes answer 503 to writes meanwhile, then write again and see each other, without a restart', async () => {
    const url = await db.cluster.createDatabase();
    const a = await gateway(url);
    const b = await gateway(url);
    expect((await api(a, '/products/p1', 'PUT', { name: 'Pie', price: 2 })).status).toBeLessThan(300);
    expect((await push(b, [sale(202612030200)])).body).toMatchObject({ created: 1 });
    await db.cluster.down();
    try {
      expect((await push(a, [sale(202612030201)])).status).toBe(503);
      expect((await api(b, '/products/p2', 'PUT', { name: 'Tart', price: 2 })).status).toBe(503);
      // Reads are served from the caches meanwhile.
      expect((await api(b, '/products/p1')).body).toMatchObject({ name: 'Pie' });
    } finally {
      await db.cluster.up();
    }
    await expect.poll(async () => (await push(a, [sale(202612030202)])).status, { timeout: 30_000, interval: 250 }).toBe(200);
    await expect
      .poll(async () => (await api(b, '/products/p2', 'PUT', { name: 'Tart', price: 2 })).status, { timeout: 30_000, interval: 250 })
      .toBeLessThan(300);
    expect((await api(a, '/products/p2')).body).toMatchObject({ name: 'Tart' });
    const stored = await queryRows<{ identifier: string }>(url, 'SELECT identifier FROM sales ORDER BY identifier');
    expect(stored.map((r) => r.identifier)).toEqual(['TAB-1:202612030200', 'TAB-1:202612030202']);
  });
});
