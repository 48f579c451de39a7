import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../../src/store/postgres/connection.js';
import { adminAuth, invoice, removeDir } from '../helpers.js';
import { usePostgresCluster } from '../postgres-suite.js';
import { skipPostgres } from '../postgres.js';
import { BISTRO_ADMIN, BISTRO_DEVICE, CAFE_ADMIN, CAFE_DEVICE, OPERATOR, TWO_SHOPS, type TestDeployment, auth, startTestDeployment } from './helpers.js';

const started: TestDeployment[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const d of started.splice(0)) await d.stop();
  for (const d of dirs.splice(0)) await removeDir(d);
});

async function deployment(overrides: Record<string, unknown>, existingDir?: string): Promise<TestDeployment> {
  const d = await startTestDeployment(overrides, existingDir);
  started.push(d);
  if (!existingDir) dirs.push(d.dir);
  return d;
}

const push = (d: TestDeployment, who: string, invoices: unknown[]) =>
  d.json('/invoice', { method: 'POST', auth: who, body: { invoices }, headers: { accept: 'application/json' } });

async function schemasOf(url: string): Promise<string[]> {
  const client = createClient(url);
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'shop\\_%' ORDER BY 1");
    return rows.map((r) => r.nspname);
  } finally {
    await client.end();
  }
}

const DELI_DEVICE = { username: 'deli-tablet', password: 'pw-deli-tablet', cashRegister: 'DELI-1' };

describe.skipIf(skipPostgres)('several shops on PostgreSQL: one schema per shop', () => {
  const pg = usePostgresCluster();

  it('config shops: the same invoice id and the same product id in two shops are unrelated', async () => {
    const url = await pg.cluster.createDatabase();
    const d = await deployment({ ...TWO_SHOPS, store: { dataDir: './data', postgres: { url } } });
    expect((await push(d, auth(CAFE_DEVICE), [invoice(1001, [{ productId: 'p1', qty: 1, total: '2.50' }])])).body).toMatchObject({ created: 1 });
    expect((await push(d, auth(BISTRO_DEVICE), [invoice(1001, [{ productId: 'p9', qty: 3, total: '9.00' }])])).body).toMatchObject({ created: 1 });
    const cafe = await d.json('/api/sales', { auth: auth(CAFE_ADMIN) });
    const bistro = await d.json('/api/sales', { auth: auth(BISTRO_ADMIN) });
    expect(cafe.body.total).toBe(1);
    expect(bistro.body.total).toBe(1);
    expect(cafe.body.items[0]).toMatchObject({ identifier: 'CAFE-1:1001', total: 2.5 });
    expect(bistro.body.items[0]).toMatchObject({ identifier: 'CAFE-1:1001', total: 9 });
    // Shop default (schema public) saw nothing.
    expect((await d.json('/api/sales', { auth: adminAuth })).body.total).toBe(0);

    for (const [who, price, qty] of [
      [CAFE_ADMIN, 2.2, 10],
      [BISTRO_ADMIN, 3.5, 4],
    ] as const) {
      expect((await d.json('/api/products/7', { method: 'PUT', auth: auth(who), body: { name: `p-${who.username}`, price } })).status).toBe(201);
      expect((await d.json('/api/stock/7', { method: 'PUT', auth: auth(who), body: { quantity: qty } })).status).toBe(200);
    }
    await push(d, auth(CAFE_DEVICE), [invoice(1, [{ productId: '7', qty: 2, total: 4.4 }])]);
    const cafeStock = await d.json('/stock', { auth: auth(CAFE_DEVICE) });
    const bistroStock = await d.json('/stock', { auth: auth(BISTRO_DEVICE) });
    expect(cafeStock.body.products).toEqual([expect.objectContaining({ id: '7', title: 'p-cafe-admin', price: 2.2, stockqty: 8 })]);
    expect(bistroStock.body.products).toEqual([expect.objectContaining({ id: '7', title: 'p-bistro-admin', price: 3.5, stockqty: 4 })]);
    expect(await schemasOf(url)).toEqual(['shop_bistro', 'shop_cafe']);
  }, 120_000);

  it('a shop created through the API is stored in the database: it survives a restart and its device pushes', async () => {
    const url = await pg.cluster.createDatabase();
    const config = { operators: [OPERATOR], store: { dataDir: './data', postgres: { url } } };
    const op = auth(OPERATOR);
    let d = await deployment(config);
    expect((await d.json('/api/shops', { method: 'POST', auth: op, body: { id: 'deli-2', name: 'Deli' } })).status).toBe(201);
    const put = await d.json(`/api/shops/deli-2/devices/${DELI_DEVICE.username}`, {
      method: 'PUT',
      auth: op,
      body: { password: DELI_DEVICE.password, cashRegister: DELI_DEVICE.cashRegister },
    });
    expect(put.status).toBe(201);
    expect((await push(d, auth(DELI_DEVICE), [invoice(7, [{ productId: 'p1', qty: 1, total: '1.00' }])])).body).toMatchObject({ created: 1 });
    await d.stop();
    started.splice(started.indexOf(d), 1);

    d = await deployment(config, d.dir);
    const shop = await d.json('/api/shops/deli-2', { auth: op });
    expect(shop.body).toMatchObject({ id: 'deli-2', name: 'Deli', origin: 'api', devices: [{ username: DELI_DEVICE.username, cashRegister: 'DELI-1' }] });
    expect((await push(d, auth(DELI_DEVICE), [invoice(8, [{ productId: 'p1', qty: 1, total: '1.00' }])])).body).toMatchObject({ created: 1 });
    const sales = await d.json('/api/shops/deli-2/sales', { auth: op });
    expect(sales.body.total).toBe(2);
    expect((await d.json('/api/shops/default/sales', { auth: op })).body.total).toBe(0);
    // '-' becomes '_' in the schema's name (schemaForShop).
    expect(await schemasOf(url)).toEqual(['shop_deli_2']);
    // In the table shop_directory, not in a file.
    expect(existsSync(join(d.dataDir, 'shops.json'))).toBe(false);
  }, 120_000);
});
