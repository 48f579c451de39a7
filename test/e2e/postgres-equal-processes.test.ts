/**
 * Issue 14's process tests: three gateway processes on one PostgreSQL database behave as one
 * gateway whichever process a request reaches, when one is SIGKILLed and when one is frozen
 * (SIGSTOP). Written for equal processes (no leader, no forwarding): a scenario that needs them
 * fails on a build where one process leads and the others forward to it (see the report in
 * docs/postgres.md, "Several processes on one database").
 *
 * Time bounds (none measures speed; each is far beyond a healthy answer and only a hang reaches it):
 * - HANG_MS = 10 s, the pool's connection timeout (src/store/postgres/connection.ts): every
 *   request to a process that is not frozen is answered within it, or counts as hung;
 * - LOAD_MS = 60 s: a load runs until its count of acknowledged pushes, or at most this long;
 * - DRAIN_MS = 60 s: the webhook receiver has every stored sale change within this;
 * - THAW_MS = 30 s: a thawed process answers /readyz 200 within this.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { GatewayProcess } from './process.js';
import { postgresProcesses } from './postgres-processes.js';
import { GATEWAY_LOCK_KEY, queryRows, skipPostgres } from '../postgres.js';
import { adminAuthHeader, allSales, api, basicAuth, PRODUCTS, seedCatalogue, sleep, START_LEVEL, TABLETS, TORTURE_ADMIN } from '../torture/lib/gateway.js';
import { prng } from '../torture/lib/generators.js';
import { emptyCounts, TabletLoad, type Answer } from '../torture/lib/tablet-load.js';
import { checkWebhookDeliveries, startWebhookReceiver, type WebhookReceiver } from '../torture/lib/webhook-receiver.js';

const HANG_MS = 10_000;
const LOAD_MS = 60_000;
const DRAIN_MS = 60_000;
const THAW_MS = 30_000;
/** Acknowledged pushes a load phase runs for (a count, not a duration). */
const PUSHES = 60;

const zero = { lost: 0, duplicated: 0, wrong: 0, stockErrors: 0, badAnswers: 0, hung: 0 };
const failures = (load: TabletLoad) => ({
  lost: load.counts.lost,
  duplicated: load.counts.duplicated,
  wrong: load.counts.wrong,
  stockErrors: load.counts.stockErrors,
  badAnswers: load.counts.badAnswers,
  hung: load.counts.hung,
});

/** Local TCP ports of a process's sockets (Linux /proc), to tell which process holds a database connection. */
async function localPorts(pid: number): Promise<Set<number>> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
    const m = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => ''));
    if (m) inodes.add(m[1]);
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of (await readFile(table, 'utf8').catch(() => '')).split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && inodes.has(cols[9])) ports.add(Number.parseInt(cols[1].split(':').at(-1)!, 16));
    }
  }
  return ports;
}

/**
 * Which process writes right now: the one whose connection holds the gateway's advisory lock
 * (class GATEWAY_LOCK_KEY[0]: the leader's lock today, the write lease with equal processes);
 * -1 when none holds it at this instant.
 */
async function writerIndex(db: string, procs: GatewayProcess[]): Promise<number> {
  const holders = await queryRows<{ port: number }>(
    db,
    `SELECT a.client_port AS port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 ORDER BY l.objid = $2 DESC`,
    [GATEWAY_LOCK_KEY[0], GATEWAY_LOCK_KEY[1]],
  );
  for (const { port } of holders) {
    for (const [i, p] of procs.entries()) if ((await localPorts(p.child.pid!)).has(port)) return i;
  }
  return -1;
}

/** Waits until `done()` or `ms` passed. */
async function until(done: () => boolean, ms: number): Promise<void> {
  for (const deadline = performance.now() + ms; !done() && performance.now() < deadline; ) await sleep(50);
}

/**
 * An API writer meanwhile: PUT /api/products/API-W with price n (n = 1, 2, …), to `urls()` in turn.
 * A 503 not_ready is "send again"; anything else but 200/201 is a bad answer.
 */
function startApiWriter(urls: () => string[], mayHang: (url: string) => boolean) {
  const state = { sent: 0, lastAcked: 0, acked: [] as { url: string; at: number }[], bad: [] as string[], hung: [] as string[], stopping: false };
  let turn = 0;
  const loop = (async () => {
    while (!state.stopping) {
      const list = urls();
      const url = list[turn++ % list.length];
      const n = ++state.sent;
      try {
        const res = await fetch(`${url}/api/products/API-W`, {
          method: 'PUT',
          headers: { authorization: adminAuthHeader, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `written ${n}`, price: n, tax: '1' }),
          signal: AbortSignal.timeout(HANG_MS),
        });
        const text = await res.text();
        if (res.status === 200 || res.status === 201) {
          state.lastAcked = Math.max(state.lastAcked, n);
          state.acked.push({ url, at: performance.now() });
        } else if (!(res.status === 503 && text.includes('"not_ready"')))
          state.bad.push(`PUT /api/products/API-W on ${url}: ${res.status} ${text.slice(0, 200)}`);
      } catch (err) {
        if ((err as Error).name === 'TimeoutError' && !mayHang(url)) state.hung.push(`PUT /api/products/API-W on ${url}: no answer within ${HANG_MS} ms`);
      }
      await sleep(20);
    }
  })();
  return {
    state,
    async stop() {
      state.stopping = true;
      await loop;
    },
    /** The stored price is the last acknowledged write or a later one (cut off unanswered). */
    async verify(url: string) {
      const got = await api(url, '/products/API-W');
      expect(got.status, `API-W on ${url}`).toBe(200);
      expect(got.body.price, `API-W on ${url}`).toBeGreaterThanOrEqual(state.lastAcked);
      expect(got.body.price, `API-W on ${url}`).toBeLessThanOrEqual(state.sent);
    },
  };
}

describe.skipIf(skipPostgres)('three equal gateway processes on one PostgreSQL database', { timeout: 300_000 }, () => {
  let receiver: WebhookReceiver | undefined;
  const pg = postgresProcesses(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  /** A database, a webhook receiver, three processes on the same config, the torture's catalogue. */
  async function threeProcesses() {
    const hooks = await startWebhookReceiver();
    receiver = hooks;
    const db = await pg.cluster.createDatabase();
    const configPath = await pg.writeConfig({
      server: { host: '127.0.0.1', port: 0 },
      store: { dataDir: './data', postgres: { url: db } },
      devices: TABLETS,
      admins: [TORTURE_ADMIN],
      webhooks: [{ url: hooks.url, secret: 'equal-processes-secret', retryCapMs: 300, timeoutMs: 2_000 }],
    });
    const procs: GatewayProcess[] = [];
    for (let i = 0; i < 3; i++) procs.push(await pg.start(configPath));
    await seedCatalogue(procs[0].url);
    return { db, configPath, procs, hooks };
  }

  /** Every stored sale change reached the receiver once by event id (waiting for the outbox to drain). */
  async function expectWebhooksOnce(url: string, hooks: WebhookReceiver, quarantineEntries = 0): Promise<void> {
    const { items } = await allSales(url);
    let check = checkWebhookDeliveries(items, hooks.deliveries);
    const quarantineEvents = () => new Set(hooks.deliveries.filter((d) => d.type === 'quarantine.added').map((d) => d.id)).size;
    await until(() => {
      check = checkWebhookDeliveries(items, hooks.deliveries);
      return check.lost.length === 0 && quarantineEvents() >= quarantineEntries;
    }, DRAIN_MS);
    expect({ lost: check.lost, duplicated: check.duplicated, wrong: check.wrong }).toEqual({ lost: [], duplicated: [], wrong: [] });
    expect(quarantineEvents()).toBe(quarantineEntries);
  }

  /** The store checked through every process, then the webhook. */
  async function expectOneGateway(load: TabletLoad, procs: GatewayProcess[], hooks: WebhookReceiver, label: string): Promise<void> {
    for (const p of procs) await load.verify(p.url, `${label}, through ${p.url}`);
    expect(failures(load), load.counts.failures.join('\n')).toEqual(zero);
    await expectWebhooksOnce(procs[0].url, hooks);
  }

  it('(a) pushes from four tablets spread over the three processes: each acknowledged invoice stored once, the same answers from each, webhooks once', async () => {
    const { procs, hooks } = await threeProcesses();
    const answers: Answer[] = [];
    const load = new TabletLoad(prng(14_001), emptyCounts(), { workersPerTablet: 2, requestTimeoutMs: HANG_MS, onAnswer: (a) => answers.push(a) });
    const running = load.start(() => procs.map((p) => p.url), '(a)');
    await until(() => load.counts.pushesAcked >= 2 * PUSHES, LOAD_MS);
    await running.stop();
    expect(load.counts.pushesAcked).toBeGreaterThanOrEqual(2 * PUSHES);
    for (const p of procs) expect(answers.filter((a) => a.url === p.url && a.kind === 'push' && a.status === 200).length, p.url).toBeGreaterThan(0);
    await expectOneGateway(load, procs, hooks, '(a)');
  });

  it('(b) the same invoice sent to two processes at the same instant is stored once (created + unchanged); a colliding invoice is quarantined once across processes', async () => {
    const { procs, hooks } = await threeProcesses();
    const auth = basicAuth(TABLETS[0]);
    const body = (id: number, qty: number) =>
      JSON.stringify({
        invoices: [
          {
            id,
            date: String(Date.UTC(2026, 11, 3, 9) + id),
            checkoutType: '0',
            checkoutStatus: '10',
            total: qty * 2.5,
            positions: [{ productId: PRODUCTS.tracked[0], productName: 'P1', qty, total: qty * 2.5 }],
          },
        ],
      });
    /** Sends until answered 200 (a 503 not_ready is "send again"), at most HANG_MS per attempt; the JSON summary. */
    const push = async (url: string, payload: string) => {
      for (let attempt = 0; attempt < 20; attempt++) {
        const res = await fetch(`${url}/invoice`, {
          method: 'POST',
          headers: { authorization: auth, accept: 'application/json' },
          body: payload,
          signal: AbortSignal.timeout(HANG_MS),
        });
        const text = await res.text();
        if (res.status === 200) return JSON.parse(text) as { created: number; updated: number; unchanged: number; quarantined: number };
        expect(res.status, text).toBe(503);
        expect(text).toContain('"not_ready"');
        await sleep(100);
      }
      throw new Error(`a push to ${url} was never acknowledged`);
    };
    const PAIRS = 12;
    let sold = 0;
    for (let k = 0; k < PAIRS; k++) {
      const [a, b] = [procs[k % 3].url, procs[(k + 1) % 3].url];
      const same = body(1000 + k, 1);
      const answers = await Promise.all([push(a, same), push(b, same)]);
      expect(answers.map((x) => x.created).sort(), `invoice ${1000 + k} to ${a} and ${b}`).toEqual([0, 1]);
      expect(answers.map((x) => x.unchanged).sort()).toEqual([0, 1]);
      expect(answers.every((x) => x.updated === 0 && x.quarantined === 0)).toBe(true);
      sold += 1;
      // Same id, other lines: one is stored, the other quarantined, wherever each lands.
      const [one, other] = await Promise.all([push(a, body(2000 + k, 2)), push(b, body(2000 + k, 3))]);
      expect([one.created, other.created].sort(), `colliding ${2000 + k}`).toEqual([0, 1]);
      expect([one.quarantined, other.quarantined].sort()).toEqual([0, 1]);
      sold += one.created ? 2 : 3;
      // The quarantined payload again, to the third process: not a second entry.
      const third = procs[(k + 2) % 3].url;
      const again = await push(third, one.created ? body(2000 + k, 3) : body(2000 + k, 2));
      expect(again.quarantined).toBe(1);
    }
    for (const p of procs) {
      const { items, total } = await allSales(p.url);
      expect(total, p.url).toBe(2 * PAIRS);
      expect(new Set(items.map((s: { identifier: string }) => s.identifier)).size).toBe(2 * PAIRS);
      const quarantine = await api(p.url, '/quarantine?maxResults=100');
      expect(quarantine.body.total, p.url).toBe(PAIRS);
      expect(Number((await api(p.url, `/stock/${PRODUCTS.tracked[0]}`)).body.quantity), p.url).toBe(START_LEVEL - sold);
    }
    await expectWebhooksOnce(procs[0].url, hooks, PAIRS);
  });

  it('(c) SIGKILL of one process mid-load (the one writing at that instant): the other two keep taking pushes and API writes; nothing lost or doubled', async () => {
    const { db, configPath, procs, hooks } = await threeProcesses();
    const answers: Answer[] = [];
    const live = new Set(procs.map((p) => p.url));
    const urls = () => [...live];
    const load = new TabletLoad(prng(14_003), emptyCounts(), { workersPerTablet: 2, requestTimeoutMs: HANG_MS, onAnswer: (a) => answers.push(a) });
    const writer = startApiWriter(urls, () => false);
    const running = load.start(urls, '(c)');
    await until(() => load.counts.pushesAcked >= PUSHES, LOAD_MS);
    const found = await writerIndex(db, procs);
    const victim = Math.max(0, found);
    procs[victim].child.kill('SIGKILL');
    live.delete(procs[victim].url);
    const killedAt = performance.now();
    const acksAtKill = load.counts.pushesAcked;
    await procs[victim].exited;
    await until(() => load.counts.pushesAcked >= acksAtKill + PUSHES && writer.state.acked.some((w) => w.at > killedAt + 1_000), LOAD_MS);
    await running.stop();
    await writer.stop();
    console.log(`(c) killed process ${victim + 1} (${found < 0 ? 'no process held the write lock at that instant' : 'it held the write lock'})`);

    for (const url of live) {
      const after = answers.filter((a) => a.url === url && a.kind === 'push' && a.sentAt > killedAt);
      expect(after.filter((a) => a.status === 200).length, `pushes acknowledged by ${url} after the kill (${JSON.stringify(after.slice(-5))})`).toBeGreaterThan(
        0,
      );
      expect(writer.state.acked.filter((w) => w.url === url && w.at > killedAt).length, `API writes on ${url} after the kill`).toBeGreaterThan(0);
    }
    expect(writer.state.bad).toEqual([]);
    expect(writer.state.hung).toEqual([]);
    expect(load.counts.pushesAcked).toBeGreaterThanOrEqual(acksAtKill + PUSHES);

    // The killed process comes back and answers as the others do.
    procs[victim] = await pg.start(configPath);
    for (const p of procs) await writer.verify(p.url);
    await expectOneGateway(load, procs, hooks, '(c)');
  });

  /**
   * One process frozen with SIGSTOP while the load runs: no request to the other two waits longer
   * than HANG_MS, they keep acknowledging pushes and API writes; thawed (SIGCONT), the frozen one
   * serves again without a restart and answers as the others do.
   */
  async function freezeOne(choose: 'writer' | 'idle'): Promise<void> {
    const { db, procs, hooks } = await threeProcesses();
    const answers: Answer[] = [];
    let frozenUrl = '';
    const live = new Set(procs.map((p) => p.url));
    const urls = () => [...live];
    const mayHang = (url: string) => url === frozenUrl;
    const load = new TabletLoad(prng(choose === 'writer' ? 14_004 : 14_005), emptyCounts(), {
      workersPerTablet: 2,
      requestTimeoutMs: HANG_MS,
      mayHang,
      onAnswer: (a) => answers.push(a),
    });
    const writer = startApiWriter(urls, mayHang);
    const running = load.start(urls, `(d) ${choose}`);
    await until(() => load.counts.pushesAcked >= PUSHES, LOAD_MS);
    const found = await writerIndex(db, procs);
    // The writer (the lock holder this instant), or the next process after it: one that is not writing.
    const victim = choose === 'writer' ? Math.max(0, found) : (Math.max(0, found) + 1) % 3;
    const frozen = procs[victim];
    frozenUrl = frozen.url;
    frozen.child.kill('SIGSTOP');
    live.delete(frozenUrl);
    const frozenAt = performance.now();
    const acksAtFreeze = load.counts.pushesAcked;
    try {
      // Past the time a frozen lock holder keeps the lock (5 s), and a count of pushes.
      await until(
        () =>
          performance.now() - frozenAt > 7_000 && load.counts.pushesAcked >= acksAtFreeze + PUSHES && writer.state.acked.some((w) => w.at > frozenAt + 7_000),
        LOAD_MS,
      );
      await running.stop();
      await writer.stop();
    } finally {
      frozen.child.kill('SIGCONT');
    }
    console.log(
      `(d) froze process ${victim + 1} (${found < 0 ? 'no process held the write lock at that instant' : found === victim ? 'it held the write lock' : `process ${found + 1} held the write lock`})`,
    );
    const slowest = Math.max(0, ...answers.filter((a) => a.url !== frozenUrl && a.status >= 0).map((a) => a.ms));
    console.log(`(d) ${answers.filter((a) => a.url !== frozenUrl).length} requests to the other two, slowest answered in ${Math.round(slowest)} ms`);

    expect(load.counts.hung, load.counts.failures.join('\n')).toBe(0);
    expect(writer.state.hung).toEqual([]);
    expect(writer.state.bad).toEqual([]);
    for (const url of live) {
      const after = answers.filter((a) => a.url === url && a.kind === 'push' && a.sentAt > frozenAt);
      expect(after.filter((a) => a.status === 200).length, `pushes acknowledged by ${url} while ${frozenUrl} was frozen`).toBeGreaterThan(0);
      expect(writer.state.acked.filter((w) => w.url === url && w.at > frozenAt).length, `API writes on ${url} while ${frozenUrl} was frozen`).toBeGreaterThan(
        0,
      );
    }

    // Thawed: ready again without a restart, takes a push and an API write, and reads what the others stored meanwhile.
    let ready = 0;
    for (const deadline = performance.now() + THAW_MS; ready !== 200 && performance.now() < deadline; await sleep(100)) {
      ready = await fetch(`${frozenUrl}/readyz`, { signal: AbortSignal.timeout(HANG_MS) }).then(
        (r) => r.status,
        () => 0,
      );
    }
    expect(ready, frozen.output().slice(-2000)).toBe(200);
    expect(frozen.child.exitCode).toBeNull();
    const acksAtThaw = load.counts.pushesAcked;
    const thawedLoad = load.start(() => [frozenUrl], '(d) thawed');
    await until(() => load.counts.pushesAcked >= acksAtThaw + 10, LOAD_MS);
    await thawedLoad.stop();
    expect(load.counts.pushesAcked, 'pushes acknowledged by the thawed process').toBeGreaterThanOrEqual(acksAtThaw + 10);
    const put = await api(frozenUrl, '/products/API-W', 'PUT', { name: 'after the thaw', price: writer.state.sent + 1, tax: '1' });
    expect(put.status).toBe(200);
    writer.state.sent += 1;
    writer.state.lastAcked = writer.state.sent;
    for (const p of procs) await writer.verify(p.url);
    await expectOneGateway(load, procs, hooks, `(d) ${choose}`);
  }

  it('(d) SIGSTOP of the process writing at that instant: the other two answer every request within 10 s and keep taking pushes and API writes; after SIGCONT it serves again without a restart', async () => {
    await freezeOne('writer');
  });

  it('(d) SIGSTOP of a process that is not writing: the same', async () => {
    await freezeOne('idle');
  });

  it('(e) read-your-writes across processes: a tax, a product, a stock level and adjustment, a sale through one process are seen by the very next read on the other two', async () => {
    const { procs, hooks } = await threeProcesses();
    const device = basicAuth(TABLETS[1]);
    const tablet = async (url: string, resource: 'stock' | 'tax') => {
      const res = await fetch(`${url}/${resource}`, { headers: { authorization: device } });
      expect(res.status).toBe(200);
      return res.json();
    };
    const stockqty = async (url: string, product: string) =>
      ((await tablet(url, 'stock')) as { products: { id: string; stockqty: number }[] }).products.find((p) => p.id === product)?.stockqty;
    for (let round = 0; round < 3; round++) {
      const [a, b, c] = [0, 1, 2].map((i) => procs[(round + i) % 3].url);
      const others = [b, c];
      const taxId = String(20 + round);
      const product = `RYW-${round}`;
      expect((await api(a, `/taxes/${taxId}`, 'PUT', { name: `tax ${round}`, vat: 5 + round })).status).toBeLessThan(300);
      for (const url of others) {
        const taxes = ((await tablet(url, 'tax')) as { taxes: { id: unknown; percentage: number }[] }).taxes;
        expect(
          taxes.find((t) => String(t.id) === taxId),
          `tax ${taxId} written on ${a}, read on ${url}`,
        ).toMatchObject({ percentage: (5 + round) / 100 });
      }
      expect((await api(a, `/products/${product}`, 'PUT', { name: `Product ${product}`, price: 4, tax: taxId })).status).toBe(201);
      for (const url of others) {
        expect((await api(url, `/products/${product}`)).status, `product written on ${a}, read on ${url}`).toBe(200);
        expect(await stockqty(url, product), `product written on ${a}, in the tablets' stock on ${url}`).toBe(999999);
      }
      expect((await api(a, `/stock/${product}`, 'PUT', { quantity: 10 })).status).toBe(200);
      for (const url of others) expect(await stockqty(url, product), `stock level set on ${a}, read on ${url}`).toBe(10);
      expect((await api(b, `/stock/${product}/adjustments`, 'POST', { delta: -3, reason: 'ryw' })).status).toBe(201);
      for (const url of [c, a]) expect(Number((await api(url, `/stock/${product}`)).body.quantity), `adjusted on ${b}, read on ${url}`).toBe(7);
      const id = 3000 + round;
      const res = await fetch(`${c}/invoice`, {
        method: 'POST',
        headers: { authorization: device, accept: 'application/json' },
        body: JSON.stringify({
          invoices: [
            {
              id,
              date: String(Date.UTC(2026, 11, 3, 10) + id),
              checkoutType: '0',
              checkoutStatus: '10',
              total: 8,
              positions: [{ productId: product, qty: 2, total: 8 }],
            },
          ],
        }),
      });
      expect(await res.json()).toMatchObject({ created: 1 });
      for (const url of [a, b]) {
        expect((await api(url, `/sales/${encodeURIComponent(`${TABLETS[1].cashRegister}:${id}`)}`)).status, `sale pushed to ${c}, read on ${url}`).toBe(200);
        expect(await stockqty(url, product), `sale pushed to ${c}, stock read on ${url}`).toBe(5);
      }
    }
    await expectWebhooksOnce(procs[0].url, hooks);
  });
});
