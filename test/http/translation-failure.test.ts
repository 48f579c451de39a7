import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { adminAuth, deviceAuth, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';

// Stands in for any bug in the pure translation: one invoice makes the content key throw.
vi.mock('../../src/translate/invoice-keys.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/translate/invoice-keys.js')>();
  return {
    ...real,
    invoiceContentKey: (inv: Parameters<typeof real.invoiceContentKey>[0]) => {
      if (String(inv.id) === '666') throw new Error('boom in translation');
      return real.invoiceContentKey(inv);
    },
  };
});

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw.stop();
  await removeDir(gw.dir);
});

describe('an invoice the translation fails on', () => {
  it('is quarantined with the reason; the rest of its batch is stored and the push answers 200', async () => {
    const res = await gw.fetch('/invoice', {
      method: 'POST',
      auth: deviceAuth,
      headers: { accept: 'application/json' },
      body: JSON.stringify({ invoices: [invoice(666, [{ productId: 'a', qty: 1, total: 1 }]), invoice(667, [{ productId: 'a', qty: 1, total: 2 }])] }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: 2, created: 1, updated: 0, unchanged: 0, quarantined: 1 });
    const q = await gw.json('/api/quarantine', { auth: adminAuth });
    expect(q.body.items).toMatchObject([{ code: 'invalid_invoice', invoiceId: '666', reason: expect.stringContaining('could not be translated') }]);
    expect((await gw.json('/api/sales', { auth: adminAuth })).body.items.map((s: { identifier: string }) => s.identifier)).toEqual(['TAB-1:667']);
  });
});
