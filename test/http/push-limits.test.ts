import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adminAuth, device2Auth, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';

let gw: TestGateway;
afterEach(async () => {
  await gw.stop();
  await removeDir(gw.dir);
});

const invoices = (n: number, from = 1) => Array.from({ length: n }, (_, i) => invoice(from + i, [{ productId: 'a', qty: 1, total: 2 }]));
const pushBody = (list: unknown[], auth?: string) => gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: list }), ...(auth && { auth }) });
const journal = async () => {
  const dir = join(gw.dataDir, 'journal');
  return (await Promise.all((await readdir(dir)).map((f) => readFile(join(dir, f), 'utf8')))).join('');
};

describe('tabshop.maxInvoicesPerPush', () => {
  it('refuses a bigger push whole with 413 too_many_invoices, keeping its raw body in the journal', async () => {
    gw = await startTestGateway({ tabshop: { maxInvoicesPerPush: 3 } });
    const refused = await pushBody(invoices(4, 9_000_001));
    expect(refused.status).toBe(413);
    expect(await refused.json()).toEqual({
      error: {
        code: 'too_many_invoices',
        message: expect.stringMatching(/^a push may hold at most 3 invoices \(tabshop\.maxInvoicesPerPush\); this one holds 4/),
      },
    });
    expect((await gw.json('/api/sales', { auth: adminAuth })).body.total).toBe(0);
    expect((await gw.json('/api/quarantine', { auth: adminAuth })).body.total).toBe(0);
    expect(await journal()).toContain('9000004');
    expect((await pushBody(invoices(3))).status).toBe(200);
  });

  it('is 5,000 by default', async () => {
    gw = await startTestGateway();
    expect(gw.gateway.config.tabshop.maxInvoicesPerPush).toBe(5000);
    const tiny = Array.from({ length: 5001 }, () => ({}));
    expect((await pushBody(tiny)).status).toBe(413);
  });
});

describe('a big push never holds another tablet back for long', () => {
  it('answers a single-invoice push from another device while a 5,000-invoice push is still being stored', async () => {
    gw = await startTestGateway();
    const { ledger } = gw.gateway;
    const bigStart = performance.now();
    const big = pushBody(invoices(5000)).then(async (res) => ({ status: res.status, text: await res.text(), at: performance.now() }));
    // Once the big push is being stored (its first sales are in), another tablet pushes one invoice.
    while ((await ledger.saleCount()) === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    const smallStart = performance.now();
    const small = await pushBody([invoice(1, [{ productId: 'b', qty: 1, total: 3 }])], device2Auth);
    const smallEnd = performance.now();
    const bigSalesWhenSmallAnswered = (await ledger.saleCount()) - 1;
    expect(small.status).toBe(200);
    const done = await big;
    expect(done).toMatchObject({ status: 200, text: 'true' });
    expect(await ledger.saleCount()).toBe(5001);
    const smallMs = smallEnd - smallStart;
    const bigMs = done.at - bigStart;
    console.log(
      `big push ${bigMs.toFixed(0)} ms; concurrent small push ${smallMs.toFixed(0)} ms, answered when the big one had stored ${bigSalesWhenSmallAnswered} of 5000`,
    );
    // Wall clock only as ratios within this run: the small push did not wait for the big one.
    expect(bigSalesWhenSmallAnswered).toBeLessThan(5000);
    expect(smallEnd).toBeLessThan(done.at);
    expect(smallMs).toBeLessThan(bigMs / 2); // waiting for the whole big push would be ~0.8
  });
});
