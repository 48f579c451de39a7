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
      await Promise.all(Array.from({ length: 25 }, async (_, j) => {
        const i = batch * 25 + j;
        const res = await gw.fetch('/invoice', { method: 'POST', body: malformedBody(i, rnd) as BodyInit, headers: { 'content-type': i % 3 ? 'application/json' : 'text/plain' } });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const text = await res.text();
        expect(res.status, `body #${i}`).toBeLessThan(500);
        if (res.status !== 200) {
          expect(res.status, `body #${i}`).toBeGreaterThanOrEqual(400);
          expect(JSON.parse(text).error.code, `body #${i}`).toMatch(/^[a-z_]+$/);
        }
      }));
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

describe('shared generators', () => {
  it('VALID_PUSH is the valid push the fuzz bodies are cut from', () => {
    expect(VALID_PUSH).toBe(valid);
  });
});
