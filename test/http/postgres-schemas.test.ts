import { afterEach, describe, expect, it } from 'vitest';
import { adminAuth, invoice, testGateways, type TestGateway } from '../helpers.js';
import { queryRows, skipPostgres } from '../postgres.js';
import { usePostgresCluster } from '../postgres-suite.js';

const pg$ = usePostgresCluster();
const gateways = testGateways();
const gateway = (url: string, schema?: string) =>
  gateways.start({ store: { dataDir: './data', postgres: { url, poolSize: 4, ...(schema ? { schema } : {}) } } });

const admin = (g: TestGateway, path: string, method = 'GET', body?: unknown) => g.json(`/api${path}`, { method, body, auth: adminAuth });
const push = async (g: TestGateway, invoices: unknown[]) => {
  const res = await g.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }), headers: { accept: 'application/json' } });
  return { status: res.status, body: await res.json() };
};

describe.skipIf(skipPostgres)('gateways in schemas of one PostgreSQL database (one shop each)', { timeout: 60_000 }, () => {
  afterEach(async () => {
    await gateways.cleanup();
  });

  it('the same invoice id and the same product id in two shops: unrelated sales, products and stock; each gateway sees only its own', async () => {
    const url = await pg$.cluster.createDatabase();
    const a = await gateway(url, 'shop_a');
    const b = await gateway(url, 'shop_b');
    expect((await admin(a, '/products/18', 'PUT', { name: 'Burger', price: 3.19 })).status).toBeLessThan(300);
    expect((await admin(b, '/products/18', 'PUT', { name: 'Espresso', price: 2 })).status).toBeLessThan(300);
    expect((await admin(a, '/stock/18', 'PUT', { quantity: 10 })).status).toBeLessThan(300);
    expect((await admin(b, '/stock/18', 'PUT', { quantity: 5 })).status).toBeLessThan(300);

    const id = 202612030100001;
    expect(await push(a, [invoice(id, [{ productId: '18', qty: 1, total: 3.19 }])])).toMatchObject({ status: 200, body: { created: 1 } });
    // The same invoice id from the same register name in the other shop: a new sale there, not "unchanged".
    expect(await push(b, [invoice(id, [{ productId: '18', qty: 2, total: 4 }])])).toMatchObject({ status: 200, body: { created: 1 } });

    expect((await admin(a, '/products/18')).body).toMatchObject({ name: 'Burger' });
    expect((await admin(b, '/products/18')).body).toMatchObject({ name: 'Espresso' });
    expect((await admin(a, '/stock/18')).body).toMatchObject({ quantity: 9 });
    expect((await admin(b, '/stock/18')).body).toMatchObject({ quantity: 3 });
    const salesOf = async (g: TestGateway) => JSON.stringify((await admin(g, '/sales?maxResults=100')).body);
    const [salesA, salesB] = [await salesOf(a), await salesOf(b)];
    expect(salesA).toContain('3.19');
    expect(salesA).not.toContain('Espresso');
    expect(salesB).not.toContain('3.19');
    expect(await queryRows(url, 'SELECT total::text FROM shop_a.sales UNION ALL SELECT total::text FROM shop_b.sales')).toEqual([
      { total: '3.19' },
      { total: '4' },
    ]);

    // Restarted, each reads its own back.
    await gateways.stop(a);
    const a2 = await gateway(url, 'shop_a');
    expect((await admin(a2, '/stock/18')).body).toMatchObject({ quantity: 9 });
    expect(await salesOf(a2)).toBe(salesA);
  });

  it('a database written without a schema key (public, as every version before) is read the same with schema "public"', async () => {
    const url = await pg$.cluster.createDatabase();
    const before = await gateway(url);
    expect((await admin(before, '/products/18', 'PUT', { name: 'Burger', price: 3.19 })).status).toBeLessThan(300);
    expect((await admin(before, '/stock/18', 'PUT', { quantity: 10 })).status).toBeLessThan(300);
    expect(await push(before, [invoice(202612030100002, [{ productId: '18', qty: 1, total: 3.19 }])])).toMatchObject({ body: { created: 1 } });
    const sales = (await admin(before, '/sales?maxResults=100')).body;
    await gateways.stop(before);
    expect(await queryRows(url, "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema <> 'public' AND table_name = 'sales'")).toEqual([
      { n: 0 },
    ]);

    const after = await gateway(url, 'public');
    expect((await admin(after, '/sales?maxResults=100')).body).toEqual(sales);
    expect((await admin(after, '/stock/18')).body).toMatchObject({ quantity: 9 });
  });
});
