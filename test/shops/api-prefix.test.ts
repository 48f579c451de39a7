import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, invoice, removeDir } from '../helpers.js';
import { BISTRO_ADMIN, BISTRO_DEVICE, CAFE_ADMIN, CAFE_DEVICE, OPERATOR, type TestDeployment, auth, startTestDeployment } from './helpers.js';

let d: TestDeployment;
beforeAll(async () => {
  d = await startTestDeployment();
  for (const [device, id, total] of [
    [CAFE_DEVICE, 11, 2.5],
    [BISTRO_DEVICE, 22, 7],
  ] as const) {
    const r = await d.json('/invoice', { method: 'POST', auth: auth(device), body: { invoices: [invoice(id, [{ productId: 'x', qty: 1, total }])] } });
    expect(r.status).toBe(200);
  }
});
afterAll(async () => {
  await d.stop();
  await removeDir(d.dir);
});

const op = auth(OPERATOR);

describe('/api/shops/{shop}/… is that shop’s API', () => {
  it('an operator reads and writes any shop through the prefix, as its admin', async () => {
    expect((await d.json('/api/shops/cafe/sales', { auth: op })).body).toMatchObject({ total: 1, items: [{ identifier: 'CAFE-1:11' }] });
    expect((await d.json('/api/shops/bistro/sales', { auth: op })).body).toMatchObject({ total: 1, items: [{ identifier: 'CAFE-1:22' }] });
    expect((await d.json('/api/shops/cafe/sales/CAFE-1:11', { auth: op })).body).toMatchObject({ identifier: 'CAFE-1:11', total: 2.5 });
    expect((await d.json('/api/shops/cafe/products/5', { method: 'PUT', auth: op, body: { name: 'Tea', price: 1.5 } })).status).toBe(201);
    // The same product through the café admin's own /api, and not in the bistro.
    expect((await d.json('/api/products/5', { auth: auth(CAFE_ADMIN) })).body).toMatchObject({ identifier: '5', name: 'Tea' });
    expect((await d.json('/api/products/5', { auth: auth(BISTRO_ADMIN) })).status).toBe(404);
    // Query strings pass through the prefix.
    expect((await d.json('/api/shops/cafe/sales?cashRegisterName=NOPE', { auth: op })).body.total).toBe(0);
  });

  it('a shop’s own accounts may use the prefix of their shop, with their own rights', async () => {
    expect((await d.json('/api/shops/cafe/sales', { auth: auth(CAFE_ADMIN) })).body.total).toBe(1);
    expect((await d.json('/api/shops/cafe/products', { auth: auth(CAFE_DEVICE) })).status).toBe(200);
    // Devices still may not read sales lists.
    expect((await d.json('/api/shops/cafe/sales', { auth: auth(CAFE_DEVICE) })).status).toBe(403);
    expect((await d.json('/api/shops/default/sales', { auth: adminAuth })).body.total).toBe(0);
  });

  it('another shop’s prefix is 404 to a shop account, existing or not; unauthenticated is 401', async () => {
    for (const who of [CAFE_ADMIN, CAFE_DEVICE]) {
      for (const path of ['/api/shops/bistro/sales', '/api/shops/bistro/sales/CAFE-1:22', '/api/shops/nowhere/sales', '/api/shops/default/sales']) {
        const r = await d.json(path, { auth: auth(who) });
        expect(r.status, `${who.username} ${path}`).toBe(404);
        expect(JSON.stringify(r.body)).not.toContain('CAFE-1:22');
      }
    }
    expect((await d.json('/api/shops/cafe/sales', { auth: null })).status).toBe(401);
    expect((await d.json('/api/shops/cafe/sales', { auth: auth({ ...OPERATOR, password: 'wrong' }) })).status).toBe(401);
    expect((await d.json('/api/shops/cafe/sales', { auth: auth({ ...CAFE_ADMIN, password: 'wrong' }) })).status).toBe(401);
  });

  it('an unknown shop is 404 and an id that breaks the pattern 400 naming it (operators)', async () => {
    const unknown = await d.json('/api/shops/nowhere/sales', { auth: op });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toBe('shop nowhere not found');
    const bad = await d.json('/api/shops/Not_OK/sales', { auth: op });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('"Not_OK"');
  });
});

describe('/api/… without the prefix', () => {
  it('is the caller’s shop for a shop account', async () => {
    expect((await d.json('/api/sales', { auth: auth(BISTRO_ADMIN) })).body).toMatchObject({ total: 1, items: [{ identifier: 'CAFE-1:22' }] });
  });

  it('is 400 shop_required for an operator (after checking the password)', async () => {
    const r = await d.json('/api/sales', { auth: op });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'shop_required', message: 'operators name the shop: /api/shops/{shop}/sales' });
    expect((await d.json('/api/sales', { auth: auth({ ...OPERATOR, password: 'wrong' }) })).status).toBe(401);
  });
});
