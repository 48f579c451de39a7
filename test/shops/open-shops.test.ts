import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../free-port.js';
import { invoice, removeDir } from '../helpers.js';
import { BISTRO_ADMIN, BISTRO_DEVICE, CAFE_ADMIN, CAFE_DEVICE, TWO_SHOPS, type TestDeployment, auth, startTestDeployment } from './helpers.js';

/** A port nobody listens on. */
const silentPort = await freePort();
let d: TestDeployment | null = null;
afterEach(async () => {
  await d?.stop();
  if (d) await removeDir(d.dir);
  d = null;
});

const settle = async (check: () => boolean) => {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
};

describe('shops open on demand, at most ops.shopsOpenMax at once', () => {
  it('opens a shop on its first request; beyond the limit the least recently used idle one closes, and reopens with its data', async () => {
    d = await startTestDeployment({ ...TWO_SHOPS, ops: { shopsOpenMax: 1 } });
    expect(d.directory.isOpen('cafe')).toBe(false);
    await d.json('/invoice', { method: 'POST', auth: auth(CAFE_DEVICE), body: { invoices: [invoice(1, [{ productId: 'a', qty: 1, total: 1 }])] } });
    expect(d.directory.isOpen('cafe')).toBe(true);
    await d.json('/invoice', { method: 'POST', auth: auth(BISTRO_DEVICE), body: { invoices: [invoice(2, [{ productId: 'b', qty: 1, total: 2 }])] } });
    await settle(() => !d!.directory.isOpen('cafe'));
    expect(d.directory.isOpen('cafe')).toBe(false);
    expect(d.directory.isOpen('bistro')).toBe(true);
    // Reopened on its next request, from its data dir.
    expect((await d.json('/api/sales', { auth: auth(CAFE_ADMIN) })).body).toMatchObject({ total: 1, items: [{ identifier: 'CAFE-1:1' }] });
    await settle(() => !d!.directory.isOpen('bistro'));
    expect((await d.json('/api/sales', { auth: auth(BISTRO_ADMIN) })).body).toMatchObject({ total: 1, items: [{ identifier: 'CAFE-1:2' }] });
    // Shop default is never closed.
    expect(d.directory.isOpen('default')).toBe(true);
  });

  it('keeps a shop open while its outbox has items waiting (a closed shop would forward nothing)', async () => {
    // A webhook nobody listens on: the sale waits in the outbox, retried.
    const shops = TWO_SHOPS.shops.map((s) => (s.id === 'cafe' ? { ...s, webhooks: [{ url: `http://127.0.0.1:${silentPort}/hook`, secret: 's' }] } : s));
    d = await startTestDeployment({ ...TWO_SHOPS, shops, ops: { shopsOpenMax: 1 } });
    await d.json('/invoice', { method: 'POST', auth: auth(CAFE_DEVICE), body: { invoices: [invoice(1, [{ productId: 'a', qty: 1, total: 1 }])] } });
    await d.json('/home', { auth: auth(BISTRO_DEVICE) });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(d.directory.isOpen('cafe')).toBe(true);
  });
});
