import { describe, expect, it } from 'vitest';
import { adminAuth, deviceAuth, invoice, useTestGateway } from '../helpers.js';

const t = useTestGateway();

const push = async (invoices: unknown[]) => {
  const res = await t.gw.fetch('/invoice', {
    method: 'POST',
    body: JSON.stringify({ invoices }),
    auth: deviceAuth,
    headers: { accept: 'application/json', 'content-type': 'application/json' },
  });
  return res.json();
};

const refundable = invoice(1, [{ productId: '18', qty: 1, total: 3 }], { total: 3 });
const cancellable = invoice(2, [{ productId: '24', qty: 3, total: 9 }], { total: 9 });
const as = (inv: object, checkoutStatus: string) => ({ ...inv, checkoutStatus });

describe('stale re-pushes change nothing', () => {
  it('a status-10 push after 11/12 is unchanged, the sale stays reversed, and its history records the ignored push', async () => {
    await push([refundable, cancellable]);
    await push([as(refundable, '11'), as(cancellable, '12')]);
    // A capture replayed a second time: the old versions come again, then the reversals.
    expect(await push([refundable, cancellable])).toEqual({ received: 2, created: 0, updated: 0, unchanged: 2, quarantined: 0 });
    expect(await push([as(refundable, '11'), as(cancellable, '12')])).toMatchObject({ unchanged: 2 });
    expect(await push([refundable])).toMatchObject({ unchanged: 1 });

    expect((await t.admin('/sales/TAB-1:1')).body).toMatchObject({ status: 'refunded', version: 2 });
    expect((await t.admin('/sales/TAB-1:2')).body).toMatchObject({ status: 'cancelled', version: 2 });
    const history = (await t.admin('/sales/TAB-1:1/history')).body;
    expect(history.changes.map((c: any) => c.status)).toEqual(['completed', 'refunded']);
    expect(history.ignored).toEqual([expect.objectContaining({ status: 'completed', count: 2, reason: expect.stringContaining('stale re-push') })]);

    const x = (await t.admin('/days/TAB-1:1/report')).body;
    expect(x).toMatchObject({
      saleCount: 2,
      refundCount: 1,
      refundTotal: 3,
      cancelCount: 1,
      cancelTotal: 9,
      reinstatedCount: 0,
      salesTotal: 12,
      gross: 0,
      payments: {},
    });
    expect(x.arithmetic.every((c: any) => c.holds)).toBe(true);
  });

  it('the API still reinstates a sale: the report prints the reinstated line and still adds up (JSON, text, CSV)', async () => {
    await push([refundable, cancellable, as(refundable, '11')]);
    const { body: current } = await t.admin('/sales/TAB-1:1');
    expect((await t.admin('/sales/TAB-1:1', 'PUT', { ...current, status: 'completed' })).status).toBe(200);
    const x = (await t.admin('/days/TAB-1:1/report')).body;
    expect(x).toMatchObject({ salesTotal: 12, refundTotal: 3, reinstatedCount: 1, reinstatedTotal: 3, gross: 12, paymentsTotal: 12, unpaid: 0 });
    expect(x.arithmetic).toContainEqual({
      figure: 'gross',
      equals: 'salesTotal - refundTotal - cancelTotal + reinstatedTotal + changedTotal + grossRounding',
      holds: true,
    });
    expect(x.arithmetic.every((c: any) => c.holds)).toBe(true);

    const text = await (await t.gw.fetch('/api/days/TAB-1:1/report?format=text', { auth: adminAuth })).text();
    expect(text).toMatch(/Sales \(2\) +12\.00\nRefunds \(1\) +-3\.00\nCancels \(0\) +0\.00\nReinstated \(1\) +3\.00\n-+\nGross +12\.00/);
    expect(text).toMatch(/ {2}Total +12\.00\n/);
    const csv = await (await t.gw.fetch('/api/days/TAB-1:1/report?format=csv', { auth: adminAuth })).text();
    expect(csv).toContain('\r\nreinstatedTotal,3\r\n');
    expect(csv).toContain('\r\narithmetic.0.figure,gross\r\n');
    expect(csv).toContain('\r\narithmetic.0.holds,true\r\n');
    expect(csv).not.toContain(',false\r\n');
  });

  it('an API sale without payments shows as unpaid, so payments + unpaid = gross', async () => {
    const res = await t.admin('/sales', 'POST', {
      cashRegisterName: 'TAB-1',
      createdAt: '2026-11-23T10:00:00Z',
      lines: [{ product: '18', quantity: 1, total: 4.5 }],
    });
    expect(res.status).toBe(201);
    const x = (await t.admin('/days/TAB-1:1/report')).body;
    expect(x).toMatchObject({ gross: 4.5, paymentsTotal: 0, unpaid: 4.5 });
    expect(x.arithmetic.every((c: any) => c.holds)).toBe(true);
    const text = await (await t.gw.fetch('/api/days/TAB-1:1/report?format=text', { auth: adminAuth })).text();
    expect(text).toMatch(/Unpaid \(gross - payments\) +4\.50/);
  });
});
