import { describe, expect, it } from 'vitest';
import { adminAuth, invoice, startTestGateway, useTestGateway } from '../helpers.js';

const t = useTestGateway();
const { admin } = t;
const HUGE = 1e308;

async function push(invoices: unknown[]) {
  const res = await t.gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }), headers: { accept: 'application/json' } });
  expect(res.status).toBe(200);
  return res.json();
}
const quarantineReasons = async () => (await admin('/quarantine')).body.items.map((q: { reason: string }) => q.reason);
/** Every figure a report shows is a number: JSON has no Infinity, an overflow shows as null. */
const noNulls = (body: unknown) => expect(JSON.stringify(body).replace(/"(closedAt|dayId)":null/g, '')).not.toMatch(/null/);

describe('amounts beyond ±1e12 in a push', () => {
  it('quarantines an invoice whose positions sum beyond the limit, naming the field; the gateway keeps working and restarts', async () => {
    const { total: _omitted, ...noTotal } = invoice(1, [
      { productId: 'a', qty: 1, total: HUGE },
      { productId: 'b', qty: 1, total: HUGE },
    ]);
    expect(await push([noTotal, invoice(2, [{ productId: 'a', qty: 1, total: 2 }])])).toMatchObject({ created: 1, quarantined: 1 });
    expect(await quarantineReasons()).toEqual([expect.stringMatching(/\/positions\/0\/total must be a number of magnitude at most 1e\+12/)]);
    expect((await t.gw.fetch('/status', { auth: adminAuth })).status).toBe(200);
    await t.gw.stop();
    const restarted = await startTestGateway({}, t.gw.dir);
    t.gw = restarted;
    expect((await admin('/sales')).body.total).toBe(1);
  });

  it('quarantines a total summed from positions each within the limit when the sum is not', async () => {
    const { total: _omitted, ...noTotal } = invoice(1, [
      { productId: 'a', qty: 1, total: 9e11 },
      { productId: 'b', qty: 1, total: 9e11 },
    ]);
    expect(await push([noTotal])).toMatchObject({ created: 0, quarantined: 1 });
    expect(await quarantineReasons()).toEqual([
      expect.stringMatching(/^invalid invoice: \/total must be a number of magnitude at most 1e\+12, got 1800000000000/),
    ]);
  });

  it('keeps the X report, its text and stats numeric: invoices of 1e308 are quarantined', async () => {
    expect(await push([invoice(1, [{ productId: 'a', qty: 1, total: HUGE }]), invoice(2, [{ productId: 'a', qty: '1', total: String(HUGE) }])])).toMatchObject({
      quarantined: 2,
    });
    await push([invoice(3, [{ productId: 'a', qty: 1, total: 2 }])]);
    const x = await admin('/days/current/report?cashRegisterName=TAB-1');
    expect(x.status).toBe(200);
    noNulls(x.body);
    expect((await t.gw.fetch('/api/days/current/report?cashRegisterName=TAB-1', { auth: adminAuth, headers: { accept: 'text/plain' } })).status).toBe(200);
    expect((await admin('/sales/stats')).status).toBe(200);
  });

  it('quarantines qty 1e308 on a tracked product: GET stock keeps answering, also after a restart', async () => {
    expect((await admin('/products/a', 'PUT', { name: 'A', price: 2 })).status).toBe(201);
    expect((await admin('/stock/a', 'PUT', { quantity: 10 })).status).toBe(200);
    expect(await push([invoice(1, [{ productId: 'a', qty: HUGE, total: 2 }])])).toMatchObject({ quarantined: 1 });
    expect(await quarantineReasons()).toEqual([expect.stringMatching(/\/positions\/0\/qty must be/)]);
    const stock = await t.gw.json('/stock');
    expect(stock.status).toBe(200);
    expect(stock.body.products[0]).toMatchObject({ id: 'a', stockqty: 10 });
  });
});

describe('amounts beyond ±1e12 through the API: 400 invalid_value, nothing stored', () => {
  const sale = (line: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    cashRegisterName: 'TAB-1',
    createdAt: '2026-11-23T10:00:00.000Z',
    lines: [{ product: 'a', quantity: 1, total: 2, ...line }],
    ...extra,
  });

  it.each([
    ['a product price', '/products/p', 'PUT', { name: 'P', price: HUGE }],
    ['a product cost price', '/products/p', 'PUT', { name: 'P', price: 1, costPrice: -HUGE }],
    ['a stock level', '/stock/a', 'PUT', { quantity: HUGE }],
    ['a stock delta', '/stock/a/adjustments', 'POST', { delta: 2e12 }],
    ['a cash deposit', '/registrations/TAB-1/balance', 'POST', { action: 'deposit', amount: HUGE }],
    ['a sale line quantity', '/sales', 'POST', sale({ quantity: HUGE })],
    ['a sale payment', '/sales', 'POST', sale({}, { payments: [{ method: 'cash', amount: HUGE }] })],
    [
      'a sale total summed from its lines',
      '/sales',
      'POST',
      sale(
        { total: 9e11 },
        {
          lines: [
            { product: 'a', quantity: 1, total: 9e11 },
            { product: 'b', quantity: 1, total: 9e11 },
          ],
        },
      ),
    ],
  ])('%s', async (_what, path, method, body) => {
    await admin('/products/a', 'PUT', { name: 'A', price: 2 });
    const res = await admin(path, method, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_value');
    expect(res.body.error.message).toMatch(/magnitude at most 1e\+12/);
    expect((await admin('/sales')).body.total).toBe(0);
    expect((await admin('/stock/a')).body).toMatchObject({ tracked: false });
    noNulls((await admin('/registrations/TAB-1/balance')).body);
  });

  it('accepts amounts at the limit', async () => {
    await admin('/products/a', 'PUT', { name: 'A', price: 2 });
    expect((await admin('/stock/a', 'PUT', { quantity: 1e12 })).status).toBe(200);
    expect((await admin('/sales', 'POST', sale({ total: -1e12 }))).status).toBe(201);
  });
});
