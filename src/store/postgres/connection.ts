import { hostname } from 'node:os';
import pg from 'pg';
import { describeDatabase } from './sql-values.js';

export interface PostgresOptions {
  url: string;
  poolSize: number;
  /** The PostgreSQL schema the store's tables live in (default public: as before schemas were configurable). */
  schema?: string;
  /** Spare schemas kept ready for new shops' schemas (default SPARE_SCHEMAS; used only by stores outside public). */
  spareSchemas?: number;
}

/**
 * Every connection commits synchronously whatever the server's default: a resolved COMMIT is on the
 * server's disk. writer_schema: this gateway writes the rows of schema version 7 itself (payments)
 * and the outbox columns of version 8, and claims the outbox from the table; the database's
 * triggers fill them in for writers that do not say so (migrations/0007, 0009), and outbox items
 * are claimed only once the last writer said 8 or more (gateway_leader.writer_schema, migrations/0009).
 * Sales written by a writer that does not announce 7 or more make stock_levels untrusted (migrations/0012).
 */
export const WRITER_SCHEMA = 8;
/**
 * A transaction left open by a client that vanished without a goodbye (a network partition, a
 * frozen process) is ended by the server after this long, so its row locks do not outlive it.
 */
const IDLE_IN_TRANSACTION_MS = 60_000;
const SESSION_OPTIONS = `-c synchronous_commit=on -c tabshop.writer_schema=${WRITER_SCHEMA} -c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_MS}`;
/**
 * How long a statement sent through the pool may go unanswered. Without it, a link that silently
 * drops packets (no reset) leaves the query waiting for the kernel's retransmission timeout (about
 * 15 minutes), and the request with it; with it the request fails (503) and the connection is
 * discarded. Migrations run on a connection of their own, without this limit.
 */
export const QUERY_TIMEOUT_MS = 15_000;
const QUERY_TIMEOUT_MESSAGE = 'Query read timeout';

/** The error of a statement that went unanswered for QUERY_TIMEOUT_MS: its connection cannot be used again. */
export const isQueryTimeout = (err: unknown) => err instanceof Error && err.message === QUERY_TIMEOUT_MESSAGE;

export function createPool(opts: PostgresOptions, onError: (err: Error) => void): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize,
    options: SESSION_OPTIONS,
    application_name: 'tabshop-gateway',
    keepAlive: true,
    connectionTimeoutMillis: 10_000,
    query_timeout: QUERY_TIMEOUT_MS,
  });
  // An idle connection the server closed must not crash the process; the next query opens another.
  pool.on('error', onError);
  return pool;
}

/**
 * The connections write leases are held on (shared by the stores of a process on one database,
 * shared-database.ts): no statement time limit (taking the lock waits up to the lease's waitMs),
 * and at most poolSize of them, apart from the pool the rounds use, so stores holding leases at
 * once never take the connections their rounds need.
 */
export function createLeasePool(opts: PostgresOptions, onError: (err: Error) => void): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize,
    options: SESSION_OPTIONS,
    application_name: `${holderName()} lease`.slice(0, 63),
    keepAlive: true,
    connectionTimeoutMillis: LEASE_TIMINGS.waitMs,
    // Kept while idle, as a store's lease connection was before they were pooled: the next burst does not connect first.
    idleTimeoutMillis: 0,
  });
  pool.on('error', onError);
  return pool;
}

const holderName = () => `tabshop-gateway pid ${process.pid} on ${hostname()}`;

export function createClient(url: string, applicationName = 'tabshop-gateway'): pg.Client {
  const client = new pg.Client({
    connectionString: url,
    options: SESSION_OPTIONS,
    application_name: applicationName,
    keepAlive: true,
    connectionTimeoutMillis: 10_000,
  });
  // pg emits 'error' when the connection drops, even while a query runs (which fails with it): with
  // no listener that event would crash the process. The failed query, or the next one, reports it.
  client.on('error', () => undefined);
  return client;
}

/** A connection failure, said in one line that names the database (never the password). */
export class DatabaseUnavailableError extends Error {
  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    super(`cannot use ${describeDatabase(url)}: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'DatabaseUnavailableError';
  }
}

/** The write lease was lost (its connection ended, or another process took it since): the round is not done. */
export class LeaseLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseLostError';
  }
}

/** The feature number of the write lease's advisory lock: [0x7ab54009, 1] in the public schema (schema-names.ts). */
export const LEASE_LOCK_FEATURE = 1;
const PUBLIC_LEASE_LOCK: [number, number] = [0x7ab5_4009, LEASE_LOCK_FEATURE];
const LOCK_FILTER = `locktype = 'advisory' AND classid = $1 AND objid = $2 AND objsubid = 2`;
const HOLDER_SQL = `SELECT a.application_name, host(a.client_addr) AS client_addr, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
  WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2 AND l.granted`;

/** What LEASE_CHECK reads: the lock held by the lease's connection, the epoch, and whether that is the hold's epoch. */
export interface LeaseCheck {
  held: boolean;
  epoch: string;
  current: boolean;
}

/**
 * The fencing check of a commit round ($1, $2: the lock key; $3: the lease's server process; $4: the
 * epoch of this hold): one row, locked FOR SHARE, unless gateway_leader has none.
 */
export const LEASE_CHECK = `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE ${LOCK_FILTER} AND granted AND pid = $3) AS held,
  epoch::text AS epoch, epoch::text = $4::text AS current FROM gateway_leader WHERE id FOR SHARE`;

export interface LeaseTimings {
  /** A statement on the lease's connection this often, so the server sees a live holder. */
  heartbeatMs: number;
  /** The server ends the lease's session (and frees the lock) when its holder stays silent this long. */
  idleTimeoutMs: number;
  /** Held this long after the last unit of work ended, for the next one (a burst of pushes). */
  lingerMs: number;
  /** Held at most this long while another process waits for it: then handed over (stop admitting, drain, release). */
  maxHoldMs: number;
  /** A unit of work waits this long for the lease, then fails (503). */
  waitMs: number;
}

export const LEASE_TIMINGS: LeaseTimings = { heartbeatMs: 1_000, idleTimeoutMs: 5_000, lingerMs: 20, maxHoldMs: 200, waitMs: 12_000 };

export interface LeaseHooks {
  /** Right after the lock is granted: raise the fencing epoch in a committed statement (not in the lease's transaction). */
  raiseEpoch(holder: string): Promise<string>;
  /** After the epoch, before any unit runs: bring the caches up to date. */
  acquired(): Promise<void>;
  /** The lease was lost while held (its connection ended): in-flight rounds fail. */
  lost(err: Error): void;
}

/**
 * The database's write lease, "lead per burst": taken on demand by a process that has a unit of
 * work (or a commit round) to run, held by an open transaction on a connection of its own
 * (`pg_advisory_xact_lock`), released when nothing is in flight (after a short linger) or, while
 * another process waits, after maxHoldMs. A heartbeat keeps the transaction busy; a holder that
 * is frozen (SIGSTOP) or cut off goes silent, and the server ends its session after idleTimeoutMs,
 * which frees the lock for the next process. Fencing: every acquisition raises the epoch in
 * gateway_leader, and every commit round checks lock and epoch (checkSql and verify), so a holder that lost
 * the lease can never commit.
 */
export class WriteLease {
  /** Taken from the lease pool for one hold, given back when the hold ends. */
  private client: pg.PoolClient | null = null;
  private unwatch: (() => void) | null = null;
  /** The server process of the lease's connection: pg_locks names the holder by it. */
  private backendPid: number | null = null;
  /** The fencing epoch of the current hold (text: bigint). */
  private epoch: string | null = null;
  private state: 'free' | 'acquiring' | 'held' | 'releasing' = 'free';
  private transition: Promise<void> | null = null;
  private units = 0;
  private heldSince = 0;
  /** Another process waits: admit no new unit, release once the running ones are done. */
  private draining = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private linger: NodeJS.Timeout | null = null;
  private closed = false;
  /** Acquisitions, for operators and tests. */
  acquisitions = 0;
  readonly timings: LeaseTimings;

  constructor(
    private readonly url: string,
    private readonly hooks: LeaseHooks,
    timings: Partial<LeaseTimings> = {},
    /** Where the lease's connection comes from (the process's lease pool for this database). */
    private readonly connections: pg.Pool,
    /** The advisory lock key of this store's schema (two int4: classid, objid), read when the lease is first taken. */
    private readonly lockKey: () => [number, number],
  ) {
    this.timings = { ...LEASE_TIMINGS, ...timings };
  }

  get holderName(): string {
    return holderName();
  }

  get held(): boolean {
    return this.state === 'held';
  }

  /**
   * Write access for a unit of work (or a commit round): resolves once this process holds the
   * lease, with the function that says the unit is done. `inside`: a round of a unit already
   * admitted (never held back by a hand-over, or the unit could not finish).
   */
  async enter(inside = false): Promise<() => void> {
    for (;;) {
      if (this.closed) throw new LeaseLostError('the store is closed');
      if (this.state === 'held' && (!this.draining || inside)) break;
      if (this.state === 'held') {
        // A hand-over in progress: wait for the release, then queue for the lock again.
        await this.released();
        continue;
      }
      if (this.state === 'free') this.transition = this.acquire();
      // An acquisition that fails fails every unit waiting for it (503): none is retried behind the caller's back.
      await this.transition;
    }
    this.units++;
    if (this.linger) clearTimeout(this.linger);
    this.linger = null;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.units--;
      if (this.units === 0) this.idle();
    };
  }

  private releaseWaiters: (() => void)[] = [];
  private released(): Promise<void> {
    return new Promise((resolve) => this.releaseWaiters.push(resolve));
  }

  private async acquire(): Promise<void> {
    this.state = 'acquiring';
    try {
      const client = this.client ?? (await this.connect());
      this.client = client;
      await client.query('BEGIN');
      await client.query(`SET LOCAL lock_timeout = ${this.timings.waitMs}`);
      try {
        await client.query('SELECT pg_advisory_xact_lock($1, $2)', this.lockKey());
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw (err as { code?: string }).code === '55P03'
          ? new LeaseLostError(`the write lease of ${describeDatabase(this.url)} was not free within ${this.timings.waitMs} ms`)
          : err;
      }
      this.backendPid = await backendPid(client);
      this.epoch = await this.hooks.raiseEpoch(this.holderName);
      this.acquisitions++;
      this.heldSince = Date.now();
      this.draining = false;
      this.startHeartbeat(client);
      await this.hooks.acquired();
      this.state = 'held';
    } catch (err) {
      this.stopHeartbeat();
      this.dropConnection();
      this.state = 'free';
      this.wakeWaiters();
      throw err;
    } finally {
      this.transition = null;
    }
  }

  private idle(): void {
    if (this.draining) {
      void this.release();
      return;
    }
    this.linger = setTimeout(() => {
      this.linger = null;
      if (this.units === 0 && this.state === 'held') void this.release();
    }, this.timings.lingerMs);
    this.linger.unref();
  }

  /** Ends the lease's transaction (frees the lock) once no unit is in flight. */
  private async release(): Promise<void> {
    if (this.state !== 'held' || this.units > 0) return;
    this.state = 'releasing';
    this.stopHeartbeat();
    const client = this.client;
    const done = (async () => {
      try {
        await client?.query('COMMIT');
        // Back to the lease pool: another store of this process may hold its lease on it meanwhile.
        if (client && this.client === client) this.giveBack();
      } catch {
        this.dropConnection();
      }
      this.epoch = null;
      this.state = 'free';
      this.wakeWaiters();
    })();
    this.transition = done;
    await done;
    if (this.transition === done) this.transition = null;
  }

  private wakeWaiters(): void {
    const waiters = this.releaseWaiters;
    this.releaseWaiters = [];
    for (const w of waiters) w();
  }

  private startHeartbeat(client: pg.PoolClient): void {
    this.stopHeartbeat();
    // Often enough to notice a waiting process once the maximum hold has passed.
    this.heartbeat = setInterval(() => void this.beat(client), Math.min(this.timings.heartbeatMs, this.timings.maxHoldMs));
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  /** Keeps the transaction alive and looks whether another process waits for the lock. */
  private async beat(client: pg.PoolClient): Promise<void> {
    if (this.client !== client || (this.state !== 'held' && this.state !== 'acquiring')) return;
    try {
      const { rows } = await client.query<{ waiting: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE ${LOCK_FILTER} AND NOT granted) AS waiting`,
        this.lockKey(),
      );
      if (rows[0].waiting && this.state === 'held' && Date.now() - this.heldSince >= this.timings.maxHoldMs) {
        this.draining = true;
        if (this.units === 0) void this.release();
      }
    } catch (err) {
      this.lose(client, err as Error);
    }
  }

  private lose(client: pg.PoolClient, err: Error): void {
    if (this.client !== client || this.frozen) return;
    const wasHeld = this.state === 'held';
    this.stopHeartbeat();
    this.dropConnection();
    this.epoch = null;
    if (this.state === 'held' || this.state === 'releasing') {
      this.state = 'free';
      this.wakeWaiters();
    }
    if (wasHeld) this.hooks.lost(err);
  }

  /**
   * The fencing check a commit round runs inside its transaction (its first round trip): LEASE_CHECK
   * with its parameters written in, for a simple query that holds several statements (no parameters
   * there; they are numbers this process holds, never input: written as digits only). verify()
   * then fails the round unless the lease's connection still holds the lock (a dropped connection
   * may not have been noticed yet) and no other process took the lease since (the epoch); FOR SHARE
   * makes a new holder's epoch wait until this round has committed.
   */
  checkSql(): string {
    const params = [...this.lockKey(), this.backendPid, this.epoch];
    const literal = (v: unknown) => (v === null ? 'NULL' : `'${String(v).replace(/[^0-9]/g, '')}'`);
    return LEASE_CHECK.replace(/\$([1-4])/g, (_, n: string) => literal(params[Number(n) - 1]));
  }

  /** Throws unless what LEASE_CHECK read says this process still holds the lease. */
  verify(row: Omit<LeaseCheck, 'current'> | undefined): void {
    if (this.epoch === null || row?.epoch !== this.epoch)
      throw new LeaseLostError('another gateway process took the write lease since this round began; it is not done');
    if (!row.held) throw new LeaseLostError('lost the write lease (its connection was dropped); it is taken again for the next unit of work');
  }

  /** The lease's connection went away without a word from the server (a test freezing a holder uses this too). */
  async close(): Promise<void> {
    this.closed = true;
    this.stopHeartbeat();
    if (this.linger) clearTimeout(this.linger);
    const client = this.client;
    this.state = 'free';
    this.wakeWaiters();
    if (!client) return;
    const ended = await client.query('COMMIT').then(
      () => undefined,
      (err: Error) => err,
    );
    if (this.client !== client) return;
    if (ended) this.dropConnection();
    else this.giveBack();
  }

  /**
   * A round found the lease gone (verify): this hold is over. Units already admitted finish
   * (their rounds take the lease again, and fail if another process wrote meanwhile).
   */
  forfeit(): void {
    this.frozen = false;
    if (this.state !== 'held') return;
    this.stopHeartbeat();
    this.dropConnection();
    this.epoch = null;
    this.state = 'free';
    this.wakeWaiters();
  }

  /** Tests: a frozen process (SIGSTOP): no heartbeat, and it notices nothing until a round of its own fails. */
  freezeForTest(): void {
    this.stopHeartbeat();
    this.frozen = true;
  }

  private frozen = false;

  /** Discards the connection (the pool closes it): whatever it held ends with it. */
  private dropConnection(): void {
    const client = this.client;
    this.client = null;
    this.backendPid = null;
    this.unwatch?.();
    this.unwatch = null;
    if (client) client.release(new Error('the write lease dropped its connection'));
  }

  /** The hold is over and its transaction ended: the connection goes back to the lease pool. */
  private giveBack(): void {
    const client = this.client;
    this.client = null;
    this.backendPid = null;
    this.unwatch?.();
    this.unwatch = null;
    client?.release();
  }

  private async connect(): Promise<pg.PoolClient> {
    let client: pg.PoolClient;
    try {
      client = await this.connections.connect();
    } catch (err) {
      throw new DatabaseUnavailableError(this.url, err);
    }
    try {
      // A frozen or cut-off holder's session ends after this long: the lock passes on.
      if (idleTimeouts.get(client) !== this.timings.idleTimeoutMs) {
        await client.query(`SET idle_in_transaction_session_timeout = ${this.timings.idleTimeoutMs}`);
        idleTimeouts.set(client, this.timings.idleTimeoutMs);
      }
    } catch (err) {
      client.release(err as Error);
      throw new DatabaseUnavailableError(this.url, err);
    }
    const onError = (err: Error) => this.lose(client, err);
    const onEnd = () => this.lose(client, new Error('the connection holding the write lease ended'));
    client.on('error', onError);
    client.on('end', onEnd);
    this.unwatch = () => {
      client.off('error', onError);
      client.off('end', onEnd);
    };
    return client;
  }
}

/** The idle_in_transaction_session_timeout each lease connection was given (stores of one process may differ). */
const idleTimeouts = new WeakMap<pg.ClientBase, number>();

const backendPids = new WeakMap<pg.ClientBase, number>();

/** The server process of a connection, as pg_locks names it (pg's Client keeps it only in an undocumented field): asked once per connection. */
async function backendPid(client: pg.ClientBase): Promise<number> {
  const known = backendPids.get(client);
  if (known !== undefined) return known;
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  backendPids.set(client, rows[0].pid);
  return rows[0].pid;
}

/** Who holds the lock now, from pg_stat_activity, for operators. */
export async function describeLeader(client: pg.ClientBase, lockKey: [number, number] = PUBLIC_LEASE_LOCK): Promise<{ holder: string }> {
  const holder = await client
    .query<{ application_name: string; client_addr: string | null; backend_start: Date }>(HOLDER_SQL, lockKey)
    .catch(() => ({ rows: [] }));
  const h = holder.rows[0];
  return {
    holder: h
      ? `${h.application_name || 'unknown client'}${h.client_addr ? ` from ${h.client_addr}` : ''}, connected since ${h.backend_start.toISOString()}`
      : 'holder unknown',
  };
}
