import { describe, expect, it } from 'vitest';
import { adminAuth, deviceAuth, invoice, startTestGateway, removeDir, useTestGateway } from '../helpers.js';

const t = useTestGateway({ store: { dataDir: './data', seedDemo: true } });

const push = async (invoices: unknown[]) => {
  const res = await t.gw.fetch('/invoice', {
    method: 'POST',
    body: JSON.stringify({ invoices }),
    auth: deviceAuth,
    headers: { accept: 'application/json', 'content-type': 'application/json' },
  });
  return res.json();
};

const sale = (id: number, date = '1763900000000', extra: Record<string, unknown> = {}) =>
  invoice(id, [{ productId: '18', qty: 1, total: 3.5 }], { date, ...extra });

async function onlyOpenItem() {
  const list = await t.admin('/quarantine');
  expect(list.body.total).toBe(1);
  return list.body.items[0];
}

describe('quarantine lifecycle', () => {
  it('lists open items by default, each with its state, and counts the state asked for', async () => {
    await push([sale(1, '5000'), sale(2, '6000')]);
    const open = await t.admin('/quarantine');
    expect(open.body.total).toBe(2);
    expect(open.body.items.map((q: any) => [q.state, q.count, q.code])).toEqual([
      ['open', 1, 'invalid_invoice'],
      ['open', 1, 'invalid_invoice'],
    ]);
    for (const state of ['released', 'dismissed']) expect((await t.admin(`/quarantine?state=${state}`)).body).toEqual({ items: [], total: 0 });
    expect((await t.admin('/quarantine?state=all')).body.total).toBe(2);
    const bad = await t.admin('/quarantine?state=closed');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([{ field: 'state', message: 'invalid' }]);
  });

  it('stores identical items once, with a counter, and keeps their state', async () => {
    await push([sale(1, '5000')]);
    await push([sale(1, '5000')]);
    await push([sale(1, '5000')]);
    const item = await onlyOpenItem();
    expect(item.count).toBe(3);
    expect(item.lastAt).toBeTypeOf('string');
    await t.admin(`/quarantine/${item.id}/dismiss`, 'POST', { reason: 'test tablet' });
    await push([sale(1, '5000')]);
    const again = await t.admin(`/quarantine/${item.id}`);
    expect(again.body).toMatchObject({ state: 'dismissed', count: 4 });
    expect((await t.admin('/quarantine?state=all')).body.total).toBe(1);
  });

  it('releases with {"date": "received"}: a sale received now, in the open day, with source.quarantineId', async () => {
    await push([sale(7, '5000')]);
    const item = await onlyOpenItem();
    const res = await t.admin(`/quarantine/${item.id}/release`, 'POST', { date: 'received' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ outcome: 'created', sale: 'TAB-1:7', reason: null });
    const stored = (await t.admin('/sales/TAB-1:7')).body;
    expect(stored.createdAt).toBe(item.at);
    expect(stored.source.quarantineId).toBe(item.id);
    expect(stored.dayId).toBe('TAB-1:1');
    expect((await t.admin('/days/TAB-1:1/report')).body).toMatchObject({ saleCount: 1, gross: 3.5 });
    const released = (await t.admin(`/quarantine/${item.id}`)).body;
    expect(released).toMatchObject({ state: 'released', resolvedBy: 'admin', resolution: 'created', sale: 'TAB-1:7' });
    expect(released.payload).toEqual(sale(7, '5000'));
    expect((await t.admin('/quarantine')).body.total).toBe(0);
    expect((await t.admin('/quarantine?state=released')).body.total).toBe(1);
  });

  it('releases as is after the rule is met (no body), or answers 422 and keeps the item open with the new reason', async () => {
    await push([sale(8, '5000')]);
    const item = await onlyOpenItem();
    const res = await t.admin(`/quarantine/${item.id}/release`, 'POST');
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ outcome: 'quarantined', sale: null, error: { code: 'quarantined_again' } });
    expect(res.body.reason).toContain('/date');
    expect((await t.admin(`/quarantine/${item.id}`)).body.state).toBe('open');
    const empty = await t.admin(`/quarantine/${item.id}/release`, 'POST', {});
    expect(empty.status).toBe(422);
  });

  it('keeps both sales of a POS-id collision: release the second with a new id', async () => {
    await push([sale(9)]);
    await push([sale(9, '1763900999000')]);
    const item = await onlyOpenItem();
    expect(item.code).toBe('collision');
    const again = await t.admin(`/quarantine/${item.id}/release`, 'POST', {});
    expect(again.status).toBe(422);
    expect(again.body.reason).toContain('already stored');
    const corrected = { ...item.payload, id: 90009 };
    const res = await t.admin(`/quarantine/${item.id}/release`, 'POST', { invoice: corrected });
    expect(res.body).toEqual({ outcome: 'created', sale: 'TAB-1:90009', reason: null });
    expect((await t.admin('/sales?cashRegisterName=TAB-1')).body.total).toBe(2);
    const conflict = await t.admin(`/quarantine/${item.id}/release`, 'POST', { invoice: corrected });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('not_open');
  });

  it('answers 400 naming the field for a body that is not an invoice, an unknown key, or a wrong date', async () => {
    await push([sale(10, '5000')]);
    const item = await onlyOpenItem();
    const notInvoice = await t.admin(`/quarantine/${item.id}/release`, 'POST', { invoice: { id: 1, positions: 'none' } });
    expect(notInvoice.status).toBe(400);
    expect(notInvoice.body.error.details.map((d: any) => d.field)).toContain('/invoice/positions');
    const unknown = await t.admin(`/quarantine/${item.id}/release`, 'POST', { invoce: {} });
    expect(unknown.body.error.details).toEqual([{ field: '/invoce', message: 'unknown key' }]);
    const date = await t.admin(`/quarantine/${item.id}/release`, 'POST', { date: 'now' });
    expect(date.body.error.details).toEqual([{ field: '/date', message: 'must be "received"' }]);
    const badSale = await t.admin(`/quarantine/${item.id}/release`, 'POST', { sale: { cashRegisterName: 'TAB-1' } });
    expect(badSale.status).toBe(400);
    expect(badSale.body.error.details[0].field).toMatch(/^\/sale\//);
    expect((await t.admin(`/quarantine/${item.id}`)).body.state).toBe('open');
  });

  it('releases with {"sale": …} as an API sale', async () => {
    await push([sale(11, '5000')]);
    const item = await onlyOpenItem();
    const res = await t.admin(`/quarantine/${item.id}/release`, 'POST', {
      sale: {
        identifier: 'TAB-1:11',
        cashRegisterName: 'TAB-1',
        createdAt: '2026-11-23T10:00:00Z',
        lines: [{ product: '18', quantity: 1, total: 3.5 }],
        payments: [{ method: 'cash', code: '0', amount: 3.5 }],
      },
    });
    expect(res.body).toEqual({ outcome: 'created', sale: 'TAB-1:11', reason: null });
    expect((await t.admin('/sales/TAB-1:11')).body.source).toMatchObject({ kind: 'api', quarantineId: item.id });
  });

  it('a {"sale": …} release whose total summed from its lines is beyond 1e12 is quarantined again (422), nothing stored', async () => {
    await push([sale(13, '5000')]);
    const item = await onlyOpenItem();
    const lines = [
      { product: '18', quantity: 1, total: 9e11 },
      { product: '19', quantity: 1, total: 9e11 },
    ];
    const res = await t.admin(`/quarantine/${item.id}/release`, 'POST', {
      sale: {
        identifier: 'TAB-1:13',
        cashRegisterName: 'TAB-1',
        createdAt: '2026-11-23T10:00:00Z',
        lines,
        payments: [{ method: 'cash', code: '0', amount: 1 }],
      },
    });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ outcome: 'quarantined', sale: null });
    expect(res.body.reason).toMatch(/invalid amounts/);
    expect((await t.admin('/sales/TAB-1:13')).status).toBe(404);
    expect((await t.admin(`/quarantine/${item.id}`)).body.state).toBe('open');
  });

  it('dismisses with a required reason; 409 not_open afterwards, 404 for an unknown id', async () => {
    await push([sale(12, '5000')]);
    const item = await onlyOpenItem();
    for (const body of [undefined, {}, { reason: '  ' }, { reason: 3 }]) {
      const res = await t.admin(`/quarantine/${item.id}/dismiss`, 'POST', body);
      expect(res.status).toBe(400);
    }
    const res = await t.admin(`/quarantine/${item.id}/dismiss`, 'POST', { reason: 'test sale from training' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: 'dismissed', resolution: 'test sale from training', resolvedBy: 'admin' });
    expect(res.body.payload).toEqual(sale(12, '5000'));
    expect((await t.admin(`/quarantine/${item.id}/dismiss`, 'POST', { reason: 'again' })).body.error.code).toBe('not_open');
    expect((await t.admin(`/quarantine/${item.id}/release`, 'POST')).status).toBe(409);
    expect((await t.admin('/quarantine?state=dismissed')).body.items.map((q: any) => q.id)).toEqual([item.id]);
    for (const action of ['release', 'dismiss']) {
      const missing = await t.admin(`/quarantine/q-nope/${action}`, 'POST', action === 'dismiss' ? { reason: 'x' } : undefined);
      expect(missing.status).toBe(404);
    }
  });

  it('is admin only', async () => {
    await push([sale(13, '5000')]);
    const item = await onlyOpenItem();
    const res = await t.gw.json(`/api/quarantine/${item.id}/dismiss`, { method: 'POST', body: { reason: 'x' }, auth: deviceAuth });
    expect(res.status).toBe(403);
  });
});

describe('quarantine states across a restart', () => {
  it('keeps states, resolutions and counters', async () => {
    const first = await startTestGateway({ store: { dataDir: './data', seedDemo: true } });
    const pushTo = (invoices: unknown[]) => first.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }) });
    await pushTo([sale(20, '5000'), sale(21, '6000')]);
    await pushTo([sale(20, '5000')]);
    const list = (await first.json('/api/quarantine', { auth: adminAuth })).body.items;
    const a = list.find((q: any) => q.invoiceId === '20');
    const b = list.find((q: any) => q.invoiceId === '21');
    await first.json(`/api/quarantine/${a.id}/release`, { method: 'POST', body: { date: 'received' }, auth: adminAuth });
    await first.json(`/api/quarantine/${b.id}/dismiss`, { method: 'POST', body: { reason: 'duplicate' }, auth: adminAuth });
    await first.stop();
    const second = await startTestGateway({ store: { dataDir: './data', seedDemo: true } }, first.dir);
    try {
      const all = (await second.json('/api/quarantine?state=all', { auth: adminAuth })).body.items;
      const byId = Object.fromEntries(all.map((q: any) => [q.id, [q.state, q.count]]));
      expect(byId).toEqual({ [a.id]: ['released', 2], [b.id]: ['dismissed', 1] });
      expect((await second.json('/api/quarantine', { auth: adminAuth })).body.total).toBe(0);
    } finally {
      await second.stop();
      await removeDir(first.dir);
    }
  });
});
