import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adminAuth, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';

let gw: TestGateway;
afterEach(async () => {
  await gw.stop();
  await removeDir(gw.dir);
});

const admin = (path: string, method = 'GET', body?: unknown) => gw.json(`/api${path}`, { method, auth: adminAuth, body });
const push = async (invoices: unknown[]) => expect((await gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }) })).status).toBe(200);

async function editJson(path: string, edit: (data: any) => void) {
  const data = JSON.parse(await readFile(path, 'utf8'));
  edit(data);
  await writeFile(path, JSON.stringify(data));
}
const onlyChunk = async (dir: string) => {
  const [partition] = await readdir(dir);
  const inside = join(dir, partition);
  const entries = await readdir(inside);
  return entries[0].endsWith('.json') ? join(inside, entries[0]) : join(inside, entries[0], 'c-000001.json');
};
/** Every figure is a number: null is what JSON makes of an overflow (Infinity). */
const numbersOnly = (body: unknown) =>
  expect(
    JSON.stringify(body).replace(
      /"(closedAt|dayId|currentDayId|lastClosedDayId|lastSeenAt|lastPushAt|setAt|code|receiptPrintedAt|discount|tax|parent|custom|from|to|cashRegisterName)":null/g,
      '',
    ),
  ).not.toMatch(/null/);

describe('loading never fails on a record', () => {
  it('sets aside a sale stored with total null (what 1e308 + 1e308 left behind) and starts; reports, stats, stock and status answer with numbers', async () => {
    gw = await startTestGateway();
    await admin('/products/a', 'PUT', { name: 'A', price: 2 });
    await admin('/stock/a', 'PUT', { quantity: 10 });
    await push([
      invoice(1, [{ productId: 'a', qty: 1, total: 2 }]),
      invoice(2, [{ productId: 'a', qty: 1, total: 3 }]),
      invoice(3, [{ productId: 'a', qty: 1, total: 4 }]),
    ]);
    await gw.stop();
    await editJson(await onlyChunk(join(gw.dataDir, 'sales')), (chunk) => {
      const [, second, third] = chunk.records;
      second.sale.total = null; // as the old version stored an overflowing sum
      second.sale.lines[0].total = 1e308;
      third.sale.lines[0].quantity = 1e308; // took 1e308 from a tracked product's stock
      chunk.records.push(null, { sale: {} });
    });
    gw = await startTestGateway({}, gw.dir);

    const sales = (await admin('/sales')).body;
    expect(sales.items.map((s: { identifier: string }) => s.identifier)).toEqual(['TAB-1:1']);
    const quarantine = (await admin('/quarantine')).body.items;
    expect(quarantine).toHaveLength(4);
    for (const q of quarantine)
      expect(q).toMatchObject({ code: 'unloadable_record', reason: expect.stringMatching(/^a stored sale could not be loaded and was set aside: /) });
    const second = quarantine.find((q: { payload: any }) => q.payload?.sale?.identifier === 'TAB-1:2');
    expect(second.reason).toMatch(/\/total must be a number of magnitude at most 1e\+12, got null/);
    expect(second.payload.sale.lines[0].total).toBe(1e308); // the raw record
    expect(quarantine.find((q: { payload: any }) => q.payload?.sale?.identifier === 'TAB-1:3').reason).toMatch(/\/lines\/0\/quantity/);
    const errors = gw.logs.map((l) => JSON.parse(l)).filter((l) => l.level === 50 && /set aside in the quarantine/.test(l.msg));
    expect(errors).toHaveLength(4);

    for (const path of [
      '/days/current/report?cashRegisterName=TAB-1',
      '/sales/stats',
      '/products/stats',
      '/registrations',
      '/registrations/TAB-1/balance',
      '/stock',
    ]) {
      const res = await admin(path);
      expect(res.status, path).toBe(200);
      numbersOnly(res.body);
    }
    expect((await admin('/days/current/report?cashRegisterName=TAB-1')).body).toMatchObject({ saleCount: 1, gross: 2 });
    const stock = await gw.json('/stock');
    expect(stock.status).toBe(200);
    expect(stock.body.products[0]).toMatchObject({ id: 'a', stockqty: 9 });
    expect((await gw.fetch('/status', { auth: adminAuth })).status).toBe(200);

    // Found again at the next start: logged again, quarantined once.
    await gw.stop();
    gw = await startTestGateway({}, gw.dir);
    expect((await admin('/quarantine')).body.total).toBe(4);
    // A tablet re-pushing the invoice now stores it (over the set-aside copy).
    await push([invoice(2, [{ productId: 'a', qty: 1, total: 3 }])]);
    expect((await admin('/sales')).body.total).toBe(2);
  });

  it('sets aside a cash movement of 1e308, a Z report with null figures and a stock level of 1e308', async () => {
    gw = await startTestGateway();
    await admin('/products/a', 'PUT', { name: 'A', price: 2 });
    await admin('/products/b', 'PUT', { name: 'B', price: 2 });
    await admin('/stock/a', 'PUT', { quantity: 10 });
    await admin('/stock/b', 'PUT', { quantity: 5 });
    await push([invoice(1, [{ productId: 'a', qty: 1, total: 2 }])]);
    expect((await admin('/days/current?cashRegisterName=TAB-1', 'POST')).status).toBe(201);
    await push([invoice(2, [{ productId: 'b', qty: 1, total: 3 }])]);
    await admin('/registrations/TAB-1/balance', 'POST', { action: 'deposit', amount: 10 });
    await admin('/registrations/TAB-1/balance', 'POST', { action: 'deposit', amount: 20 });
    await gw.stop();
    await editJson(await onlyChunk(join(gw.dataDir, 'backoffice', 'balance')), (chunk) => {
      chunk.records[1].amount = 1e308;
    });
    await editJson(await onlyChunk(join(gw.dataDir, 'backoffice', 'days')), (chunk) => {
      chunk.records[0].report.gross = null;
      chunk.records[0].report.grandTotal = null;
    });
    await editJson(join(gw.dataDir, 'articles.json'), (articles) => {
      articles.stock.a.level = '1e308';
    });
    gw = await startTestGateway({}, gw.dir);

    const quarantine = (await admin('/quarantine')).body.items;
    expect(quarantine.map((q: { reason: string }) => q.reason.replace(/ could not.*/, '')).sort()).toEqual([
      'a stored cash movement',
      'a stored closed day',
      'a stored stock level',
    ]);
    expect(quarantine.find((q: { reason: string }) => /closed day/.test(q.reason)).payload.report.gross).toBeNull();
    // The day whose Z report was set aside is closed again from its stored sales (a later day exists).
    expect((await admin('/days/TAB-1:1/report')).body).toMatchObject({ type: 'Z', gross: 2, grandTotal: 2 });
    const x = await admin('/days/current/report?cashRegisterName=TAB-1');
    expect(x.body).toMatchObject({ type: 'X', gross: 3, grandTotal: 5, balance: { deposits: 10 } });
    numbersOnly(x.body);
    expect((await admin('/stock/a')).body).toMatchObject({ tracked: false });
    expect((await gw.json('/stock')).body.products.find((p: { id: string }) => p.id === 'b')).toMatchObject({ stockqty: 4 });
    expect((await gw.fetch('/status', { auth: adminAuth })).status).toBe(200);
  });
  it('skips a damaged outbox item and starts, still forwarding the good ones', async () => {
    const webhooks = [{ url: 'http://127.0.0.1:9/hook', secret: 'a-webhook-secret-of-length' }];
    gw = await startTestGateway({ webhooks });
    await push([invoice(1, [{ productId: 'a', qty: 1, total: 2 }])]);
    await gw.stop();
    const outbox = join(gw.dataDir, 'outbox');
    const [target] = (await readdir(outbox, { withFileTypes: true })).filter((e) => e.isDirectory());
    await editJson(join(outbox, target.name, 'c-000001.json'), (chunk) => chunk.records.push(null, { key: 7 }));
    gw = await startTestGateway({ webhooks }, gw.dir);
    expect((await admin('/outbox')).body.depth).toBe(1);
    expect(gw.logs.filter((l) => /outbox: a stored item could not be loaded/.test(l))).toHaveLength(2);
  });
});
