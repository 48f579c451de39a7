import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GatewayEvents } from '../../src/events.js';
import type { DutyTask } from '../../src/kitchen/duty.js';
import { DUTY_LOCK, PgKitchenDuty } from '../../src/kitchen/pg-duty.js';
import { Kitchen, type KitchenChange } from '../../src/kitchen/kitchen.js';
import { startKitchenListener, type KitchenListener } from '../../src/kitchen/listener.js';
import { PgKitchenOrders, sharedScreenToken } from '../../src/kitchen/pg-kitchen-orders.js';
import { createLogger } from '../../src/logger.js';
import { createPool } from '../../src/store/postgres/connection.js';
import { migrate } from '../../src/store/postgres/migrate.js';
import { MISSING_POSTGRES, PG_BIN, queryRows, skipPostgres, startPostgres, type PgCluster } from '../postgres.js';
import { order, sendLikeTablet } from './tablet.js';

let cluster: PgCluster;
const cleanups: (() => Promise<void>)[] = [];

const quietLogger = () =>
  createLogger(
    'warn',
    new Writable({
      write(_c, _e, cb) {
        cb();
      },
    }),
  );

async function migrated(): Promise<string> {
  const url = await cluster.createDatabase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await migrate(client);
  } finally {
    await client.end();
  }
  return url;
}

/** A kitchen as one gateway process has it: its own pool and LISTEN connection on the shared database. */
async function processKitchen(
  url: string,
  poolSize = 4,
): Promise<{ kitchen: Kitchen; pool: pg.Pool; screen: KitchenChange[]; listen(): Promise<KitchenListener> }> {
  const logger = quietLogger();
  const pool = createPool({ url, poolSize }, () => undefined);
  const kitchen = new Kitchen({
    orders: new PgKitchenOrders({ pool, url, logger, pollMs: 100 }),
    events: new GatewayEvents(),
    logger,
    now: () => new Date(),
    recall: 20,
    hookTargets: [],
  });
  await kitchen.open();
  const screen: KitchenChange[] = [];
  kitchen.subscribe((c) => screen.push(c));
  let listener: KitchenListener | null = null;
  cleanups.push(async () => {
    await listener?.close();
    await kitchen.stop();
    await pool.end();
  });
  return {
    kitchen,
    pool,
    screen,
    listen: async () => {
      listener = await startKitchenListener(kitchen, { host: '127.0.0.1', port: 0, ratePerSecond: 1000 }, logger, new GatewayEvents());
      return listener;
    },
  };
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  for (const deadline = Date.now() + ms; !(await check()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

const shown = (screen: KitchenChange[]) => screen.map((c) => [c.seq, c.order.id, c.order.state]);

describe.skipIf(skipPostgres)('kitchen display shared by several processes on one PostgreSQL database', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    if (!PG_BIN) throw new Error(MISSING_POSTGRES);
    cluster = await startPostgres();
  }, 60_000);
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('an order received by one process reaches the screens of another, live and on (re)connecting', async () => {
    const url = await migrated();
    const a = await processKitchen(url);
    const b = await processKitchen(url);
    const port = (await a.listen()).port;
    await sendLikeTablet(port, order('Tisch 1', [{ product: 'Suppe', amount: '2' }]));
    await sendLikeTablet(port, 'kaputt');
    await sendLikeTablet(port, order('Tisch 2', [{ product: 'Brot', amount: 1 }]));
    // Live on B (told by NOTIFY), in seq order, the rejected message not shown.
    await until(() => b.screen.length === 2, 'the orders on the other process');
    expect(b.screen.map((c) => [c.order.id, c.order.table, c.order.state])).toEqual([
      ['1', 'Tisch 1', 'open'],
      ['3', 'Tisch 2', 'open'],
    ]);
    expect(shown(b.screen)).toEqual(shown(a.screen));
    // A screen connecting to B gets the picture; one reconnecting with A's first event id gets what followed.
    expect((await b.kitchen.changes(null)).changes.map((c) => c.order.table)).toEqual(['Tisch 1', 'Tisch 2']);
    const after = await b.kitchen.changes(a.screen[0].seq);
    expect(after.reset).toBe(false);
    expect(after.changes.map((c) => c.order.id)).toEqual(['3']);
    expect((await b.kitchen.list({ state: 'all', firstResult: 0, maxResults: 10 })).total).toBe(3);
  });

  it('forty tablets at once take at most two of the pool connections the sales share', async () => {
    const url = await migrated();
    const a = await processKitchen(url, 10);
    const port = (await a.listen()).port;
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, a.pool.totalCount - a.pool.idleCount)), 1);
    try {
      await Promise.all(Array.from({ length: 40 }, (_, n) => sendLikeTablet(port, order(`T${n}`, [{ product: 'X', amount: 1 }]))));
    } finally {
      clearInterval(watch);
    }
    expect((await a.kitchen.list({ state: 'open', firstResult: 0, maxResults: 100 })).total).toBe(40);
    // One transaction at a time, plus the read that tells the screens.
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
  });

  it('done on one process, reopen on another: each decides on the stored order, every screen sees both in order', async () => {
    const url = await migrated();
    const a = await processKitchen(url);
    const b = await processKitchen(url);
    await sendLikeTablet((await a.listen()).port, order('Tisch 5', [{ product: 'Kuchen', amount: 1 }]));
    // Each press once both screens show the one before (a change superseded before a process reads it is not shown there).
    const seen = (n: number) => until(() => a.screen.length === n && b.screen.length === n, `change ${n} on both screens`);
    await seen(1);
    expect(await a.kitchen.markDone('1')).toMatchObject({ state: 'done' });
    await seen(2);
    expect(await b.kitchen.reopen('1')).toMatchObject({ state: 'open' });
    await seen(3);
    // Done again on A after B reopened it: a change, not "already done".
    expect(await a.kitchen.markDone('1')).toMatchObject({ state: 'done' });
    await seen(4);
    expect(a.screen.map((c) => c.order.state)).toEqual(['open', 'done', 'open', 'done']);
    expect(shown(b.screen)).toEqual(shown(a.screen));
  });

  it('done pressed at once on two processes is one change; done and reopen pressed at once end with both screens where the database is', async () => {
    const url = await migrated();
    const a = await processKitchen(url);
    const b = await processKitchen(url);
    const port = (await a.listen()).port;
    for (let n = 1; n <= 10; n++) await sendLikeTablet(port, order(`T${n}`, [{ product: 'X', amount: n }]));
    await until(() => b.screen.length === 10, 'the orders on B');
    const lastSeq = async () => Number((await queryRows<{ seq: string }>(url, 'SELECT max(seq)::text AS seq FROM kitchen_orders'))[0].seq);
    const before = await lastSeq();
    // Both find the order open; decided one after the other on the locked row, only the first changes it.
    const both = await Promise.all([a.kitchen.markDone('1'), b.kitchen.markDone('1')]);
    expect(both.map((o) => o?.state)).toEqual(['done', 'done']);
    expect(both[0]!.doneAt).toBe(both[1]!.doneAt);
    expect(await lastSeq()).toBe(before + 1);
    await until(() => b.screen.length === 11 && a.screen.length === 11, 'the change on both screens');
    expect(shown(b.screen).slice(10)).toEqual([[before + 1, '1', 'done']]);

    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => String(i + 1)).flatMap((id) =>
        Array.from({ length: 5 }, () => [a.kitchen.markDone(id), b.kitchen.reopen(id), b.kitchen.markDone(id), a.kitchen.reopen(id)]).flat(),
      ),
    );
    expect(outcomes.every((o) => o !== null)).toBe(true);
    const rows = await queryRows<{ id: string; seq: string; state: string }>(url, 'SELECT id::text, seq::text, state FROM kitchen_orders ORDER BY id');
    const last = await lastSeq();
    await until(() => [a, b].every((p) => p.screen.at(-1)?.seq === last), 'the last change on both screens');
    for (const p of [a, b]) {
      // In seq order, no seq twice (a change superseded before a process read it is skipped, as on one process).
      const seqs = p.screen.map((c) => c.seq);
      expect([...new Set(seqs)].sort((x, y) => x - y)).toEqual(seqs);
      // Every order's last change on the screen is its state in the database.
      for (const r of rows) expect(p.screen.filter((c) => c.order.id === r.id).at(-1)).toMatchObject({ seq: Number(r.seq), order: { state: r.state } });
    }
  });

  it("the screen's CSRF token is the database's: a screen's post is accepted by any process", async () => {
    const url = await migrated();
    const pools = [1, 2].map(() => createPool({ url, poolSize: 2 }, () => undefined));
    try {
      const [first, second] = await Promise.all(pools.map((p) => sharedScreenToken(p)));
      expect(first).toMatch(/^[\w-]{32}$/);
      expect(second).toBe(first);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('the duty (kitchen listener) runs in one process; it moves to another within seconds when its holder stops or its connection dies', async () => {
    const url = await migrated();
    const logger = quietLogger();
    const running = new Set<string>();
    const closed: string[] = [];
    const started: string[] = [];
    const duty = (name: string) => {
      const d = new PgKitchenDuty({ url, logger, retryMs: 200 });
      // Trying at once, as the gateway does when it opens; the listener is added when it serves.
      d.start();
      d.run('listener', async (): Promise<DutyTask> => {
        running.add(name);
        started.push(name);
        return {
          close: async () => {
            running.delete(name);
            closed.push(name);
          },
        };
      });
      cleanups.push(() => d.stop());
      return d;
    };
    const first = duty('first');
    await until(() => first.onDuty, 'the first process on duty');
    // A duty added while on duty (the listener, once the process serves) starts at once, once; the others are not started again.
    let late = 0;
    first.run('late', async () => {
      late++;
      return null;
    });
    await until(() => late === 1, 'the late duty started');
    await delay(400);
    expect([late, started.filter((n) => n === 'first').length]).toEqual([1, 1]);
    const second = duty('second');
    const third = duty('third');
    await delay(600);
    expect([...running]).toEqual(['first']);
    expect(second.onDuty || third.onDuty).toBe(false);

    await first.stop();
    expect(running.has('first')).toBe(false);
    await until(() => running.size === 1, 'another process on duty');
    const [holder] = [...running];
    const holding = holder === 'second' ? second : third;
    expect(holding.onDuty).toBe(true);

    // Its connection dies (the server ended it): it stops its duty at once; exactly one process has it again soon after.
    await queryRows(
      url,
      `SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.granted`,
      DUTY_LOCK,
    );
    await until(() => !holding.onDuty || running.size === 0, 'the holder noticed');
    await until(() => [second, third].filter((d) => d.onDuty).length === 1 && running.size === 1, 'one process on duty again');
    expect(closed).toContain(holder);
  });

  it('a frozen holder (SIGSTOP) loses the duty within seconds; thawed, it stops its duty', async () => {
    const url = await migrated();
    const holder = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/duty-holder.ts', import.meta.url)), url, '300'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    holder.stdout!.on('data', (c) => (out += c));
    cleanups.push(async () => {
      holder.kill('SIGCONT');
      holder.kill('SIGKILL');
    });
    await until(() => out.includes('ON DUTY'), 'the other process on duty', 30_000);
    let mine = 0;
    const duty = new PgKitchenDuty({ url, logger: quietLogger(), retryMs: 200 });
    duty.run('listener', async () => {
      mine++;
      return null;
    });
    duty.start();
    cleanups.push(() => duty.stop());
    await delay(500);
    expect(duty.onDuty).toBe(false);

    holder.kill('SIGSTOP');
    // The server ends the frozen holder's idle session (idle_session_timeout: three of its heartbeats), freeing the lock.
    await until(() => duty.onDuty, 'the duty taken from the frozen process', 20_000);
    expect(mine).toBe(1);
    holder.kill('SIGCONT');
    await until(() => out.includes('OFF DUTY'), 'the thawed process stopped its duty');
    expect(duty.onDuty).toBe(true);
  });
});
