import { describe, expect, it } from 'vitest';
import { device2Auth, deviceAuth, invoice, useTestGateway } from '../helpers.js';

const t = useTestGateway();
const { admin } = t;

/** Follows a feed page by page while `writing` runs, then until it is drained. */
async function follow(page: (from: number) => Promise<{ to: number; items: any[] }>, writing: Promise<unknown>) {
  let done = false;
  void writing.finally(() => (done = true));
  const seen: any[] = [];
  let from = 0;
  for (let i = 0; i < 10_000; i++) {
    const wasDone = done;
    const p = await page(from);
    expect(p.to).toBeGreaterThanOrEqual(from);
    seen.push(...p.items);
    from = p.to;
    if (p.items.length === 0 && wasDone) break;
  }
  await writing;
  return seen;
}

describe('change feeds under concurrent writes', () => {
  it('/modifications: every version once, in order, and the final articles rebuilt', async () => {
    await admin('/taxes/1', 'PUT', { name: 'VAT', vat: 10 });
    const writing = (async () => {
      for (let round = 0; round < 4; round++) {
        await Promise.all(Array.from({ length: 8 }, (_, i) => admin(`/products/p${i}`, 'PUT', { name: `P${i} r${round}`, price: round + i, tax: '1' })));
        if (round === 2) await Promise.all([0, 1, 2].map((i) => admin(`/products/p${i}`, 'DELETE')));
      }
    })();
    const seen = await follow(async (from) => (await admin(`/modifications?from=${from}&maxResults=2`)).body, writing);
    const latest = (await admin('/version')).body.version;
    expect(seen.map((m) => m.version)).toEqual(Array.from({ length: latest }, (_, i) => i + 1));
    const products = new Map<string, unknown>();
    for (const m of seen.filter((x) => x.entity === 'product')) {
      if (m.op === 'delete') products.delete(m.identifier);
      else products.set(m.identifier, m.data);
    }
    const list = (await admin('/products?maxResults=1000')).body.items;
    expect(new Map(list.map((p: any) => [p.identifier, p]))).toEqual(products);
  });

  it('/sales-diff: seqs strictly increasing, each sale last seen in its final state', async () => {
    const writing = (async () => {
      for (let round = 0; round < 5; round++) {
        await Promise.all([
          ...Array.from({ length: 6 }, (_, i) =>
            t.gw.fetch('/invoice', {
              method: 'POST',
              auth: i % 2 ? device2Auth : deviceAuth,
              body: JSON.stringify({ invoices: [invoice(round * 10 + i, [{ productId: 'a', qty: 1, total: i + 1 }])] }),
            }),
          ),
          ...(round > 0
            ? [
                t.gw.fetch('/invoice', {
                  method: 'POST',
                  auth: deviceAuth,
                  body: JSON.stringify({ invoices: [invoice((round - 1) * 10, [{ productId: 'a', qty: 1, total: 1 }], { checkoutStatus: '11' })] }),
                }),
              ]
            : []),
          ...(round > 1 ? [admin(`/sales/TAB-2:${(round - 2) * 10 + 1}/receipt`, 'POST')] : []),
        ]);
      }
    })();
    const seen = await follow(async (from) => (await admin(`/sales-diff/${from}/latest?maxResults=3`)).body, writing);
    const seqs = seen.map((s) => s.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    const rebuilt = new Map<string, any>();
    for (const item of seen) rebuilt.set(item.identifier, item.data);
    const all = (await admin('/sales?maxResults=1000')).body;
    expect(all.total).toBe(30);
    expect(new Map(all.items.map((s: any) => [s.identifier, s]))).toEqual(rebuilt);
    expect(rebuilt.get('TAB-1:0')).toMatchObject({ status: 'refunded' });
    expect(rebuilt.get('TAB-2:1')).toMatchObject({ receiptPrintedAt: expect.any(String) });
  });

  it('never answers a `to` beyond what exists, and checks its parameters', async () => {
    await admin('/taxes/1', 'PUT', { name: 'VAT', vat: 10 });
    await t.gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: [invoice(1, [{ productId: 'a', qty: 1, total: 1 }])] }) });
    expect((await admin('/modifications?from=0&to=999')).body).toMatchObject({ from: 0, to: 1, latest: 1 });
    expect((await admin('/modifications?from=5')).body).toMatchObject({ from: 5, to: 5, items: [] });
    expect((await admin('/modifications?from=3&to=2')).status).toBe(400);
    expect((await admin('/sales-diff/0/999')).body).toMatchObject({ from: 0, to: 1, latest: 1, items: [{ seq: 1, op: 'create', identifier: 'TAB-1:1' }] });
    expect((await admin('/sales-diff/1/latest')).body).toMatchObject({ from: 1, to: 1, items: [] });
    expect((await admin('/sales-diff/2/1')).status).toBe(400);
    expect((await admin('/sales-diff/x/latest')).status).toBe(400);
    expect((await admin('/sales-diff/0/latest?maxResults=0')).status).toBe(400);
    expect((await t.gw.json('/api/sales-diff/0/latest', { auth: deviceAuth })).status).toBe(403);
  });
});
