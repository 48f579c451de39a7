import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { invoice } from '../helpers.js';
import { eventually, openParts, UPSTREAM, type Parts } from './harness.js';

let dir = '';
const open: Parts[] = [];
beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterAll(() => nock.enableNetConnect());
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsg-outbox-'));
});
afterEach(async () => {
  for (const p of open.splice(0)) await p.close().catch(() => undefined);
  nock.cleanAll();
  nock.abortPendingRequests();
  await rm(dir, { recursive: true, force: true });
});

async function parts(opts: Parameters<typeof openParts>[1] = {}): Promise<Parts> {
  const p = await openParts(join(dir, 'data'), opts);
  open.push(p);
  return p;
}

async function reopen(p: Parts, opts: Parameters<typeof openParts>[1] = {}): Promise<Parts> {
  await p.close();
  open.splice(open.indexOf(p), 1);
  return parts(opts);
}

const sale = (id: number, extra: Record<string, unknown> = {}) => invoice(id, [{ productId: 'p1', qty: 1, total: 2.5 }], extra);

/** Records every request upstream gets; `answer` decides the reply. */
function fakeUpstream(answer: (method: string, path: string, body: any) => [number, unknown?, Record<string, string>?]) {
  const seen: { method: string; path: string; body: any }[] = [];
  const reply = (method: string) =>
    function (this: unknown, path: string, body: any) {
      seen.push({ method, path, body });
      return answer(method, path, body);
    };
  nock(UPSTREAM)
    .persist()
    .post('/api/sales')
    .reply(reply('POST') as never)
    .put(/\/api\/sales\/.+/)
    .reply(reply('PUT') as never);
  return seen;
}

const upstreamState = (p: Parts) => p.outbox.targets().find((t) => t.target === 'upstream')!;
const chunkFiles = async (target = 'upstream') => (await readdir(join(dir, 'data', 'outbox', target)).catch(() => [])).filter((f) => f.endsWith('.json'));

describe('delivery to upstream', () => {
  it('retries a 503, then delivers once; the delivered item leaves the outbox file', async () => {
    let calls = 0;
    const seen = fakeUpstream(() => (++calls === 1 ? [503, { error: { code: 'upstream_unavailable', message: 'busy' } }] : [201, {}]));
    const p = await parts();
    const events: string[] = [];
    p.events.on('outbox.retry', (e) => events.push(`retry:${e.attempts}`));
    p.events.on('outbox.delivered', (e) => events.push(`delivered:${e.attempts}`));
    await p.push([sale(1)]);
    await eventually(() => upstreamState(p).depth === 0, 'delivery');
    expect(seen.map((s) => `${s.method} ${s.body.identifier}`)).toEqual(['POST TAB-1:1', 'POST TAB-1:1']);
    expect(seen[1].body).toMatchObject({ identifier: 'TAB-1:1', cashRegisterName: 'TAB-1', status: 'completed', total: 2.5 });
    expect(seen[1].body).not.toHaveProperty('version');
    expect(seen[1].body.source.invoice.id).toBe(1);
    expect(events).toEqual(['retry:1', 'delivered:2']);
    await eventually(async () => (await chunkFiles()).length === 0, 'the emptied chunk file to be deleted');
  });

  it('never slows a push: the push is durable and answered while upstream hangs', async () => {
    nock(UPSTREAM).post('/api/sales').delay(10_000).reply(201, {});
    const p = await parts({ upstream: { timeoutMs: 15_000 } });
    await p.push([sale(1)]);
    await eventually(() => nock.pendingMocks().length === 0, 'a delivery hanging upstream');
    await p.push([sale(2)]);
    // Both answered while the first delivery still hangs (it succeeds only after 10 s): neither waited for it.
    expect(upstreamState(p).depth).toBe(2);
  });

  it('a timeout is retried; the re-sent create answered 409 counts as delivered', async () => {
    nock(UPSTREAM)
      .post('/api/sales')
      .delay(400)
      .reply(201, {})
      .post('/api/sales')
      .reply(409, { error: { code: 'already_exists', message: 'sale TAB-1:1 already exists' } });
    const p = await parts({ upstream: { timeoutMs: 100 } });
    const errors: string[] = [];
    p.events.on('outbox.retry', (e) => errors.push(e.error));
    await p.push([sale(1)]);
    await eventually(() => upstreamState(p).depth === 0, 'delivery');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/no answer within 100 ms/);
    expect(p.outbox.deadLetters()).toEqual([]);
  });

  it('a refused connection is retried', async () => {
    nock(UPSTREAM)
      .post('/api/sales')
      .replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
      .post('/api/sales')
      .reply(201, {});
    const p = await parts();
    const errors: string[] = [];
    p.events.on('outbox.retry', (e) => errors.push(e.error));
    await p.push([sale(1)]);
    await eventually(() => upstreamState(p).depth === 0, 'delivery');
    expect(errors).toEqual([expect.stringContaining('ECONNREFUSED')]);
  });

  it('429 is retried (after Retry-After)', async () => {
    nock(UPSTREAM).post('/api/sales').reply(429, { error: 'TooManyRequests' }, { 'Retry-After': '1' }).post('/api/sales').reply(201, {});
    const p = await parts({ upstream: { retryCapMs: 5_000 } });
    const retries: { at: number; nextAttemptAt: number }[] = [];
    p.events.on('outbox.retry', (e) => retries.push({ at: Date.now(), nextAttemptAt: e.nextAttemptAt.getTime() }));
    const delivered: number[] = [];
    p.events.on('outbox.delivered', () => delivered.push(Date.now()));
    await p.push([sale(1)]);
    await eventually(() => upstreamState(p).depth === 0, 'delivery', 4_000);
    // The retry is scheduled a second after the 429 (not sooner), and the delivery waited for it.
    expect(retries).toHaveLength(1);
    expect(retries[0].nextAttemptAt - retries[0].at).toBeGreaterThanOrEqual(950);
    expect(delivered[0]).toBeGreaterThanOrEqual(retries[0].nextAttemptAt);
  });

  it("400 moves the item to the dead letters with upstream's answer; later sales go on; a retry delivers it", async () => {
    let reject = true;
    const seen = fakeUpstream((_m, _p, body) =>
      body.identifier === 'TAB-1:1' && reject ? [400, { error: { code: 'validation_failed', message: 'lines/0/product unknown' } }] : [201, {}],
    );
    const p = await parts();
    await p.push([sale(1), sale(2)]);
    await eventually(() => upstreamState(p).depth === 0, 'both settled');
    const dead = p.outbox.deadLetters();
    expect(dead).toEqual([
      expect.objectContaining({
        identifier: 'TAB-1:1',
        target: 'upstream',
        attempts: 1,
        status: 400,
        event: 'sale.created',
        lastError: expect.stringContaining('HTTP 400'),
        response: expect.stringContaining('lines/0/product unknown'),
      }),
    ]);
    expect((dead[0].sale as { identifier: string }).identifier).toBe('TAB-1:1');
    expect(upstreamState(p)).toMatchObject({ deadLetters: 1, registers: { 'TAB-1': { depth: 0, deadLetters: 1 } } });
    expect(seen.map((s) => s.body.identifier)).toEqual(['TAB-1:1', 'TAB-1:2']);
    // Dead letters survive a restart.
    const q = await reopen(p);
    expect(q.outbox.deadLetters().map((d) => d.key)).toEqual([dead[0].key]);
    reject = false;
    expect(await q.outbox.retryDeadLetters('TAB-1:1')).toBe(1);
    await eventually(() => q.outbox.deadLetters().length === 0 && upstreamState(q).depth === 0, 'retried delivery');
    expect(seen.map((s) => s.body.identifier)).toEqual(['TAB-1:1', 'TAB-1:2', 'TAB-1:1']);
    expect(await q.outbox.retryDeadLetters('TAB-1:1')).toBe(0);
  });

  it('409 sale_collision is a dead letter (upstream holds a different sale under that id)', async () => {
    fakeUpstream(() => [409, { error: { code: 'sale_collision', message: 'different lines' } }]);
    const p = await parts();
    await p.push([sale(1)]);
    await eventually(() => p.outbox.deadLetters().length === 1, 'dead letter');
  });

  it('a reversal goes as PUT /sales/{identifier} after the create', async () => {
    const seen = fakeUpstream(() => [200, {}]);
    const p = await parts();
    await p.push([sale(1)]);
    await p.push([sale(1, { checkoutStatus: '11' })]);
    await p.push([sale(1, { checkoutStatus: '11' })]); // unchanged: nothing more to send
    await eventually(() => seen.length === 2 && upstreamState(p).depth === 0, 'two deliveries');
    expect(seen.map((s) => `${s.method} ${s.path} ${s.body.status}`)).toEqual(['POST /api/sales completed', 'PUT /api/sales/TAB-1:1 refunded']);
  });

  it('delivers in order per register; a stuck register does not hold back another', async () => {
    let stuck = true;
    const seen = fakeUpstream((_m, _p, body) => (body.identifier === 'TAB-1:1' && stuck ? [503, {}] : [201, {}]));
    const p = await parts();
    await p.push([sale(1), sale(2)], 'TAB-1');
    await p.push([sale(3)], 'TAB-2');
    await eventually(
      () => seen.some((s) => s.body.identifier === 'TAB-2:3') && seen.filter((s) => s.body.identifier === 'TAB-1:1').length >= 3,
      'TAB-2 delivered while TAB-1 retries',
    );
    expect(seen.map((s) => s.body.identifier)).not.toContain('TAB-1:2');
    expect(upstreamState(p).registers['TAB-1']).toMatchObject({ depth: 2, attempts: expect.any(Number), lastError: expect.stringContaining('503') });
    stuck = false;
    await eventually(() => upstreamState(p).depth === 0, 'TAB-1 drained');
    const tab1 = seen.map((s) => s.body.identifier).filter((id) => id.startsWith('TAB-1'));
    expect(tab1.slice(tab1.lastIndexOf('TAB-1:1'))).toEqual(['TAB-1:1', 'TAB-1:2']);
  });

  it('waits while the breaker is open and delivers once it closes', async () => {
    let calls = 0;
    const seen = fakeUpstream(() => (++calls <= 2 ? [503, {}] : [201, {}]));
    const p = await parts({ upstream: { breakerFailures: 2, breakerCooldownMs: 150, retryCapMs: 10 } });
    await p.push([sale(1)]);
    await eventually(() => p.client!.breaker!.current === 'open', 'breaker open');
    const attemptsWhileOpen = seen.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.length).toBe(attemptsWhileOpen);
    await eventually(() => upstreamState(p).depth === 0, 'delivery after the cool-down');
    expect(p.client!.breaker!.current).toBe('closed');
  });
});

describe('outbox durability', () => {
  it('stop lets the current delivery finish within a bound, then aborts it; the item stays queued', async () => {
    nock(UPSTREAM).post('/api/sales').delay(5_000).reply(201, {});
    const p = await parts({ upstream: { timeoutMs: 10_000 } });
    await p.push([sale(1)]);
    await eventually(() => nock.pendingMocks().length === 0, 'the delivery in flight');
    // Had the stop waited for the delivery (5 s), the item would be delivered; it is still queued below.
    await p.outbox.stop(200);
    await p.close();
    open.splice(open.indexOf(p), 1);
    nock.cleanAll();
    // Upstream may have stored the aborted one: the re-sent create is answered 409, which counts as delivered.
    const seen = fakeUpstream(() => [409, { error: { code: 'already_exists', message: 'exists' } }]);
    const q = await parts();
    expect(q.opened.loaded).toBe(1);
    await eventually(() => seen.length === 1 && upstreamState(q).depth === 0, 'delivered after the restart');
    expect(q.outbox.deadLetters()).toEqual([]);
  });

  it('keeps undelivered items across a restart and delivers each once', async () => {
    nock(UPSTREAM).persist().post('/api/sales').reply(503, {});
    const p = await parts();
    await p.push([sale(1), sale(2)]);
    await p.push([sale(3)], 'TAB-2');
    await eventually(() => upstreamState(p).attempts > 0, 'a failed attempt');
    await p.close();
    open.splice(open.indexOf(p), 1);
    nock.cleanAll();
    const seen = fakeUpstream(() => [201, {}]);
    const q = await parts();
    expect(q.opened).toMatchObject({ loaded: 3, recovered: 0, dropped: 0 });
    await eventually(() => upstreamState(q).depth === 0, 'drain');
    expect(seen.map((s) => s.body.identifier).sort()).toEqual(['TAB-1:1', 'TAB-1:2', 'TAB-2:3']);
  });

  it('rebuilds items a crash lost between the sale file and the outbox file, and only those', async () => {
    let up = true;
    const seen = fakeUpstream(() => (up ? [201, {}] : [503, {}]));
    const p = await parts();
    await p.push([sale(1)]);
    await eventually(() => upstreamState(p).depth === 0, 'first delivery');
    await new Promise((r) => setTimeout(r, 100)); // the lazy write of the delivered state
    up = false;
    await p.push([sale(2), sale(1, { checkoutStatus: '12' })]);
    await eventually(() => upstreamState(p).attempts > 0, 'a failed attempt');
    await p.close();
    open.splice(open.indexOf(p), 1);
    for (const f of await chunkFiles()) await rm(join(dir, 'data', 'outbox', 'upstream', f));
    up = true;
    seen.length = 0;
    const q = await parts();
    expect(q.opened).toMatchObject({ loaded: 0, recovered: 2 });
    await eventually(() => upstreamState(q).depth === 0, 'drain');
    expect(seen.map((s) => `${s.method} ${s.body.identifier} ${s.body.status}`).sort()).toEqual(['POST TAB-1:2 completed', 'PUT TAB-1:1 cancelled']);
  });

  it('drops an outbox item whose sale never reached the disk (it was never acknowledged)', async () => {
    nock(UPSTREAM).persist().post('/api/sales').reply(503, {});
    const p = await parts();
    await p.push([sale(1)]);
    await p.close();
    open.splice(open.indexOf(p), 1);
    await rm(join(dir, 'data', 'sales'), { recursive: true });
    nock.cleanAll();
    const seen = fakeUpstream(() => [201, {}]);
    const q = await parts();
    expect(q.opened).toMatchObject({ loaded: 0, dropped: 1, recovered: 0 });
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual([]);
    expect(await chunkFiles()).toEqual([]);
  });

  it('a new target starts with the sales stored from then on', async () => {
    const p = await parts({ upstream: false });
    await p.push([sale(1)]);
    const seen = fakeUpstream(() => [201, {}]);
    const q = await reopen(p);
    expect(q.opened.recovered).toBe(0);
    await q.push([sale(2)]);
    await eventually(() => seen.length === 1, 'delivery');
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.map((s) => s.body.identifier)).toEqual(['TAB-1:2']);
  });
});

describe('webhooks through the outbox', () => {
  it('signs each event, filters by type, and a dead webhook never holds back upstream', async () => {
    const received: { headers: Record<string, string>; body: any }[] = [];
    nock('http://hooks.test')
      .persist()
      .post('/ok')
      .reply(function (_uri, body) {
        received.push({ headers: this.req.headers as Record<string, string>, body });
        return [204];
      });
    nock('http://hooks.test').persist().post('/dead').reply(503);
    const seen = fakeUpstream(() => [201, {}]);
    const p = await parts({
      webhooks: [
        { url: 'http://hooks.test/ok', secret: 'k1', events: ['sale.reversed'] },
        { url: 'http://hooks.test/dead', secret: 'k2' },
      ],
    });
    await p.push([sale(1)]);
    await p.push([sale(1, { checkoutStatus: '11' })]);
    await eventually(() => received.length === 1 && upstreamState(p).depth === 0, 'upstream and the live webhook');
    expect(seen).toHaveLength(2);
    expect(received[0].body).toMatchObject({ type: 'sale.reversed', sale: { identifier: 'TAB-1:1', status: 'refunded' } });
    expect(received[0].headers['x-event-id']).toBe(received[0].body.id);
    expect(received[0].headers['x-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    const dead = p.outbox.targets().find((t) => t.target === 'webhook:http://hooks.test/dead')!;
    expect(dead.depth).toBe(2);
    await eventually(async () => (await chunkFiles()).length === 0, "upstream's chunk emptied and deleted");
  });
});
