import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, DEVICE, adminAuth, deviceAuth, invoice, removeDir, startTestGateway } from '../helpers.js';
import { BISTRO_ADMIN, BISTRO_DEVICE, CAFE_ADMIN, CAFE_DEVICE, OPERATOR, TWO_SHOPS, type TestDeployment, auth, startTestDeployment } from './helpers.js';

let dep: TestDeployment | null = null;
const dirs: string[] = [];
afterEach(async () => {
  await dep?.stop();
  dep = null;
  for (const d of dirs.splice(0)) await removeDir(d);
});

async function deployment(overrides?: Record<string, unknown>, existingDir?: string): Promise<TestDeployment> {
  dep = await startTestDeployment(overrides, existingDir);
  if (!existingDir) dirs.push(dep.dir);
  return dep;
}

const push = (d: TestDeployment, who: string, invoices: unknown[]) =>
  d.json('/invoice', { method: 'POST', auth: who, body: { invoices }, headers: { accept: 'application/json' } });

describe('TabShop routes: the device names its shop', () => {
  it('the same invoice id in two shops gives two unrelated sales, each in its own shop', async () => {
    const d = await deployment();
    expect((await push(d, auth(CAFE_DEVICE), [invoice(1001, [{ productId: 'p1', qty: 1, total: '2.50' }])])).body).toMatchObject({ created: 1 });
    expect((await push(d, auth(BISTRO_DEVICE), [invoice(1001, [{ productId: 'p9', qty: 3, total: '9.00' }])])).body).toMatchObject({ created: 1 });
    const cafe = await d.json('/api/sales', { auth: auth(CAFE_ADMIN) });
    const bistro = await d.json('/api/sales', { auth: auth(BISTRO_ADMIN) });
    expect(cafe.body.total).toBe(1);
    expect(bistro.body.total).toBe(1);
    expect(cafe.body.items[0]).toMatchObject({ identifier: 'CAFE-1:1001', total: 2.5 });
    expect(bistro.body.items[0]).toMatchObject({ identifier: 'CAFE-1:1001', total: 9 });
    // Shop default (the top-level keys) saw nothing.
    expect((await d.json('/api/sales', { auth: adminAuth })).body.total).toBe(0);
    // Each shop has its own data dir; default keeps the root.
    expect(d.directory.isOpen('cafe') && d.directory.isOpen('bistro')).toBe(true);
  });

  it('the same product id in two shops: two products with their own stock', async () => {
    const d = await deployment();
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
  });

  it('wrong passwords and unknown users get 401 as before; admins are not tablets in any shop', async () => {
    const d = await deployment();
    expect((await d.json('/stock', { auth: auth({ ...CAFE_DEVICE, password: 'nope' }) })).status).toBe(401);
    expect((await d.json('/stock', { auth: auth({ username: 'nobody', password: 'x' }) })).status).toBe(401);
    expect((await d.json('/stock', { auth: auth(CAFE_ADMIN) })).status).toBe(401);
    expect((await d.json('/stock', { auth: auth(OPERATOR) })).status).toBe(401);
    expect((await d.json('/home', { auth: auth(CAFE_DEVICE) })).body).toBe(true);
    expect((await d.json('/home', { auth: deviceAuth })).body).toBe(true);
  });

  it('a disabled shop answers its devices and admins 403 shop_disabled (home too); the other shops are untouched', async () => {
    const dir = await import('node:fs/promises').then((fs) => fs.mkdtemp(join(process.env.TMPDIR ?? '/tmp', 'tsg-shops-')));
    dirs.push(dir);
    await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'data'), { recursive: true }));
    await writeFile(
      join(dir, 'data', 'shops.json'),
      JSON.stringify({ shops: [{ id: 'cafe', disabled: true, createdAt: '2026-12-01T00:00:00.000Z', devices: [], admins: [] }] }),
    );
    const d = await deployment(TWO_SHOPS, dir);
    for (const path of ['/home', '/stock', '/invoice']) {
      const r = await d.json(path, {
        method: path === '/invoice' ? 'POST' : 'GET',
        auth: auth(CAFE_DEVICE),
        body: path === '/invoice' ? { invoices: [] } : undefined,
      });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('shop_disabled');
    }
    expect((await d.json('/api/sales', { auth: auth(CAFE_ADMIN) })).body.error.code).toBe('shop_disabled');
    // A wrong password is not told the shop is disabled.
    expect((await d.json('/home', { auth: auth({ ...CAFE_DEVICE, password: 'nope' }) })).status).toBe(401);
    expect((await d.json('/home', { auth: auth(BISTRO_DEVICE) })).body).toBe(true);
    // An operator still reaches it.
    expect((await d.json('/api/shops/cafe/sales', { auth: auth(OPERATOR) })).status).toBe(200);
  });

  it('an existing data dir is shop default, unchanged: its sales, catalogue and devices as before', async () => {
    const before = await startTestGateway({ store: { dataDir: './data', seedDemo: true } });
    dirs.push(before.dir);
    expect((await before.json('/invoice', { method: 'POST', body: { invoices: [invoice(42, [{ productId: '101', qty: 1, total: 2.2 }])] } })).status).toBe(200);
    const salesBefore = (await before.json('/api/sales', { auth: adminAuth })).body;
    const stockBefore = (await before.json('/stock')).body;
    await before.stop();
    // A copy of the data dir written by the single-shop gateway, started as a deployment with shops.
    await cp(before.dir, `${before.dir}-copy`, { recursive: true });
    dirs.push(`${before.dir}-copy`);
    const d = await deployment({ ...TWO_SHOPS, store: { dataDir: './data', seedDemo: true } }, `${before.dir}-copy`);
    expect((await d.json('/api/sales', { auth: adminAuth })).body).toEqual(salesBefore);
    expect((await d.json('/stock', { auth: deviceAuth })).body).toEqual(stockBefore);
    expect((await d.json('/api/shops/default/sales', { auth: auth(OPERATOR) })).body).toEqual(salesBefore);
    // The new shops start empty (no demo catalogue for them).
    expect((await d.json('/stock', { auth: auth(CAFE_DEVICE) })).body).toEqual({ products: [] });
    expect(ADMIN.username).toBe('admin');
    expect(DEVICE.username).toBe('tablet-1');
  });
});

describe('a shop that cannot be opened', () => {
  it('answers 503 not_ready to its accounts, says why in the log, and leaves the other shops alone', async () => {
    const fs = await import('node:fs/promises');
    const dir = await fs.mkdtemp(join(process.env.TMPDIR ?? '/tmp', 'tsg-shops-'));
    dirs.push(dir);
    await fs.mkdir(join(dir, 'data', 'shops', 'cafe'), { recursive: true });
    await writeFile(join(dir, 'data', 'shops', 'cafe', 'admin-settings.json'), '{ not json');
    const d = await deployment(TWO_SHOPS, dir);
    const r = await d.json('/stock', { auth: auth(CAFE_DEVICE) });
    expect(r.status).toBe(503);
    expect(r.body.error).toEqual({ code: 'not_ready', message: "shop cafe cannot be opened right now; the gateway's log says why" });
    expect(d.logs.join('')).toContain('shop cafe cannot be opened');
    expect(d.logs.join('')).toMatch(/GET \/stock 503/);
    expect((await d.json('/home', { auth: auth(BISTRO_DEVICE) })).body).toBe(true);
  });
});

describe('config', () => {
  it('refuses a username used in two shops, a duplicate shop id, id "default" and a bad id, naming each', async () => {
    const { validateConfigData } = await import('../../src/config/validate.js');
    const problems = validateConfigData({
      devices: [DEVICE],
      shops: [
        { id: 'cafe', devices: [{ ...CAFE_DEVICE }] },
        { id: 'cafe', devices: [{ ...CAFE_DEVICE, username: DEVICE.username }] },
        { id: 'default' },
        { id: 'Not OK' },
      ],
      operators: [{ username: CAFE_DEVICE.username, password: 'x' }],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        '/shops/1/devices/0/username: duplicate username "tablet-1"',
        '/shops/1/id: duplicate shop id "cafe"',
        expect.stringMatching(/^\/shops\/2\/id: "default" is the shop of the top-level keys/),
        '/shops/3/id: must be 1 to 40 of a-z, 0-9 and "-"',
        // Operators are listed before the shops: the shop's account is the duplicate.
        '/shops/0/devices/0/username: duplicate username "cafe-tablet"',
      ]),
    );
  });

  it('devices may be left out when shops lists the shops; without either it is required as before', async () => {
    const { validateConfigData } = await import('../../src/config/validate.js');
    expect(validateConfigData({ shops: [{ id: 'cafe' }] })).toEqual([]);
    expect(validateConfigData({})).toEqual(['/devices: is required']);
  });
});
