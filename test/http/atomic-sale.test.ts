import { describe, expect, it } from 'vitest';
import { useTestGateway } from '../helpers.js';

// A webhook nobody listens on: items stay in the outbox, so the test can see them.
const t = useTestGateway({ webhooks: [{ url: 'http://127.0.0.1:9/hook', secret: 'a-webhook-secret-of-length' }] });
const { admin } = t;

const nested = (levels: number) => {
  let v: Record<string, unknown> = {};
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
};
const sale = (invoiceId: string, source: Record<string, unknown> = {}) => ({
  cashRegisterName: 'TAB-1',
  createdAt: '2026-11-23T10:00:00.000Z',
  lines: [{ product: 'a', quantity: 1, total: 2 }],
  source: { kind: 'api', invoiceId, ...source },
});

describe('a sale is stored with all of its consequences or not at all', () => {
  it('refuses an API sale whose source is nested 3,000 levels deep before storing anything; a retry is stored and forwarded', async () => {
    const deep = await admin('/sales', 'POST', sale('x1', { deep: nested(3000) }));
    expect(deep.status).toBe(400);
    expect(deep.body.error).toMatchObject({ code: 'invalid_body', message: 'the body is nested deeper than 64 levels' });
    expect((await admin('/sales/TAB-1:x1')).status).toBe(404);
    expect((await admin('/outbox')).body.depth).toBe(0);

    const retry = await admin('/sales', 'POST', sale('x1', { deep: nested(50) }));
    expect(retry.status).toBe(201);
    expect((await admin('/outbox')).body.depth).toBe(1);
    expect((await admin('/days/current/report?cashRegisterName=TAB-1')).body).toMatchObject({ saleCount: 1, gross: 2 });
  });

  it('stores nothing when a consequence cannot be prepared (the outbox copy of a sale too deep to clone)', async () => {
    const { ledger } = t.gw.gateway;
    const base = {
      identifier: 'TAB-1:x2',
      cashRegisterName: 'TAB-1',
      createdAt: '2026-11-23T10:00:00.000Z',
      status: 'completed' as const,
      lines: [{ lineNo: 1, product: 'a', name: '', quantity: 1, subtotal: 2, discount: 0, vat: 0, total: 2, costPrice: 0 }],
      payments: [],
      total: 2,
      vat: 0,
      discount: 0,
      costPrice: 0,
      customer: { name: '', address: '', email: '' },
      receiptPrintedAt: null,
    };
    await expect(ledger.putApiSale({ ...base, source: { kind: 'api', deep: nested(3000) } as never }, new Date())).rejects.toThrow(RangeError);
    expect(await ledger.getSale('TAB-1:x2')).toBeUndefined();
    expect(await t.gw.gateway.store.getSale('TAB-1:x2')).toBeUndefined();
    expect((await ledger.putApiSale({ ...base, source: { kind: 'api' } }, new Date(), { createOnly: true })).outcome).toBe('created');
    expect((await admin('/outbox')).body.depth).toBe(1);
  });

  it.each([
    ['PUT /products', '/products/p', 'PUT', { name: 'P', price: 1, description: 'x', custom: null, deep: nested(100) }],
    ['POST /registrations/balance', '/registrations/TAB-1/balance', 'POST', { action: 'deposit', amount: 1, note: nested(100) }],
  ])('applies the same depth limit to every JSON input: %s', async (_what, path, method, body) => {
    const res = await admin(path, method, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_body');
  });
});
