import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, deviceAuth, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';
import { malformedBody, prng, VALID_PUSH } from './lib/generators.js';

const valid = JSON.stringify({ invoices: [invoice(202611230100001, [{ productId: '101', qty: 1, total: 2.2 }])] });

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ store: { dataDir: './data', seedDemo: true } });
});
afterAll(async () => {
  await gw.stop();
  await removeDir(gw.dir);
});

describe('fuzzed and malformed pushes', () => {
  it('never answer 5xx or crash, and every refusal is a 4xx JSON error', async () => {
    const rnd = prng(42);
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 40; batch++) {
      await Promise.all(
        Array.from({ length: 25 }, async (_, j) => {
          const i = batch * 25 + j;
          const res = await gw.fetch('/invoice', {
            method: 'POST',
            body: malformedBody(i, rnd) as BodyInit,
            headers: { 'content-type': i % 3 ? 'application/json' : 'text/plain' },
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const text = await res.text();
          expect(res.status, `body #${i}`).toBeLessThan(500);
          if (res.status !== 200) {
            expect(res.status, `body #${i}`).toBeGreaterThanOrEqual(400);
            expect(JSON.parse(text).error.code, `body #${i}`).toMatch(/^[a-z_]+$/);
          }
        }),
      );
    }
    expect([...statuses.keys()].every((s) => s === 200 || s === 400)).toBe(true);
    // Still alive, still storing, and nothing but quarantine entries came of it.
    const ok = await gw.fetch('/invoice', { method: 'POST', body: valid, headers: { accept: 'application/json' } });
    expect(await ok.json()).toMatchObject({ created: 1 });
    expect((await gw.json('/api/sales', { auth: adminAuth })).body.total).toBe(1);
    expect((await gw.json('/api/quarantine?maxResults=1', { auth: adminAuth })).body.total).toBeGreaterThan(0);
  });

  it('answers an oversized header block with 431 and keeps serving tablets', async () => {
    const res = await fetch(`${gw.url}/home`, { headers: { authorization: deviceAuth, 'x-pad': 'x'.repeat(20_000) } });
    expect(res.status).toBe(431);
    expect((await gw.fetch('/home')).status).toBe(200);
  });
});

describe('deeply nested pushes (found by npm run torture: a 500 from a stack overflow)', () => {
  it('refuses a body nested deeper than 64 levels with a 400 JSON error and keeps its raw text in the quarantine', async () => {
    const before = (await gw.json('/api/quarantine?maxResults=1', { auth: adminAuth })).body.total;
    const salesBefore = (await gw.json('/api/sales', { auth: adminAuth })).body.total;
    const deep = (d: number) =>
      `{"invoices":[${JSON.stringify(invoice(202611239900001 + d, [{ productId: '101', qty: 1, total: 2.2 }]))},{"id":${d},"x":${'['.repeat(d)}${']'.repeat(d)}}]}`;
    for (const d of [100, 5000, 50_000]) {
      const res = await gw.fetch('/invoice', { method: 'POST', body: deep(d), headers: { accept: 'application/json' } });
      expect(res.status, `depth ${d}`).toBe(400);
      expect((await res.json()).error.code).toBe('invalid_body');
    }
    const q = (await gw.json('/api/quarantine?maxResults=1000', { auth: adminAuth })).body;
    expect(q.total).toBe(before + 3);
    const raws = await Promise.all(
      q.items.slice(-3).map(async (item: { id: string }) => (await gw.json(`/api/quarantine/${item.id}`, { auth: adminAuth })).body),
    );
    expect(raws.map((r) => JSON.stringify(r)).join()).toContain('[[[[');
    // The valid invoice beside it is not stored (the body is refused whole); normal depth still is.
    expect((await gw.json('/api/sales', { auth: adminAuth })).body.total).toBe(salesBefore);
    const ok = await gw.fetch('/invoice', { method: 'POST', body: deep(58), headers: { accept: 'application/json' } });
    expect(await ok.json()).toMatchObject({ received: 2, created: 1, quarantined: 1 });
  });
});

describe('shared generators', () => {
  it('VALID_PUSH is the valid push the fuzz bodies are cut from', () => {
    expect(VALID_PUSH).toBe(valid);
  });
});
