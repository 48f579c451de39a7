import { afterEach, describe, expect, it } from 'vitest';
import { adminAuth, device2Auth, deviceAuth, invoice, testGateways, type TestGateway } from '../helpers.js';
import { eventually, fastUpstream, salesOn, seedUpstreamCatalogue, tabletView } from './bridge-helpers.js';

const gateways = testGateways();
afterEach(() => gateways.cleanup());
const gateway = gateways.start;
const stop = gateways.stop;

const push = (g: TestGateway, invoices: unknown[], auth = deviceAuth) => g.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }), auth });

/** How many times each sale changed on a gateway (its own event stream). */
function changesOn(g: TestGateway): Map<string, number> {
  const counts = new Map<string, number>();
  g.gateway.events.on('sale.changed', (e) => counts.set(e.identifier, (counts.get(e.identifier) ?? 0) + 1));
  return counts;
}

describe('bridge gateway A in front of gateway B', { timeout: 60_000 }, () => {
  it("serves B's catalogue and stock to A's tablets, forwards each sale once, follows reversals", async () => {
    const b = await gateway();
    await seedUpstreamCatalogue(b);
    const bChanges = changesOn(b);
    const a = await gateway({ upstream: fastUpstream(b.url) });
    await eventually(async () => (await a.fetch('/home')).status === 200, "A ready with B's catalogue");
    for (const resource of ['stock', 'tax', 'discount'] as const) expect(await tabletView(a, resource)).toEqual(await tabletView(b, resource));
    expect(((await tabletView(a, 'stock')) as { products: { id: string; stockqty: number }[] }).products.map((p) => [p.id, p.stockqty])).toEqual([
      ['72', 10],
      ['73', 999999],
    ]);

    const sale = invoice(202611230100001, [{ productId: '72', qty: 2, total: 7 }]);
    const res = await push(a, [sale]);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('true');
    // A's tablets see the sale at once, before B has it.
    expect(((await tabletView(a, 'stock')) as { products: { stockqty: number }[] }).products[0].stockqty).toBe(8);
    await eventually(async () => (await salesOn(b)).length === 1, 'the sale on B');
    const onB = await b.json('/api/sales/TAB-1:202611230100001', { auth: adminAuth });
    expect(onB.body).toMatchObject({ status: 'completed', version: 1, total: 7, source: { device: 'tablet-1', invoice: { id: 202611230100001 } } });
    await eventually(
      async () => JSON.stringify(await tabletView(a, 'stock')) === JSON.stringify(await tabletView(b, 'stock')),
      "A's stock = B's stock after the next poll",
    );
    expect(((await tabletView(b, 'stock')) as { products: { stockqty: number }[] }).products[0].stockqty).toBe(8);

    await push(a, [{ ...sale, checkoutStatus: '11' }]);
    await push(a, [{ ...sale, checkoutStatus: '11' }]); // a tablet re-push: unchanged, nothing sent
    await eventually(async () => (await b.json('/api/sales/TAB-1:202611230100001', { auth: adminAuth })).body.status === 'refunded', 'the refund on B');
    await eventually(async () => ((await tabletView(a, 'stock')) as { products: { stockqty: number }[] }).products[0].stockqty === 10, 'stock back on A');
    expect((await b.json('/api/sales/TAB-1:202611230100001', { auth: adminAuth })).body.version).toBe(2);
    expect(Object.fromEntries(bChanges)).toEqual({ 'TAB-1:202611230100001': 2 });
    await eventually(async () => (await a.json('/api/outbox', { auth: adminAuth })).body.depth === 0, "A's outbox drained");
    const outbox = await a.json('/api/outbox', { auth: adminAuth });
    expect(outbox.body).toMatchObject({ mode: 'bridge', depth: 0, deadLetters: 0, targets: [{ target: 'upstream', depth: 0 }] });
    // Upstream owns the articles.
    const write = await a.json('/api/products/72', { method: 'PUT', body: { name: 'X', price: 1 }, auth: adminAuth });
    expect(write.status).toBe(409);
    expect(write.body.error.code).toBe('bridge_mode_read_only');
    const ready = await a.json('/readyz', { auth: null });
    expect(ready.body).toMatchObject({
      status: 'ready',
      checks: { store: { status: 'ok' }, upstream: { status: 'ok', breaker: 'closed', catalogueCached: true } },
    });
  });

  it('B down: pushes on A stay fast and durable, A restarts on its cached catalogue; B back: every sale arrives once', async () => {
    const b = await gateway();
    await seedUpstreamCatalogue(b);
    let a = await gateway({ upstream: fastUpstream(b.url) });
    await eventually(async () => (await a.fetch('/home')).status === 200, 'A ready');
    const stockBefore = await tabletView(a, 'stock');
    const bPort = Number(new URL(b.url).port);
    await stop(b);

    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const invoices = [1, 2].map((j) => invoice(20261123020000 + i * 10 + j, [{ productId: '73', qty: 1, total: 2.2 }]));
      const auth = i % 2 ? device2Auth : deviceAuth;
      // Answered while upstream is down (the items wait in the outbox, below); test/forward/outbox.test.ts shows a push never waits for a delivery.
      const res = await push(a, invoices, auth);
      expect(res.status).toBe(200);
      ids.push(...invoices.map((inv) => `${i % 2 ? 'TAB-2' : 'TAB-1'}:${inv.id}`));
    }
    const outbox = await a.json('/api/outbox', { auth: adminAuth });
    expect(outbox.body).toMatchObject({ depth: 10, targets: [{ target: 'upstream', depth: 10, registers: { 'TAB-1': { depth: 6 }, 'TAB-2': { depth: 4 } } }] });
    expect(outbox.body.oldestAgeMs).toBeGreaterThanOrEqual(0);
    expect((await a.json('/api/outbox', { auth: deviceAuth })).status).toBe(403);
    await eventually(async () => (await a.json('/readyz', { auth: null })).body.checks.upstream.state !== 'ok', 'readyz to notice B is gone');
    expect((await a.json('/readyz', { auth: null })).status).toBe(200);

    // A restarts while B is down: served from the cached catalogue.
    const aDir = a.dir;
    await stop(a);
    a = await gateway({ upstream: fastUpstream(b.url) }, aDir);
    expect((await a.fetch('/home')).status).toBe(200);
    expect(await tabletView(a, 'stock')).toEqual(stockBefore);
    expect((await a.json('/api/outbox', { auth: adminAuth })).body.depth).toBe(10);

    const b2 = await gateway({}, b.dir, bPort);
    const b2Changes = changesOn(b2);
    await eventually(
      async () => (await salesOn(b2)).length === 10 && (await a.json('/api/outbox', { auth: adminAuth })).body.depth === 0,
      'every sale on B',
      20_000,
    );
    const sales = await salesOn(b2);
    expect(sales.map((s) => s.identifier).sort()).toEqual([...ids].sort());
    expect(sales.every((s) => s.version === 1)).toBe(true);
    expect([...b2Changes.values()].every((n) => n === 1)).toBe(true);
    expect(b2Changes.size).toBe(10);
  });

  it('home is 503 while no catalogue was ever fetched; /readyz says why', async () => {
    const a = await gateway({ upstream: { ...fastUpstream('http://127.0.0.1:9'), breakerFailures: 1 } });
    const home = await a.json('/home');
    expect(home.status).toBe(503);
    expect(home.body.error.code).toBe('not_ready');
    await eventually(
      async () => (await a.json('/readyz', { auth: null })).body.checks.upstream?.message?.startsWith('upstream unreachable'),
      'readyz to report upstream unreachable',
    );
    const ready = await a.json('/readyz', { auth: null });
    expect(ready.status).toBe(503);
    expect(ready.body.checks.upstream).toMatchObject({ status: 'fail', catalogueCached: false, lastSyncError: expect.stringContaining('127.0.0.1:9') });
  });
});
