import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GatewayEvents } from '../../src/events.js';
import { ClaimWorkers } from '../../src/forward/claim-workers.js';
import { HttpClient } from '../../src/forward/upstream-client.js';
import { UpstreamTarget } from '../../src/forward/upstream-target.js';
import { createLogger } from '../../src/logger.js';
import type { OutboxItem } from '../../src/store/outbox-store.js';
import { migrate } from '../../src/store/postgres/migrate.js';
import { OutboxTable } from '../../src/store/postgres/outbox-table.js';
import { notifyOutbox, OUTBOX_CHANNEL } from '../../src/store/postgres/outbox-notify.js';
import { PgOutboxStore, writeItems } from '../../src/store/postgres/pg-outbox.js';
import { PgStore } from '../../src/store/postgres/pg-store.js';
import { MISSING_POSTGRES, PG_BIN, queryRows, skipPostgres, startPostgres, type PgCluster } from '../postgres.js';
import { eventually } from './harness.js';

/** A srv4pos-style upstream on 127.0.0.1 that takes POST /sales and remembers every request, in arrival order. */
async function countingUpstream() {
  const received: { identifier: string; register: string }[] = [];
  /** Identifiers whose answer waits until the test lets it go. */
  const held = new Map<string, () => void>();
  const holding = new Set<string>();
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const sale = JSON.parse(body || '{}') as { identifier: string; cashRegisterName: string };
      received.push({ identifier: sale.identifier, register: sale.cashRegisterName });
      const answer = () => res.writeHead(201, { 'content-type': 'application/json' }).end(body);
      if (holding.has(sale.identifier)) held.set(sale.identifier, answer);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    received,
    held,
    holding,
    count: (identifier: string) => received.filter((r) => r.identifier === identifier).length,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let seq = 0;
/** The first change of sale `<register>:<n>`, as the outbox stores it for upstream. */
function saleItem(register: string, n: number, extra: Partial<OutboxItem> = {}): OutboxItem {
  const identifier = `${register}:${n}`;
  const s = ++seq;
  return {
    key: `${identifier}@${s}`,
    target: 'upstream',
    identifier,
    cashRegisterName: register,
    seq: s,
    version: 1,
    kind: 'created',
    previousStatus: null,
    changedAt: new Date().toISOString(),
    enqueuedAt: new Date().toISOString(),
    attempts: 0,
    lastError: null,
    nextAttemptAt: null,
    sale: {
      identifier,
      cashRegisterName: register,
      createdAt: new Date().toISOString(),
      status: 'completed',
      lines: [],
      payments: [],
      total: 1,
      vat: 0,
      discount: 0,
      costPrice: 0,
    } as unknown as OutboxItem['sale'],
    ...extra,
  };
}

const silent = () =>
  createLogger(
    'warn',
    new Writable({
      write(_c, _e, cb) {
        cb();
      },
    }),
  );

describe.skipIf(skipPostgres)('the PostgreSQL outbox claimed by several workers', { timeout: 60_000 }, () => {
  let cluster: PgCluster;
  const pools: pg.Pool[] = [];
  const running: ClaimWorkers[] = [];
  const upstreams: Awaited<ReturnType<typeof countingUpstream>>[] = [];

  beforeAll(async () => {
    if (!PG_BIN) throw new Error(MISSING_POSTGRES);
    cluster = await startPostgres();
  }, 60_000);
  afterEach(async () => {
    for (const w of running.splice(0)) await w.stop(100);
    for (const p of pools.splice(0)) await p.end();
    for (const u of upstreams.splice(0)) await u.close();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  /** A fresh migrated database holding `items`. */
  async function database(items: OutboxItem[]): Promise<string> {
    const url = await cluster.createDatabase();
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pools.push(pool);
    const client = await pool.connect();
    try {
      await migrate(client);
      await writeItems(client, items, 'NOTHING');
    } finally {
      client.release();
    }
    return url;
  }

  /** What one gateway process runs: its own pool, its own worker id, its own HTTP client to upstream. */
  function worker(
    url: string,
    upstreamUrl: string,
    name: string,
    opts: { leaseMs?: number; events?: GatewayEvents; pollMs?: number; notifyUrl?: string } = {},
  ) {
    const pool = new pg.Pool({ connectionString: url, max: 3 });
    pools.push(pool);
    const table = new OutboxTable(pool, name);
    const client = new HttpClient({ baseUrl: upstreamUrl, timeoutMs: 5_000 });
    const workers = new ClaimWorkers([new UpstreamTarget(client, 100)], {
      table,
      leaseMs: opts.leaseMs ?? 30_000,
      logger: silent(),
      events: opts.events,
      pollMs: opts.pollMs ?? 20,
      notifyUrl: opts.notifyUrl,
      batch: 4,
      random: () => 0,
    });
    running.push(workers);
    return { table, workers, pool };
  }

  const outboxRows = async (url: string) => Number((await queryRows<{ n: string }>(url, 'SELECT count(*)::text AS n FROM outbox'))[0].n);

  it('three workers on one database deliver every item exactly once, each register in order', async () => {
    const registers = Array.from({ length: 8 }, (_, i) => `TAB-${i + 1}`);
    const items: OutboxItem[] = [];
    for (let n = 1; n <= 15; n++) for (const r of registers) items.push(saleItem(r, n));
    const url = await database(items);
    const upstream = await countingUpstream();
    upstreams.push(upstream);
    const deliveredBy = new Map<string, string>();
    for (const name of ['process-a', 'process-b', 'process-c']) {
      const events = new GatewayEvents();
      events.on('outbox.delivered', (e) => deliveredBy.set(e.identifier, name));
      worker(url, upstream.url, name, { events }).workers.start();
    }
    await eventually(async () => upstream.received.length >= items.length && (await outboxRows(url)) === 0, 'every item delivered', 30_000);

    // Exactly once by identifier at upstream.
    expect(upstream.received).toHaveLength(items.length);
    expect(new Set(upstream.received.map((r) => r.identifier)).size).toBe(items.length);
    // Per register in the order of the changes, whichever process sent each one.
    for (const r of registers) {
      expect(upstream.received.filter((x) => x.register === r).map((x) => x.identifier)).toEqual(Array.from({ length: 15 }, (_, i) => `${r}:${i + 1}`));
    }
    expect(deliveredBy.size).toBe(items.length);
  });

  it('the claims of a worker that died mid-delivery expire; another worker delivers them, in order, once', async () => {
    const items = [saleItem('TAB-1', 1), saleItem('TAB-2', 1), saleItem('TAB-1', 2), saleItem('TAB-2', 2)];
    const url = await database(items);
    const upstream = await countingUpstream();
    upstreams.push(upstream);
    // The doomed process claims both register heads with a short lease, then never finishes.
    const doomedPool = new pg.Pool({ connectionString: url, max: 1 });
    const claimed = await new OutboxTable(doomedPool, 'doomed').claim('upstream', 10, 300);
    await doomedPool.end();
    expect(claimed.map((c) => c.item.identifier).sort()).toEqual(['TAB-1:1', 'TAB-2:1']);

    const survivor = worker(url, upstream.url, 'survivor');
    // While the lease holds, neither the heads nor the changes after them can be claimed.
    expect(await survivor.table.claim('upstream', 10, 30_000)).toEqual([]);
    survivor.workers.start();
    await eventually(async () => (await outboxRows(url)) === 0, 'everything delivered once the lease expired', 30_000);
    expect(upstream.received.map((r) => r.identifier).filter((id) => id.startsWith('TAB-1'))).toEqual(['TAB-1:1', 'TAB-1:2']);
    expect(upstream.received.map((r) => r.identifier).filter((id) => id.startsWith('TAB-2'))).toEqual(['TAB-2:1', 'TAB-2:2']);
    for (const item of items) expect(upstream.count(item.identifier)).toBe(1);
  });

  it('a worker whose lease expired cannot settle the item another worker holds now', async () => {
    const item = saleItem('TAB-1', 1);
    const url = await database([item]);
    const upstream = await countingUpstream();
    upstreams.push(upstream);
    const frozen = worker(url, upstream.url, 'frozen');
    const [stale] = await frozen.table.claim('upstream', 1, 200);
    expect(stale.item.identifier).toBe('TAB-1:1');

    // The lease runs out; the live worker claims the item and its delivery is in flight.
    upstream.holding.add('TAB-1:1');
    const live = worker(url, upstream.url, 'live');
    live.workers.start();
    await eventually(() => upstream.held.has('TAB-1:1'), 'the live worker delivering');
    const [row] = await queryRows<{ claimed_by: string }>(url, 'SELECT claimed_by FROM outbox');
    expect(row.claimed_by).toBe('live');

    // The frozen worker wakes up: none of its settlements takes effect, the claim stays the live one's.
    expect(
      await frozen.table.attempted(stale, { ...stale.item, attempts: 1, lastError: 'late', nextAttemptAt: new Date(Date.now() + 3_600_000).toISOString() }),
    ).toBe(false);
    expect(await frozen.table.deadLettered(stale, { ...stale.item, dead: { at: new Date().toISOString(), error: 'late', status: 422, response: '' } })).toBe(
      false,
    );
    expect(await frozen.table.delivered(stale)).toBe(false);
    expect(await queryRows(url, 'SELECT claimed_by, dead FROM outbox')).toEqual([{ claimed_by: 'live', dead: false }]);

    upstream.held.get('TAB-1:1')!();
    await eventually(async () => (await outboxRows(url)) === 0, 'delivered by the live worker');
    expect(upstream.count('TAB-1:1')).toBe(1);
  });

  it('claims register heads only: not behind a pending change (claimed, or waiting for its backoff), but past a dead letter', async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const waiting = saleItem('TAB-1', 1, { attempts: 1, nextAttemptAt: later });
    const dead = saleItem('TAB-2', 1, { dead: { at: new Date().toISOString(), error: 'HTTP 422', status: 422, response: '' } });
    const items = [waiting, dead, saleItem('TAB-1', 2), saleItem('TAB-2', 2), saleItem('TAB-3', 1), saleItem('TAB-3', 2)];
    const url = await database(items);
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    pools.push(pool);
    const a = new OutboxTable(pool, 'a');
    const b = new OutboxTable(pool, 'b');
    expect((await a.claim('upstream', 10, 30_000)).map((c) => c.item.identifier)).toEqual(['TAB-2:2', 'TAB-3:1']);
    // TAB-3:2 waits for TAB-3:1, which a holds.
    expect(await b.claim('upstream', 10, 30_000)).toEqual([]);
    const waitMs = await b.waitMs('upstream');
    expect(waitMs).toBeGreaterThan(0);
  });

  /** What another process's commit round does: the items and their notification in one transaction (src/store/postgres/pg-outbox.ts). */
  async function addFromAnotherProcess(url: string, items: OutboxItem[], opts: { notify: boolean }): Promise<void> {
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    pools.push(pool);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await writeItems(client, items, 'NOTHING');
      if (opts.notify)
        await notifyOutbox(
          client,
          items.map((i) => i.target),
        );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }

  const listenerConnections = async (url: string) =>
    Number(
      (
        await queryRows<{ n: string }>(
          url,
          `SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tabshop-gateway listener'`,
        )
      )[0].n,
    );

  it('a worker that polls only every minute delivers an item another process added at once: the commit notifies it', async () => {
    const url = await database([]);
    const upstream = await countingUpstream();
    upstreams.push(upstream);
    const idle = worker(url, upstream.url, 'listening', { pollMs: 60_000, notifyUrl: url });
    idle.workers.start();
    await expect.poll(() => idle.workers.listening, { timeout: 10_000 }).toBe(true);
    // Asleep until its next poll, a minute away: only the notification can wake it within the wait below.
    await expect.poll(() => idle.table.waitMs('upstream')).toBeNull();

    await addFromAnotherProcess(url, [saleItem('TAB-1', 1)], { notify: true });
    await expect.poll(() => upstream.count('TAB-1:1'), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => outboxRows(url), { timeout: 10_000 }).toBe(0);
  });

  it('when the LISTEN connection drops, the process carries on: delivery by polling, and it listens again', async () => {
    const url = await database([]);
    const upstream = await countingUpstream();
    upstreams.push(upstream);
    const w = worker(url, upstream.url, 'dropped', { pollMs: 200, notifyUrl: url });
    w.workers.start();
    await expect.poll(() => w.workers.listening, { timeout: 10_000 }).toBe(true);

    await queryRows(
      url,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tabshop-gateway listener'`,
    );
    // Added with no notification at all: found by polling.
    await addFromAnotherProcess(url, [saleItem('TAB-2', 1)], { notify: false });
    await expect.poll(() => upstream.count('TAB-2:1'), { timeout: 10_000 }).toBe(1);

    await expect.poll(() => w.workers.listening && listenerConnections(url), { timeout: 10_000 }).toBe(1);
    await addFromAnotherProcess(url, [saleItem('TAB-2', 2)], { notify: true });
    await expect.poll(() => upstream.count('TAB-2:2'), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => outboxRows(url), { timeout: 10_000 }).toBe(0);
  });

  it("the sales store's commit round that adds items notifies the channel with their target, once it commits", async () => {
    const url = await database([]);
    const store = new PgStore({ url, poolSize: 2 }, tmpdir());
    await store.open({ onSale: () => undefined, onQuarantine: () => undefined, onModification: () => undefined });
    const outbox = new PgOutboxStore(store);
    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (m) => {
      if (m.channel === OUTBOX_CHANNEL) heard.push(m.payload ?? '');
    });
    try {
      await listener.query(`LISTEN ${OUTBOX_CHANNEL}`);
      outbox.add(saleItem('TAB-3', 1));
      await store.commit();
      await expect.poll(() => heard, { timeout: 10_000 }).toEqual(['upstream']);
      expect(await outboxRows(url)).toBe(1);
    } finally {
      await listener.end();
      await store.close();
    }
  });
});
