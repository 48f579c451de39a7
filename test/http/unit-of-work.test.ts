import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LowdbStore } from '../../src/store/lowdb-store.js';
import { adminAuth, removeDir, startTestGateway, type TestGateway } from '../helpers.js';

const started: TestGateway[] = [];
const start = async (dir?: string) => {
  const gw = await startTestGateway({}, dir);
  started.push(gw);
  return gw;
};

afterEach(async () => {
  for (const gw of started.splice(0)) await gw.stop().catch(() => undefined);
});

const invoice = (id: number) => ({
  id,
  date: String(Date.parse('2026-11-23T10:00:00Z') + id),
  checkoutType: '0',
  checkoutStatus: '10',
  total: 2.2,
  tax: 0.2,
  discount: 0,
  costPrice: 0,
  positions: [{ productId: '101', productName: 'Coffee', qty: 1, subtotal: 2.2, discount: 0, total: 2.2, tax: 0.2, costPrice: 0 }],
});
const push = (gw: TestGateway, ...ids: number[]) =>
  gw.fetch('/invoice', { method: 'POST', headers: { accept: 'application/json' }, body: JSON.stringify({ invoices: ids.map(invoice) }) });
const rounds = (gw: TestGateway) => (gw.gateway.store as LowdbStore).commitQueue.rounds;

describe('route handlers run their changes in one unit of work (issue 14)', () => {
  it('32 concurrent pushes share commit rounds: fewer rounds than pushes, each answered once durable', async () => {
    const gw = await start();
    const before = rounds(gw);
    const answers = await Promise.all(Array.from({ length: 32 }, (_, i) => push(gw, 1000 + i)));
    expect(answers.map((r) => r.status)).toEqual(Array(32).fill(200));
    const used = rounds(gw) - before;
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThan(32);
    const { body } = await gw.json('/api/sales?maxResults=100', { auth: adminAuth });
    expect(body.total).toBe(32);
  });

  it('a push whose unit of work cannot be made durable answers 503; sent again once the store writes, it is stored once and survives a restart', async () => {
    const gw = await start();
    const journal = join(gw.dataDir, 'journal');
    await rm(journal, { recursive: true, force: true });
    await writeFile(journal, 'not a folder');

    const refused = await push(gw, 1);
    expect(refused.status).toBe(503);
    expect((await refused.json()).error).toMatchObject({
      code: 'not_ready',
      message: 'the push could not be stored durably; nothing is lost if it is sent again',
    });

    await rm(journal);
    await mkdir(journal);
    // The tablet sends it again: one sale, no second copy.
    const again = await push(gw, 1);
    expect(again.status).toBe(200);
    const summary = await again.json();
    expect(summary.created + summary.unchanged).toBe(1);
    await gw.stop();
    started.splice(0);

    const reopened = await start(gw.dir);
    const { body } = await reopened.json('/api/sales', { auth: adminAuth });
    expect(body.items.map((s: { identifier: string }) => s.identifier)).toEqual(['TAB-1:1']);
    const day = new Date().toISOString().slice(0, 10);
    const lines = (await readFile(join(reopened.dataDir, 'journal', `${day}.ndjson`), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(2);
    await reopened.stop();
    started.splice(0);
    await removeDir(gw.dir);
  });

  it('a route that makes one change through a domain service answers only once it is on disk, without calling commit itself', async () => {
    const gw = await start();
    // What the commit rounds wrote: articles.json is rewritten in the round, chunk changes go to the write-ahead log.
    const onDisk = async () => {
      const wal = join(gw.dataDir, 'wal');
      const logs = await Promise.all((await readdir(wal)).map((f) => readFile(join(wal, f), 'utf8')));
      return `${await readFile(join(gw.dataDir, 'articles.json'), 'utf8')}\n${logs.join('\n')}`;
    };
    const put = await gw.json('/api/products/uow-1', { method: 'PUT', auth: adminAuth, body: { name: 'Unit of work', price: 1.5 } });
    expect(put.status).toBe(201);
    expect(await onDisk()).toContain('"uow-1"');

    const stock = await gw.json('/api/stock/uow-1', { method: 'PUT', auth: adminAuth, body: { quantity: 7 } });
    expect(stock.status).toBe(200);
    expect(await onDisk()).toMatch(/"uow-1":\s*\{[^}]*"level":\s*"7"/);

    const sale = await gw.json('/api/sales', {
      method: 'POST',
      auth: adminAuth,
      body: {
        identifier: 'TAB-1:uow-sale',
        cashRegisterName: 'TAB-1',
        createdAt: '2026-11-23T10:00:00.000Z',
        lines: [{ product: 'uow-1', quantity: 1, total: 1.5 }],
        payments: [{ method: 'cash', amount: 1.5 }],
      },
    });
    expect(sale.status).toBe(201);
    expect(await onDisk()).toContain('TAB-1:uow-sale');

    const cash = await gw.json('/api/registrations/TAB-1/balance', {
      method: 'POST',
      auth: adminAuth,
      body: { action: 'deposit', amount: 12.25, note: 'uow-float' },
    });
    expect(cash.status).toBe(201);
    expect(await onDisk()).toContain('uow-float');
  });
});
