import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, basic, removeDir, startTestGateway, type TestGateway } from '../helpers.js';

/**
 * Issue 4 acceptance, as a merchant at closing time: two tablets on one register push a day of
 * sales, a float is deposited, a sale refunded; X report; close; Z report (hand count per VAT rate
 * and payment method); a late refund lands in the next day and the Z report stays as it was; the
 * two change feeds, followed from 0, rebuild the gateway's articles and sales exactly.
 */
const T1 = { username: 'till-1', password: 'pw-till-1', cashRegister: 'SHOP' };
const T2 = { username: 'till-2', password: 'pw-till-2', cashRegister: 'SHOP' };
const BAR = { username: 'bar-1', password: 'pw-bar-1', cashRegister: 'BAR' };
const t1 = basic(T1.username, T1.password);
const t2 = basic(T2.username, T2.password);
const bar = basic(BAR.username, BAR.password);

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ devices: [T1, T2, BAR], admins: [{ username: 'admin', password: 'pw-admin' }] });
});
afterAll(async () => {
  await gw.stop();
  await removeDir(gw.dir);
});

const admin = (path: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}) =>
  gw.json(`/api${path}`, { method, body, auth: adminAuth, headers });

let clock = Date.parse('2026-11-23T09:00:00Z');
function inv(
  id: string,
  positions: { productId: string; name: string; qty: number; total: number; tax: number; costPrice?: number }[],
  extra: Record<string, unknown> = {},
) {
  clock += 60_000;
  const total = positions.reduce((s, p) => s + Math.round(p.total * 100), 0) / 100;
  const tax = positions.reduce((s, p) => s + Math.round(p.tax * 100), 0) / 100;
  const costPrice = positions.reduce((s, p) => s + Math.round((p.costPrice ?? 0) * 100), 0) / 100;
  return {
    id,
    date: String(clock),
    checkoutType: '0',
    checkoutStatus: '10',
    total,
    tax,
    discount: 0,
    costPrice,
    customer: { name: '', address: '', email: '' },
    positions: positions.map((p) => ({
      productId: p.productId,
      productName: p.name,
      posTitle: p.name,
      qty: p.qty,
      subtotal: p.total,
      discount: 0,
      total: p.total,
      tax: p.tax,
      costPrice: p.costPrice ?? 0,
    })),
    ...extra,
  };
}

async function push(auth: string, invoices: unknown[]) {
  const res = await gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }), auth });
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('true');
}

describe('closing time', () => {
  const sale1 = inv('202611230100001', [{ productId: '101', name: 'Coffee', qty: 2, total: 4.4, tax: 0.4, costPrice: 1 }], { givenCash: 5, returnedCash: 0.6 });
  const sale2 = inv(
    '202611230100002',
    [
      { productId: '201', name: 'Cake', qty: 1, total: 3.6, tax: 0.6, costPrice: 1.2 },
      { productId: '101', name: 'Coffee', qty: 1, total: 2.2, tax: 0.2, costPrice: 0.5 },
    ],
    { checkoutType: '2' },
  );
  const sale3 = inv('202611230200001', [{ productId: '201', name: 'Cake', qty: 1, total: 3.6, tax: 0.6, costPrice: 1.2 }]);
  const sale4 = inv('202611230200002', [{ productId: '900', name: 'Gift box', qty: 1, total: 5.5, tax: 0.5 }], { checkoutType: '1' });
  let z: any;

  it('keeps articles for the shop', async () => {
    for (const [path, body] of [
      ['/taxes/1', { name: 'Reduced', vat: 10 }],
      ['/taxes/2', { name: 'Standard', vat: 20 }],
      ['/categories/drinks', { name: 'Drinks' }],
      ['/categories/food', { name: 'Food' }],
      ['/products/101', { name: 'Coffee', price: 2.2, tax: '1', costPrice: 0.5 }],
      ['/products/201', { name: 'Cake', price: 3.6, tax: '2', costPrice: 1.2 }],
      ['/commodities/101.drinks', { product: '101', category: 'drinks' }],
      ['/commodities/201.food', { product: '201', category: 'food' }],
    ] as const)
      expect((await admin(path, 'PUT', body)).status).toBe(201);
    expect((await admin('/products/201', 'PUT', { name: 'Cheesecake', price: 3.6, tax: '2', costPrice: 1.2 })).status).toBe(200);
  });

  it('deposits a float, takes a day of sales from two tablets, refunds one, and shows the X report', async () => {
    const float = await admin('/registrations/SHOP/balance', 'POST', { action: 'deposit', amount: 100, note: 'float' });
    expect(float.status).toBe(201);
    expect(float.body.balance).toMatchObject({ dayId: 'SHOP:1', deposits: 100, expectedCash: 100 });
    await push(t1, [sale1, sale2]);
    await push(t2, [sale3, sale4]);
    await push(bar, [inv('202611230300001', [{ productId: '101', name: 'Coffee', qty: 1, total: 2.2, tax: 0.2 }])]);
    await push(t2, [{ ...sale3, checkoutStatus: '11' }]);

    const x = await admin('/days/SHOP:1/report');
    expect(x.status).toBe(200);
    expect(x.body).toMatchObject({
      type: 'X',
      dayId: 'SHOP:1',
      cashRegisterName: 'SHOP',
      dayNo: 1,
      closedAt: null,
      currency: 'EUR',
      saleCount: 4,
      refundCount: 1,
      cancelCount: 0,
      refundTotal: 3.6,
      gross: 15.7,
      vat: { 10: 1.1, 20: 0.6 },
      vatTotal: 1.7,
      net: 14,
      discounts: 0,
      costPrice: 2.7,
      margin: 11.3,
      payments: { cash: 4.4, card: 5.8, credit_card: 5.5 },
      balance: { opening: 0, deposits: 100, withdrawals: 0, cashPayments: 4.4, expectedCash: 104.4 },
      grandTotal: 15.7,
    });
    expect(x.body.payments).toEqual({ cash: 4.4, card: 5.8, credit_card: 5.5 });
    expect((await admin('/days/BAR:1/report')).body).toMatchObject({ saleCount: 1, gross: 2.2, payments: { cash: 2.2 } });
  });

  it('closes the day: the Z report is the hand count, and stays so', async () => {
    expect((await admin('/registrations/SHOP/balance', 'POST', { action: 'withdraw', amount: 50, note: 'bank' })).body.balance.expectedCash).toBe(54.4);
    const closed = await admin('/days/current?cashRegisterName=SHOP', 'POST');
    expect(closed.status).toBe(201);
    z = closed.body;
    expect(z).toMatchObject({
      type: 'Z',
      dayId: 'SHOP:1',
      saleCount: 4,
      refundCount: 1,
      gross: 15.7,
      vat: { 10: 1.1, 20: 0.6 },
      net: 14,
      vatRates: [
        { rate: '10', gross: 12.1, net: 11, vat: 1.1 },
        { rate: '20', gross: 3.6, net: 3, vat: 0.6 },
      ],
      payments: { cash: 4.4, card: 5.8, credit_card: 5.5 },
      balance: { opening: 0, deposits: 100, withdrawals: 50, cashPayments: 4.4, expectedCash: 54.4 },
      grandTotal: 15.7,
    });
    expect(z.closedAt).toEqual(expect.any(String));
    expect(z.balance.movements.map((m: any) => [m.action, m.amount, m.note])).toEqual([
      ['deposit', 100, 'float'],
      ['withdraw', 50, 'bank'],
    ]);
    expect((await admin('/days/SHOP:1/report')).body).toEqual(z);
    expect((await admin('/days?cashRegisterName=SHOP')).body.items).toEqual([expect.objectContaining({ dayId: 'SHOP:1', status: 'closed', gross: 15.7 })]);
  });

  it('puts a late refund in the next day and never changes the Z report', async () => {
    await push(t1, [{ ...sale1, checkoutStatus: '11' }]);
    expect((await admin('/days/SHOP:1/report')).body).toEqual(z);
    expect((await admin('/registrations/SHOP')).body).toMatchObject({ currentDayId: 'SHOP:2', lastClosedDayId: 'SHOP:1' });
    const next = await admin('/days/SHOP:2/report');
    expect(next.body).toMatchObject({
      type: 'X',
      saleCount: 0,
      refundCount: 1,
      refundTotal: 4.4,
      gross: -4.4,
      vat: { 10: -0.4 },
      net: -4,
      payments: { cash: -4.4 },
      balance: { opening: 54.4, cashPayments: -4.4, expectedCash: 50 },
      grandTotal: 11.3,
    });
    const stored = await admin('/sales/SHOP:202611230100001');
    expect(stored.body).toMatchObject({ status: 'refunded', dayId: 'SHOP:1' });
  });

  it('prints the Z report in 40 columns and exports it as CSV', async () => {
    const text = await gw.fetch('/api/days/SHOP:1/report', { auth: adminAuth, headers: { accept: 'text/plain' } });
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    const body = await text.text();
    expect(body).toContain('Z REPORT');
    expect(body.split('\n').every((l) => [...l].length <= 40)).toBe(true);
    expect(body).toMatch(/VAT 10% of 11\.00 +1\.10/);
    expect(body).toMatch(/Expected cash +54\.40/);
    const csv = await (await gw.fetch('/api/days/SHOP:1/report', { auth: adminAuth, headers: { accept: 'text/csv' } })).text();
    expect(csv.split('\r\n')).toEqual(expect.arrayContaining(['field,value', 'type,Z', 'vat.10,1.1', 'payments.credit_card,5.5', 'balance.expectedCash,54.4']));
  });

  it('rebuilds articles and sales exactly from /modifications and /sales-diff followed from 0', async () => {
    const articles: Record<string, Map<string, unknown>> = {
      tax: new Map(),
      category: new Map(),
      product: new Map(),
      commodity: new Map(),
      discount: new Map(),
    };
    let from = 0;
    for (let pages = 0; pages < 50; pages++) {
      const page = await admin(`/modifications?from=${from}&maxResults=3`);
      for (const m of page.body.items) {
        if (m.op === 'delete') articles[m.entity].delete(m.identifier);
        else articles[m.entity].set(m.identifier, m.data);
      }
      if (page.body.items.length === 0) break;
      from = page.body.to;
    }
    expect(from).toBe((await admin('/version')).body.version);
    for (const [entity, collection] of [
      ['tax', 'taxes'],
      ['category', 'categories'],
      ['product', 'products'],
      ['commodity', 'commodities'],
    ]) {
      const list = (await admin(`/${collection}?maxResults=1000`)).body.items;
      expect(new Map(list.map((a: any) => [a.identifier, a]))).toEqual(articles[entity]);
    }

    const sales = new Map<string, unknown>();
    let seq = 0;
    const ops: string[] = [];
    for (let pages = 0; pages < 50; pages++) {
      const page = await admin(`/sales-diff/${seq}/latest?maxResults=2`);
      for (const item of page.body.items) {
        ops.push(`${item.op}:${item.identifier}`);
        sales.set(item.identifier, item.data);
      }
      if (page.body.items.length === 0) break;
      expect(page.body.to).toBeGreaterThan(seq);
      seq = page.body.to;
    }
    // op is relative to `from`: "create" for a sale that did not exist at `from` (consumers upsert either way).
    expect(new Set(ops).size).toBe(ops.length);
    const all = (await admin('/sales?maxResults=1000')).body;
    expect(sales.size).toBe(all.total);
    expect(new Map(all.items.map((s: any) => [s.identifier, s]))).toEqual(sales);
    // Continuing from where it stopped sees exactly the next change.
    await push(t1, [{ ...sale2, checkoutStatus: '12' }]);
    const next = await admin(`/sales-diff/${seq}/latest`);
    expect(next.body.items.map((i: any) => `${i.op}:${i.identifier}:${i.data.status}`)).toEqual(['update:SHOP:202611230100002:cancelled']);
  });
});
