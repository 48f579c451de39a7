import { describe, expect, it } from 'vitest';
import { adminAuth, deviceAuth, invoice, startTestGateway, useTestGateway } from '../helpers.js';

const t = useTestGateway();
const { admin } = t;
const push = async (invoices: unknown[], auth = deviceAuth) => {
  const res = await t.gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }), auth });
  expect(res.status).toBe(200);
};
const close = (register = 'TAB-1', query = '') => admin(`/days/current?cashRegisterName=${register}${query}`, 'POST');
const apiSale = (id: string, extra: Record<string, unknown> = {}) => ({
  identifier: `TAB-1:${id}`,
  cashRegisterName: 'TAB-1',
  createdAt: '2026-11-23T10:00:00.000Z',
  lines: [{ product: '72', name: 'Latte', quantity: 1, total: 3.5, vat: 0.32 }],
  payments: [{ method: 'card', code: '2', amount: 3.5 }],
  total: 3.5,
  vat: 0.32,
  ...extra,
});

describe('closing a day', () => {
  it('refuses when there is nothing to close, names the register, and needs the register', async () => {
    expect((await admin('/days/current', 'POST')).body.error.code).toBe('bad_request');
    expect((await close('NOPE')).status).toBe(404);
    const none = await close();
    expect(none.status).toBe(422);
    expect(none.body.error.code).toBe('day_is_not_open');
  });

  it('closes once when two closes race, and a plain retry is a clear 422', async () => {
    await push([invoice(1, [{ productId: 'a', qty: 1, total: 2 }])]);
    const [a, b] = await Promise.all([close(), close()]);
    expect([a.status, b.status].sort()).toEqual([201, 422]);
    expect((await admin('/days')).body).toMatchObject({ total: 1, items: [{ dayId: 'TAB-1:1', status: 'closed', saleCount: 1, gross: 2 }] });
  });

  it('is idempotent with ?dayId=: a retry answers the same Z report and never closes the next day', async () => {
    await push([invoice(1, [{ productId: 'a', qty: 1, total: 2 }])]);
    const first = await close('TAB-1', '&dayId=TAB-1:1');
    expect(first.status).toBe(201);
    expect(first.headers.get('location')).toBe('days/TAB-1%3A1/report');
    await push([invoice(2, [{ productId: 'a', qty: 1, total: 3 }])]);
    const retry = await close('TAB-1', '&dayId=TAB-1:1');
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect((await admin('/days/current?cashRegisterName=TAB-1')).body).toMatchObject({ dayId: 'TAB-1:2', status: 'open', gross: 3 });
    expect((await admin('/days/current/report?cashRegisterName=TAB-1')).body).toMatchObject({ type: 'X', dayId: 'TAB-1:2', gross: 3 });
    expect((await admin('/days/current/report')).status).toBe(400);
    expect((await close('TAB-1', '&dayId=TAB-1:7')).body.error.code).toBe('day_is_not_open');
    expect((await close('TAB-1', '&dayId=TAB-2:2')).status).toBe(400);
    expect((await close('TAB-1', '&dayId=TAB-1:2')).status).toBe(201);
    expect((await admin('/days/current?cashRegisterName=TAB-1')).status).toBe(404);
  });

  it('numbers days per register and lists them with filters', async () => {
    await push([invoice(1, [{ productId: 'a', qty: 1, total: 2 }])]);
    await close();
    await push([invoice(2, [{ productId: 'a', qty: 1, total: 3 }])]);
    await admin('/registrations/TAB-2/balance', 'POST', { action: 'deposit', amount: 10 });
    const all = await admin('/days');
    expect(all.body.items.map((d: any) => `${d.dayId}:${d.status}`)).toEqual(['TAB-1:1:closed', 'TAB-1:2:open', 'TAB-2:1:open']);
    expect((await admin('/days?cashRegisterName=TAB-2')).body.total).toBe(1);
    expect((await admin('/days?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z')).body.total).toBe(0);
    expect((await admin('/days/TAB-1:1')).body).toMatchObject({ status: 'closed', gross: 2 });
    expect((await admin('/days/TAB-1:9/report')).status).toBe(404);
    expect((await admin('/days/garbage/report')).status).toBe(404);
    const csv = await t.gw.fetch('/api/days?format=csv', { auth: adminAuth });
    expect((await csv.text()).split('\r\n')[0]).toBe('dayId,cashRegisterName,dayNo,status,openedAt,closedAt,saleCount,refundCount,cancelCount,gross');
  });
});

describe('immutability through the API', () => {
  it('refuses changes to a printed sale (422 receipt_is_printed_already), accepts an identical re-post', async () => {
    expect((await admin('/sales', 'POST', apiSale('w1'))).status).toBe(201);
    expect((await admin('/sales/TAB-1:w1/receipt', 'POST')).status).toBe(200);
    const refused = await admin('/sales/TAB-1:w1', 'PUT', apiSale('w1', { status: 'refunded' }));
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('receipt_is_printed_already');
    expect((await admin('/sales/TAB-1:w1', 'PUT', apiSale('w1'))).status).toBe(200);
    expect((await admin('/sales/TAB-1:w1')).body).toMatchObject({ status: 'completed', receiptPrintedAt: expect.any(String), version: 2 });
  });

  it('refuses changes to a sale of a closed day (422 day_is_closed) but always records a TabShop refund, in the current day', async () => {
    expect((await admin('/sales', 'POST', apiSale('w2'))).status).toBe(201);
    await push([invoice(5, [{ productId: 'a', qty: 1, total: 4 }])]);
    await admin('/sales/TAB-1:5/receipt', 'POST');
    await close();
    const refused = await admin('/sales/TAB-1:w2', 'PUT', apiSale('w2', { status: 'cancelled' }));
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('day_is_closed');
    await push([invoice(5, [{ productId: 'a', qty: 1, total: 4 }], { checkoutStatus: '11' })]);
    expect((await admin('/sales/TAB-1:5')).body).toMatchObject({ status: 'refunded', dayId: 'TAB-1:1' });
    expect((await admin('/days/TAB-1:2/report')).body).toMatchObject({ saleCount: 0, refundCount: 1, gross: -4 });
    expect((await admin('/days/TAB-1:1/report')).body).toMatchObject({ saleCount: 2, refundCount: 0, gross: 7.5 });
  });
});

describe('receipts', () => {
  it('gives the receipt as JSON and 40-column text, marks it printed once, then gives copies', async () => {
    await admin('/taxes/1', 'PUT', { name: 'Reduced', vat: 10 });
    await admin('/products/18', 'PUT', { name: 'Cheese Burger', price: 3.99, tax: '1' });
    await push([
      {
        id: 201409200100001,
        date: '1411219491162',
        checkoutType: '0',
        checkoutStatus: '10',
        total: 6.38,
        tax: 0.58,
        discount: 1.58,
        costPrice: 3,
        givenCash: 10,
        returnedCash: 3.62,
        customer: { name: 'Ada Lovelace', address: '', email: '' },
        positions: [
          {
            productId: '18',
            productName: 'Cheese Burger',
            posTitle: 'Cheese Burger',
            qty: 1,
            subtotal: 3.99,
            discount: 0.79,
            total: 3.19,
            tax: 0.29,
            costPrice: 1.5,
          },
          {
            productId: '24',
            productName: 'A burger with a very long name indeed, too long',
            posTitle: 'A burger with a very long name indeed, too long',
            qty: 1,
            subtotal: 3.99,
            discount: 0.79,
            total: 3.19,
            tax: 0.29,
            costPrice: 1.5,
          },
        ],
      },
    ]);
    const json = await admin('/sales/TAB-1:201409200100001/receipt');
    expect(json.body).toMatchObject({
      receiptNumber: '201409200100001',
      dayId: 'TAB-1:1',
      copy: false,
      printedAt: null,
      total: 6.38,
      discount: 1.58,
      vatTotal: 0.58,
      vat: [{ rate: '10', gross: 6.38, net: 5.8, vat: 0.58 }],
      lines: [{ name: 'Cheese Burger', unitPrice: 3.99, total: 3.19, vatRate: '10' }, { vatRate: '10' }],
      payments: [{ method: 'cash', amount: 6.38, given: 10, returned: 3.62 }],
    });
    const printed = await t.gw.fetch('/api/sales/TAB-1:201409200100001/receipt', { method: 'POST', auth: adminAuth, headers: { accept: 'text/plain' } });
    expect(printed.status).toBe(200);
    const text = await printed.text();
    const rows = text.split('\n');
    expect(rows.every((l) => [...l].length <= 40)).toBe(true);
    expect(rows).toContain('Cheese Burger                       3.19');
    expect(text).toMatch(/TOTAL +EUR 6\.38/);
    expect(text).toMatch(/Change +3\.62/);
    expect(text).not.toContain('COPY');
    const again = await admin('/sales/TAB-1:201409200100001/receipt', 'POST');
    expect(again.status).toBe(422);
    expect(again.body.error.code).toBe('receipt_is_printed_already');
    const copy = await t.gw.fetch('/api/sales/TAB-1:201409200100001/receipt?format=text', { auth: adminAuth });
    expect(await copy.text()).toContain('*** COPY ***');
    expect((await admin('/sales/TAB-1:nope/receipt')).status).toBe(404);
    expect((await t.gw.json('/api/sales/TAB-1:201409200100001/receipt', { method: 'POST', auth: deviceAuth })).status).toBe(403);
  });
});

describe('registrations and cash balance', () => {
  it('lists configured registers and those seen in sales, with devices, presence and a per-register version', async () => {
    await t.gw.fetch('/stock');
    await push([invoice(1, [{ productId: 'a', qty: 1, total: 2 }])]);
    await push([invoice(1, [{ productId: 'a', qty: 1, total: 2 }], { checkoutStatus: '11' })]);
    expect((await admin('/sales', 'POST', { ...apiSale('x'), identifier: 'WEB:1', cashRegisterName: 'WEB' })).status).toBe(201);
    await admin('/registrations/TAB-1/balance', 'POST', { action: 'deposit', amount: 20, note: 'float' });
    await close();
    const list = await admin('/registrations');
    expect(list.body.total).toBe(3);
    const [tab1, tab2, web] = list.body.items;
    expect(tab1).toMatchObject({
      cashRegisterName: 'TAB-1',
      configured: true,
      version: 4,
      currentDayId: null,
      lastClosedDayId: 'TAB-1:1',
      lastPushAt: expect.any(String),
      lastSeenAt: expect.any(String),
      devices: [{ username: 'tablet-1', configured: true, lastPushAt: expect.any(String), lastSeenAt: expect.any(String) }],
    });
    expect(tab2).toMatchObject({ cashRegisterName: 'TAB-2', version: 0, lastPushAt: null, devices: [{ username: 'tablet-2', lastSeenAt: null }] });
    expect(web).toMatchObject({
      cashRegisterName: 'WEB',
      configured: false,
      version: 1,
      currentDayId: 'WEB:1',
      devices: [{ username: 'admin', configured: false }],
    });
    const version = await admin('/registrations/TAB-1/version');
    expect(version.body).toEqual({ cashRegisterName: 'TAB-1', version: 4 });
    expect(version.headers.get('etag')).toBe('"4"');
    expect((await admin('/registrations/NOPE/version')).status).toBe(404);
    expect((await t.gw.json('/api/registrations', { auth: deviceAuth })).status).toBe(403);

    const lastPushAt = tab1.lastPushAt;
    await t.gw.stop();
    t.gw = await startTestGateway({}, t.gw.dir);
    expect((await admin('/registrations/TAB-1')).body).toMatchObject({ version: 4, lastPushAt, lastClosedDayId: 'TAB-1:1' });
  });

  it('records deposits and withdrawals in the open day and carries the drawer to the next day', async () => {
    const empty = await admin('/registrations/TAB-2/balance');
    expect(empty.body).toEqual({
      cashRegisterName: 'TAB-2',
      dayId: null,
      opening: 0,
      deposits: 0,
      withdrawals: 0,
      cashPayments: 0,
      expectedCash: 0,
      movements: [],
    });
    for (const bad of [{ action: 'steal', amount: 1 }, { action: 'deposit', amount: -1 }, { action: 'deposit' }, { action: 'deposit', amount: 1, extra: 1 }]) {
      expect((await admin('/registrations/TAB-2/balance', 'POST', bad)).status).toBe(400);
    }
    expect((await admin('/registrations/NOPE/balance', 'POST', { action: 'deposit', amount: 1 })).status).toBe(404);
    const dep = await admin('/registrations/TAB-2/balance', 'POST', { action: 'deposit', amount: 100.05, note: 'float' });
    expect(dep.body.movement).toMatchObject({ id: 'TAB-2:1', dayId: 'TAB-2:1', action: 'deposit', amount: 100.05, note: 'float', by: 'admin' });
    await admin('/registrations/TAB-2/balance', 'POST', { action: 'withdraw', amount: 30 });
    expect((await admin('/registrations/TAB-2/balance')).body).toMatchObject({
      dayId: 'TAB-2:1',
      opening: 0,
      deposits: 100.05,
      withdrawals: 30,
      expectedCash: 70.05,
    });
    expect((await close('TAB-2')).body).toMatchObject({ saleCount: 0, gross: 0, balance: { expectedCash: 70.05 } });
    expect((await admin('/registrations/TAB-2/balance')).body).toMatchObject({ dayId: null, opening: 70.05, expectedCash: 70.05 });
    await admin('/registrations/TAB-2/balance', 'POST', { action: 'withdraw', amount: 70.05, note: 'bank' });
    expect((await admin('/registrations/TAB-2/balance')).body).toMatchObject({ dayId: 'TAB-2:2', opening: 70.05, expectedCash: 0 });
  });
});
