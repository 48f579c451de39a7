import { describe, expect, it } from 'vitest';
import { deviceAuth, invoice, useTestGateway } from '../helpers.js';

const t = useTestGateway();
const { admin } = t;
const NONE = { id: 0, percentage: 0, name: '-' };

async function seedBasics() {
  expect((await admin('/taxes/1', 'PUT', { name: 'Reduced', vat: 10 })).status).toBe(201);
  expect((await admin('/discounts/1', 'PUT', { name: 'Staff', percentage: 15 })).status).toBe(201);
  expect((await admin('/categories/drinks', 'PUT', { name: 'Drinks' })).status).toBe(201);
  expect((await admin('/categories/coffee', 'PUT', { name: 'Coffee', parent: 'drinks' })).status).toBe(201);
  expect((await admin('/products/72', 'PUT', { name: 'Latte', price: 3.5, tax: '1', discount: '1', costPrice: 0.9, description: 'milk' })).status).toBe(201);
  expect((await admin('/commodities/72.coffee', 'PUT', { product: '72', category: 'coffee' })).status).toBe(201);
}

describe('articles', () => {
  it('create, read, list, replace, delete with one version counter', async () => {
    expect((await admin('/version')).body).toEqual({ version: 0 });
    await seedBasics();
    expect((await admin('/version')).body).toEqual({ version: 6 });
    const product = await admin('/products/72');
    expect(product.body).toMatchObject({ identifier: '72', name: 'Latte', price: 3.5 });
    expect(product.headers.get('etag')).toBe('"6"');
    const replaced = await admin('/products/72', 'PUT', { name: 'Latte', price: 3.8, tax: '1' });
    expect(replaced.status).toBe(200);
    const list = await admin('/products?firstResult=0&maxResults=10');
    expect(list.body).toEqual({ items: [replaced.body], total: 1 });
    const created = await admin('/taxes', 'POST', { name: 'Standard', vat: 20 });
    expect(created.status).toBe(201);
    expect(created.body.identifier).toBe('2');
    expect((await admin('/taxes/2', 'DELETE')).status).toBe(204);
    expect((await admin('/taxes/2')).status).toBe(404);
  });

  it('serves them to tablets in TabShop shapes', async () => {
    await seedBasics();
    await admin('/stock/72', 'PUT', { quantity: 12.5 });
    const stock = await (await t.gw.fetch('/stock')).json();
    expect(stock.products).toEqual([
      {
        id: '72',
        category: '/Drinks/Coffee',
        title: 'Latte',
        price: 3.5,
        costprice: 0.9,
        discountid: 1,
        description: 'milk',
        attribute: '0',
        stockqty: 12.5,
        taxid: 1,
      },
    ]);
    expect(await (await t.gw.fetch('/tax')).json()).toEqual({ taxes: [NONE, { id: 1, percentage: 0.1, name: 'Reduced' }] });
    expect(await (await t.gw.fetch('/discount')).json()).toEqual({ discounts: [NONE, { id: 1, percentage: 0.15, name: 'Staff' }] });
  });

  it('honours If-None-Match (304) and If-Match (409 version_conflict)', async () => {
    await seedBasics();
    expect((await admin('/products', 'GET', undefined, { 'if-none-match': '"6"' })).status).toBe(304);
    const stale = await admin('/products/72', 'PUT', { name: 'X', price: 1 }, { 'if-match': '"5"' });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('version_conflict');
    expect((await admin('/products/72', 'PUT', { name: 'X', price: 1 }, { 'if-match': '"6"' })).status).toBe(200);
  });

  it('enforces referential integrity both ways', async () => {
    await seedBasics();
    const missing = await admin('/products/9', 'PUT', { name: 'Tea', price: 2, tax: '7' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('reference_not_found');
    const referenced = await admin('/taxes/1', 'DELETE');
    expect(referenced.status).toBe(409);
    expect(referenced.body.error.code).toBe('still_referenced');
    expect((await admin('/categories/drinks', 'DELETE')).body.error.code).toBe('still_referenced');
  });

  it.each([
    ['/products/72', 'PUT', { identifier: '73', name: 'X', price: 1 }, 400, 'url_and_body_identifiers_mismatch'],
    ['/products/72', 'PUT', { name: 'X' }, 400, 'validation_failed'],
    ['/products/72', 'PUT', { name: 'X', price: 1, colour: 'red' }, 400, 'validation_failed'],
    ['/products/72', 'PUT', '{"name":', 400, 'invalid_json'],
    ['/taxes/abc', 'PUT', { name: 'X', vat: 1 }, 400, 'validation_failed'],
    ['/taxes', 'POST', { identifier: '1', name: 'X', vat: 1 }, 201, undefined],
  ])('%s %s %j → %i %s', async (path, method, body, status, code) => {
    const res = await admin(path, method, body);
    expect(res.status).toBe(status);
    if (code) expect(res.body.error.code).toBe(code);
  });

  it.each(['__proto__', 'constructor', 'toString'])(
    'treats "%s" as an ordinary identifier: 404 until created, then stored and served like any other',
    async (id) => {
      for (const path of [`/products/${id}`, `/taxes/${id}`, `/categories/${id}`, `/discounts/${id}`, `/commodities/${id}`, `/stock/${id}`]) {
        expect((await admin(path)).status, path).toBe(404);
      }
      expect((await admin('/taxes/7', 'PUT', { name: 'Odd', vat: 10 })).status).toBe(201);
      expect((await admin(`/categories/${id}`, 'PUT', { name: 'Odd shelf' })).status).toBe(201);
      expect((await admin(`/products/${id}`, 'PUT', { name: 'Odd one', price: 1, tax: '7' })).status).toBe(201);
      expect((await admin(`/commodities/${id}`, 'PUT', { product: id, category: id })).status).toBe(201);
      expect((await admin(`/stock/${id}`, 'PUT', { quantity: 3 })).status).toBe(200);
      expect((await admin(`/products/${id}`)).body).toMatchObject({ identifier: id, name: 'Odd one', tax: '7' });
      expect((await admin('/products')).body.total).toBe(1);
      const stock = await (await t.gw.fetch('/stock')).json();
      expect(stock.products).toMatchObject([{ id, title: 'Odd one', category: '/Odd shelf', stockqty: 3, taxid: 7 }]);
      expect(({} as Record<string, unknown>).name).toBeUndefined();
    },
  );

  it('POST of an existing identifier is 409 already_exists', async () => {
    await admin('/taxes', 'POST', { identifier: '1', name: 'X', vat: 1 });
    expect((await admin('/taxes', 'POST', { identifier: '1', name: 'X', vat: 1 })).body.error.code).toBe('already_exists');
  });

  it('lets devices read articles but not write them', async () => {
    await seedBasics();
    expect((await t.gw.json('/api/products', { auth: deviceAuth })).status).toBe(200);
    const write = await t.gw.json('/api/products/1', { method: 'PUT', body: { name: 'X', price: 1 }, auth: deviceAuth });
    expect(write.status).toBe(403);
    expect((await t.gw.json('/api/quarantine', { auth: deviceAuth })).status).toBe(403);
    expect((await t.gw.json('/api/products', { auth: null })).status).toBe(401);
  });

  it('records a change feed that can be followed part by part', async () => {
    await seedBasics();
    await admin('/commodities/72.coffee', 'DELETE');
    const first = await admin('/modifications?from=0&maxResults=4');
    expect(first.body.items.map((m: { version: number }) => m.version)).toEqual([1, 2, 3, 4]);
    expect(first.body.to).toBe(4);
    const rest = await admin(`/modifications?from=${first.body.to}`);
    expect(rest.body.items.map((m: { op: string; entity: string }) => `${m.entity}:${m.op}`)).toEqual([
      'product:create',
      'commodity:create',
      'commodity:delete',
    ]);
    expect(rest.body.latest).toBe(7);
  });
});

describe('stock levels', () => {
  it('follows set + adjustments − sold + reversed, served as max(0, q) to tablets', async () => {
    await seedBasics();
    await admin('/stock/72', 'PUT', { quantity: 3 });
    expect((await admin('/stock/72/adjustments', 'POST', { delta: 0.5, reason: 'delivery' })).body.quantity).toBe(3.5);
    const sale = invoice(202611230100001, [{ productId: '72', qty: 5, total: 17.5 }]);
    await t.gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: [sale] }) });
    expect((await admin('/stock/72')).body).toMatchObject({ product: '72', quantity: -1.5, tracked: true });
    const served = await (await t.gw.fetch('/stock')).json();
    expect(served.products[0].stockqty).toBe(0);
    await t.gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: [{ ...sale, checkoutStatus: '11' }] }) });
    expect((await admin('/stock/72')).body.quantity).toBe(3.5);
    await admin('/stock/72', 'PUT', { quantity: 10 });
    expect((await admin('/stock/72')).body.quantity).toBe(10);
  });

  it('never moves stock for vouchers (attribute 16) or products not in the catalogue', async () => {
    await seedBasics();
    await admin('/products/v1', 'PUT', { name: 'Voucher', price: 10, attribute: 16 });
    await admin('/stock/v1', 'PUT', { quantity: 5 });
    await t.gw.fetch('/invoice', {
      method: 'POST',
      body: JSON.stringify({
        invoices: [
          invoice(1, [
            { productId: 'v1', qty: 2, total: 20 },
            { productId: 'custom-99', qty: 1, total: 4 },
          ]),
        ],
      }),
    });
    expect((await admin('/stock/v1')).body.quantity).toBe(5);
    expect((await admin('/stock/custom-99')).status).toBe(404);
  });
});

describe('sales', () => {
  const apiSale = {
    identifier: 'TAB-1:web-1',
    cashRegisterName: 'TAB-1',
    createdAt: '2026-11-23T10:00:00.000Z',
    lines: [{ product: '72', name: 'Latte', quantity: 1, total: 3.5, vat: 0.32 }],
    payments: [{ method: 'card', code: '2', amount: 3.5 }],
    total: 3.5,
    vat: 0.32,
  };

  it('POST /sales creates (201), an existing identifier is 409 already_exists, PUT changes it, a collision is 409', async () => {
    const created = await admin('/sales', 'POST', apiSale);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ identifier: 'TAB-1:web-1', status: 'completed', version: 1 });
    const again = await admin('/sales', 'POST', apiSale);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('already_exists');
    expect((await admin('/sales', 'POST', { ...apiSale, status: 'refunded' })).body.error.code).toBe('already_exists');
    expect((await admin('/sales/TAB-1:web-1')).body).toMatchObject({ status: 'completed', version: 1 });
    expect((await admin('/sales/TAB-1:web-1', 'PUT', apiSale)).status).toBe(200);
    const refunded = await admin('/sales/TAB-1:web-1', 'PUT', { ...apiSale, status: 'refunded' });
    expect(refunded.body).toMatchObject({ status: 'refunded', version: 2 });
    const collision = await admin('/sales', 'POST', { ...apiSale, lines: [{ ...apiSale.lines[0], quantity: 2 }] });
    expect(collision.status).toBe(409);
    expect(collision.body.error.code).toBe('sale_collision');
  });

  it('PUT /sales/{id} refuses a different sale under the identifier (409 sale_collision) unless ?replace=true', async () => {
    const sale = { ...apiSale, identifier: 'TAB-1:web-2' };
    expect((await admin('/sales', 'POST', sale)).status).toBe(201);
    const other = {
      ...sale,
      createdAt: '2026-11-23T11:00:00.000Z',
      lines: [{ ...sale.lines[0], quantity: 2, total: 7 }],
      payments: [{ method: 'card', code: '2', amount: 7 }],
      total: 7,
      vat: 0.64,
    };
    const refused = await admin('/sales/TAB-1:web-2', 'PUT', other);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('sale_collision');
    expect((await admin('/sales/TAB-1:web-2')).body).toMatchObject({ total: 3.5, version: 1 });
    const replaced = await admin('/sales/TAB-1:web-2?replace=true', 'PUT', other);
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ identifier: 'TAB-1:web-2', total: 7, createdAt: '2026-11-23T11:00:00.000Z', version: 2 });
    const report = (await admin('/days/current/report?cashRegisterName=TAB-1')).body;
    expect(report.arithmetic.every((a: { holds: boolean }) => a.holds)).toBe(true);
  });

  it('lets a device post sales of its own register only', async () => {
    expect((await t.gw.json('/api/sales', { method: 'POST', body: apiSale, auth: deviceAuth })).status).toBe(201);
    const other = await t.gw.json('/api/sales', { method: 'POST', body: { ...apiSale, identifier: 'TAB-2:x', cashRegisterName: 'TAB-2' }, auth: deviceAuth });
    expect(other.status).toBe(403);
  });

  it('lists with filters and paging', async () => {
    const push = (invoices: unknown[]) => t.gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }) });
    await push([
      invoice(1, [{ productId: 'a', qty: 1, total: 1 }], { date: String(Date.parse('2026-11-20T10:00:00Z')) }),
      invoice(2, [{ productId: 'a', qty: 1, total: 1 }], { date: String(Date.parse('2026-11-21T10:00:00Z')), checkoutStatus: '11' }),
      invoice(3, [{ productId: 'a', qty: 1, total: 1 }], { date: String(Date.parse('2026-11-22T10:00:00Z')) }),
    ]);
    expect((await admin('/sales')).body.total).toBe(3);
    expect((await admin('/sales?status=refunded')).body.items.map((s: { identifier: string }) => s.identifier)).toEqual(['TAB-1:2']);
    expect((await admin('/sales?from=2026-11-21T00:00:00Z&to=2026-11-22T00:00:00Z')).body.total).toBe(1);
    const page = await admin('/sales?firstResult=1&maxResults=1');
    expect(page.body).toMatchObject({ total: 3, items: [{ identifier: 'TAB-1:2' }] });
    expect((await admin('/sales?cashRegisterName=TAB-2')).body.total).toBe(0);
    expect((await admin('/sales?maxResults=5000')).status).toBe(400);
  });
});
