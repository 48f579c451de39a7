import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, device2Auth, deviceAuth, removeDir, startTestGateway, type TestGateway } from '../helpers.js';

let now = new Date('2026-03-01T10:00:00Z');
const clock = () => now;
let gw: TestGateway;
const admin = (path: string, method = 'GET', body?: unknown) => gw.json(`/api${path}`, { method, body, auth: adminAuth });

function inv(id: number, lines: [string, number, number, number, number][], extra: Record<string, unknown> = {}) {
  const sum = (i: number) => lines.reduce((s, l) => s + Math.round((l[i] as number) * 100), 0) / 100;
  return {
    id,
    date: String(now.getTime()),
    checkoutType: '0',
    checkoutStatus: '10',
    total: sum(2),
    tax: sum(3),
    discount: 0,
    costPrice: sum(4),
    positions: lines.map(([productId, qty, total, tax, costPrice]) => ({
      productId,
      productName: `p${productId}`,
      qty,
      subtotal: total,
      discount: 0,
      total,
      tax,
      costPrice,
    })),
    ...extra,
  };
}
async function push(at: string, invoices: unknown[], auth = deviceAuth) {
  now = new Date(at);
  expect((await gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }), auth })).status).toBe(200);
}

const S1 = () =>
  inv(1, [
    ['101', 2, 4.4, 0.4, 1],
    ['201', 1, 3.6, 0.33, 1.2],
  ]);

beforeAll(async () => {
  gw = await startTestGateway({}, undefined, { now: clock });
  await admin('/taxes/1', 'PUT', { name: 'Reduced', vat: 10 });
  await admin('/categories/drinks', 'PUT', { name: 'Drinks' });
  await admin('/categories/food', 'PUT', { name: 'Food' });
  await admin('/categories/hot', 'PUT', { name: 'Hot', parent: 'drinks' });
  await admin('/products/101', 'PUT', { name: 'Coffee', price: 2.2, tax: '1' });
  await admin('/products/201', 'PUT', { name: 'Cake', price: 3.6, tax: '1' });
  await admin('/commodities/101.drinks', 'PUT', { product: '101', category: 'drinks' });
  await admin('/commodities/201.food', 'PUT', { product: '201', category: 'food' });
  const s1 = S1();
  await push('2026-03-01T10:00:00Z', [s1]);
  await push('2026-03-01T11:00:00Z', [inv(2, [['101', 1, 2.2, 0.2, 0]])], device2Auth);
  await push('2026-03-02T09:00:00Z', [{ ...s1, checkoutStatus: '11' }]);
  await push('2026-03-02T10:00:00Z', [inv(3, [['201', 0.5, 1.8, 0.16, 0.6]])]);
  await push('2026-04-01T10:00:00Z', [inv(4, [['101', 1, 2.2, 0.2, 0]])]);
  // Moving Coffee to another category later does not rewrite history.
  await admin('/commodities/101.drinks', 'DELETE');
  await admin('/commodities/101.hot', 'PUT', { product: '101', category: 'hot' });
});
afterAll(async () => {
  await gw.stop();
  await removeDir(gw.dir);
});

const MARCH = 'from=2026-03-01&to=2026-04-01';

describe('stats', () => {
  it('per product, net of reversals, over a month', async () => {
    const res = await admin(`/products/stats?${MARCH}`);
    expect(res.body).toEqual({
      from: '2026-03-01',
      to: '2026-04-01',
      cashRegisterName: null,
      currency: 'EUR',
      total: 2,
      items: [
        { product: '101', name: 'Coffee', quantity: 1, gross: 2.2, net: 2, vat: 0.2, costPrice: 0, margin: 2, saleCount: 2, reversalCount: 1 },
        { product: '201', name: 'Cake', quantity: 0.5, gross: 1.8, net: 1.64, vat: 0.16, costPrice: 0.6, margin: 1.04, saleCount: 2, reversalCount: 1 },
      ],
    });
    const tab1 = await admin(`/products/stats?${MARCH}&cashRegisterName=TAB-1`);
    expect(tab1.body.items[0]).toMatchObject({ product: '101', quantity: 0, gross: 0, saleCount: 1, reversalCount: 1 });
    expect((await admin('/products/stats')).body.items[0]).toMatchObject({ product: '101', quantity: 2, gross: 4.4 });
    expect((await admin('/products/stats?from=2026-03-02T00:00:00Z&to=2026-03-03')).body.items).toEqual([
      expect.objectContaining({ product: '101', quantity: -2, gross: -4.4, saleCount: 0, reversalCount: 1 }),
      expect.objectContaining({ product: '201', quantity: -0.5, gross: -1.8, saleCount: 1, reversalCount: 1 }),
    ]);
  });

  it('per category path, as the catalogue placed each product when it was sold', async () => {
    expect((await admin(`/categories/stats?${MARCH}`)).body.items).toEqual([
      { category: '/Drinks', quantity: 1, gross: 2.2, net: 2, vat: 0.2, costPrice: 0, margin: 2, saleCount: 2, reversalCount: 1 },
      { category: '/Food', quantity: 0.5, gross: 1.8, net: 1.64, vat: 0.16, costPrice: 0.6, margin: 1.04, saleCount: 2, reversalCount: 1 },
    ]);
    expect((await admin('/categories/stats?from=2026-04-01')).body.items).toEqual([expect.objectContaining({ category: '/Drinks', quantity: 1 })]);
  });

  it('per register, with report semantics', async () => {
    expect((await admin(`/registrations/stats?${MARCH}`)).body.items).toEqual([
      {
        cashRegisterName: 'TAB-1',
        saleCount: 2,
        refundCount: 1,
        cancelCount: 0,
        reinstatedCount: 0,
        salesTotal: 9.8,
        refundTotal: 8,
        cancelTotal: 0,
        reinstatedTotal: 0,
        changedTotal: 0,
        grossRounding: 0,
        gross: 1.8,
        net: 1.64,
        vatTotal: 0.16,
        vat: { 10: 0.16 },
        discounts: 0,
        costPrice: 0.6,
        margin: 1.04,
        payments: { cash: 1.8 },
        paymentsTotal: 1.8,
        unpaid: 0,
      },
      {
        cashRegisterName: 'TAB-2',
        saleCount: 1,
        refundCount: 0,
        cancelCount: 0,
        reinstatedCount: 0,
        salesTotal: 2.2,
        refundTotal: 0,
        cancelTotal: 0,
        reinstatedTotal: 0,
        changedTotal: 0,
        grossRounding: 0,
        gross: 2.2,
        net: 2,
        vatTotal: 0.2,
        vat: { 10: 0.2 },
        discounts: 0,
        costPrice: 0,
        margin: 2,
        payments: { cash: 2.2 },
        paymentsTotal: 2.2,
        unpaid: 0,
      },
    ]);
  });

  it('per sale received in the range', async () => {
    const res = await admin(`/sales/stats?${MARCH}`);
    expect(res.body.total).toBe(3);
    expect(res.body.items.map((s: any) => [s.identifier, s.status, s.total, s.vat, s.lines, s.dayId])).toEqual([
      ['TAB-1:1', 'refunded', 8, 0.73, 2, 'TAB-1:1'],
      ['TAB-2:2', 'completed', 2.2, 0.2, 1, 'TAB-2:1'],
      ['TAB-1:3', 'completed', 1.8, 0.16, 1, 'TAB-1:1'],
    ]);
    expect(res.body.items[0]).toMatchObject({ createdAt: '2026-03-01T10:00:00.000Z', receivedAt: '2026-03-01T10:00:00.000Z', cashRegisterName: 'TAB-1' });
    expect((await admin('/sales/stats?from=2026-03-02&to=2026-03-03')).body.items.map((s: any) => s.identifier)).toEqual(['TAB-1:3']);
    expect((await admin(`/sales/stats?${MARCH}&firstResult=1&maxResults=1`)).body).toMatchObject({ total: 3, items: [{ identifier: 'TAB-2:2' }] });
  });

  it('exports every stats list as CSV', async () => {
    const res = await gw.fetch(`/api/products/stats?${MARCH}`, { auth: adminAuth, headers: { accept: 'text/csv' } });
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="products-stats.csv"');
    expect((await res.text()).split('\r\n')).toEqual([
      'product,name,quantity,gross,net,vat,costPrice,margin,saleCount,reversalCount',
      '101,Coffee,1,2.2,2,0.2,0,2,2,1',
      '201,Cake,0.5,1.8,1.64,0.16,0.6,1.04,2,1',
      '',
    ]);
    const regs = await (await gw.fetch(`/api/registrations/stats?${MARCH}&format=csv`, { auth: adminAuth })).text();
    expect(regs.split('\r\n')[0]).toBe(
      'cashRegisterName,saleCount,refundCount,cancelCount,reinstatedCount,salesTotal,refundTotal,cancelTotal,reinstatedTotal,changedTotal,grossRounding,gross,net,vatTotal,vat.10,discounts,costPrice,margin,payments.cash,paymentsTotal,unpaid',
    );
    expect((await (await gw.fetch('/api/sales/stats?format=csv', { auth: adminAuth })).text()).split('\r\n').length).toBe(1 + 4 + 1);
    expect((await (await gw.fetch('/api/sales/stats?format=csv&maxResults=1', { auth: adminAuth })).text()).split('\r\n').length).toBe(1 + 1 + 1);
    expect(await (await gw.fetch('/api/categories/stats?format=csv', { auth: adminAuth })).text()).toContain('/Drinks,');
  });

  it('rejects ranges that are not whole UTC days, and keeps stats for admins', async () => {
    const bad = await admin('/products/stats?from=2026-03-01T12:00:00Z');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/UTC day boundary/);
    expect((await admin('/sales/stats?to=soon')).status).toBe(400);
    expect((await admin('/products/stats?format=xml')).status).toBe(400);
    expect((await gw.json('/api/products/stats', { auth: deviceAuth })).status).toBe(403);
    expect((await gw.json('/api/products', { auth: deviceAuth })).status).toBe(200);
  });

  it('gives the same answers after a restart (rebuilt from the stored sales)', async () => {
    const paths = [`/products/stats?${MARCH}`, `/categories/stats?${MARCH}`, '/registrations/stats', '/sales/stats', '/days/TAB-1:1/report'];
    const before = await Promise.all(paths.map((p) => admin(p)));
    await gw.stop();
    gw = await startTestGateway({}, gw.dir, { now: clock });
    const after = await Promise.all(paths.map((p) => admin(p)));
    for (let i = 0; i < paths.length; i++) expect(after[i].body).toEqual(before[i].body);
  });
});
