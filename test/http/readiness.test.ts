import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startTestGateway, type TestGateway } from '../helpers.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});

afterAll(async () => {
  await gw.stop();
  await removeDir(gw.dir);
});

const invoice = {
  id: 1,
  date: String(Date.now()),
  checkoutType: '0',
  checkoutStatus: '10',
  total: 2.2,
  tax: 0.2,
  discount: 0,
  costPrice: 0,
  positions: [{ productId: '101', productName: 'Coffee', qty: 1, subtotal: 2.2, discount: 0, total: 2.2, tax: 0.2, costPrice: 0 }],
};

describe('readiness after a failed write (issue 18, item 4)', () => {
  it('probes the store itself: home and /readyz recover once it is writable again, without a push', async () => {
    // A store fault we control: the journal folder replaced by a file, so every commit round fails (as on a full disk).
    const journal = join(gw.dataDir, 'journal');
    await rm(journal, { recursive: true, force: true });
    await writeFile(journal, 'not a folder');

    const push = await gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: [invoice] }) });
    expect(push.status).toBe(503);
    expect((await gw.fetch('/home')).status).toBe(503);
    const notReady = await gw.json('/readyz', { auth: null });
    expect(notReady.status).toBe(503);
    expect(notReady.body.failing).toContain('store');

    await rm(journal);
    await mkdir(journal);

    // The very next probe writes (a probe file, then what is still queued) and answers ready.
    const home = await gw.fetch('/home');
    expect(home.status).toBe(200);
    expect(await home.text()).toBe('true');
    const ready = await gw.json('/readyz', { auth: null });
    expect(ready.status).toBe(200);
    expect(ready.body.checks.store.status).toBe('ok');
    // What was queued when the write failed is on disk now (the push's raw request).
    const day = new Date().toISOString().slice(0, 10);
    expect(await readFile(join(journal, `${day}.ndjson`), 'utf8')).toContain('invoices');
  });
});
