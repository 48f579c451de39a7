import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { describeDatabase } from './sql-values.js';

export interface PostgresOptions {
  url: string;
  poolSize: number;
}

/**
 * Every connection commits synchronously whatever the server's default: a resolved COMMIT is on the
 * server's disk. writer_schema: this gateway writes the rows of schema version 7 itself (payments)
 * and the outbox columns of version 8, and claims the outbox from the table; the database's
 * triggers fill them in for writers that do not say so (migrations/0007, 0009), and a follower
 * claims only while the leader says 8 or more (gateway_leader.writer_schema, migrations/0009).
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

export class DatabaseLockedError extends Error {
  constructor(
    readonly url: string,
    readonly holder: string,
  ) {
    super(`${describeDatabase(url)} is in use by another gateway process (${holder}); stop it first (docs/postgres.md)`);
    this.name = 'DatabaseLockedError';
  }
}

/** This process led, and another took the lead meanwhile: its memory may be behind the database, so it must stop. */
export class LeadershipLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeadershipLostError';
  }
}

/** The process that leads a database, as the others see it. */
export interface LeaderInfo {
  /** Where followers forward requests (null before any process led). */
  url: string | null;
  /** Who holds the lock, for operators. */
  holder: string;
}

export interface AcquireOptions {
  /** Where this process serves, written for followers once it leads. */
  advertiseUrl?: string;
  /** Wait while another process leads (serve); without it a held lock is refused (DatabaseLockedError). */
  follow?: {
    /** Called once another process is found leading, and again whenever the leader changes. */
    onFollowing(leader: LeaderInfo): void;
    /** Called once the lock is taken, before anything is loaded. */
    onLeading?(): void;
    /** The database could not be reached while following (it is tried again). */
    onError?(err: Error): void;
    signal?: AbortSignal;
    pollMs?: number;
  };
}

/** The advisory lock key (two int4: classid, objid) that says "a gateway process leads this database". */
const LOCK_KEY: [number, number] = [0x7ab5_4009, 1];
const HOLDER_SQL = `SELECT a.application_name, host(a.client_addr) AS client_addr, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
  WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2 AND l.granted`;

/**
 * The database's gateway lock on a connection of its own, held until release(): a session-level
 * advisory lock, freed by the server when the process dies (SIGKILL, crash), so a follower (or a
 * restart) takes it over at once. The process holding it leads: it raises the fencing epoch in
 * gateway_leader, and every commit round checks both lock and epoch (assertHeld).
 */
export class DatabaseLock {
  private client: pg.Client | null = null;
  /** The server process of the lock's connection: pg_locks names the holder by it. */
  private backendPid: number | null = null;
  /** The fencing epoch this process leads under (text: bigint). */
  private epoch: string | null = null;
  private ensuring: Promise<void> | null = null;
  lost = false;

  constructor(
    private readonly url: string,
    private readonly onLost: (err: Error) => void = () => undefined,
  ) {}

  get holderName(): string {
    return `tabshop-gateway pid ${process.pid} on ${hostname()}`;
  }

  async acquire(opts: AcquireOptions = {}): Promise<void> {
    const client = opts.follow ? await this.follow(opts.follow) : await this.connect();
    let pid: number;
    try {
      if (!opts.follow && !(await this.tryLock(client))) throw new DatabaseLockedError(this.url, (await describeLeader(client)).holder);
      opts.follow?.onLeading?.();
      // Waits for a round of the previous leader still in flight (it holds the row FOR SHARE).
      const {
        rows: [row],
      } = await client.query<{ epoch: string }>(
        `INSERT INTO gateway_leader (id, epoch, url, holder) VALUES (true, 1, $1, $2)
          ON CONFLICT (id) DO UPDATE SET epoch = gateway_leader.epoch + 1, url = EXCLUDED.url, holder = EXCLUDED.holder, since = now()
          RETURNING epoch::text`,
        [opts.advertiseUrl ?? '', this.holderName],
      );
      this.epoch = row.epoch;
      pid = await backendPid(client);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.adopt(client, pid);
  }

  /**
   * Polls for the lock while another process leads, telling who leads whenever that changes; a
   * database that goes away meanwhile is waited for too (reported through onError). Resolves with
   * the connection that holds the lock.
   */
  private async follow(follow: NonNullable<AcquireOptions['follow']>): Promise<pg.Client> {
    let client: pg.Client | null = null;
    let followed: string | null = null;
    for (;;) {
      try {
        client ??= await this.connect();
        if (await this.tryLock(client)) return client;
        const leader = await describeLeader(client);
        const key = `${leader.url}|${leader.holder}`;
        if (key !== followed) follow.onFollowing(leader);
        followed = key;
      } catch (err) {
        follow.onError?.(err as Error);
        await client?.end().catch(() => undefined);
        client = null;
      }
      try {
        await delay(follow.pollMs ?? 500, undefined, { signal: follow.signal });
      } catch (aborted) {
        await client?.end().catch(() => undefined);
        throw aborted;
      }
    }
  }

  /**
   * Inside a commit round's transaction: fails the round unless the lock's connection still holds
   * the lock (a dropped connection may not have been noticed yet) and no other process has led
   * since (the epoch); FOR SHARE makes a new leader's epoch wait until this round has committed.
   */
  async assertHeld(client: pg.ClientBase): Promise<void> {
    const { rows } = await client.query<{ held: boolean; epoch: string }>(
      `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND objsubid = 2 AND granted AND pid = $3) AS held,
        epoch::text FROM gateway_leader WHERE id FOR SHARE`,
      [...LOCK_KEY, this.backendPid],
    );
    if (rows[0]?.epoch !== this.epoch) throw new LeadershipLostError('another gateway process took the lead of the database; this one stops');
    if (!rows[0].held) {
      this.lost = true;
      throw new Error('lost the database lock (its connection was dropped); it is taken again at the next commit');
    }
  }

  /**
   * After a lost connection: takes the lock again, unless another process leads now
   * (LeadershipLostError). One attempt at a time: two at once would refuse each other.
   */
  ensure(): Promise<void> {
    if (this.client && !this.lost) return Promise.resolve();
    this.ensuring ??= this.retake().finally(() => {
      this.ensuring = null;
    });
    return this.ensuring;
  }

  private async retake(): Promise<void> {
    const client = await this.connect();
    let pid: number;
    try {
      const locked = await this.tryLock(client);
      const { rows } = await client.query<{ epoch: string }>('SELECT epoch::text FROM gateway_leader WHERE id');
      if (rows[0]?.epoch !== this.epoch) {
        throw new LeadershipLostError(
          `lost the lead of ${describeDatabase(this.url)} to another gateway process (${(await describeLeader(client)).holder}); this one stops`,
        );
      }
      // Same epoch: no rival has taken the lead (a new leader raises it before anything else). The
      // lock is most likely still held by our own dropped session, whose backend has not exited yet.
      if (!locked) throw new Error('the database lock is still held by the dropped connection; it is taken again at the next commit');
      pid = await backendPid(client);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.adopt(client, pid);
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.backendPid = null;
    if (!client) return;
    await client.query('SELECT pg_advisory_unlock($1, $2)', LOCK_KEY).catch(() => undefined);
    await client.end().catch(() => undefined);
  }

  private async connect(): Promise<pg.Client> {
    const client = createClient(this.url, this.holderName.slice(0, 63));
    try {
      await client.connect();
    } catch (err) {
      throw new DatabaseUnavailableError(this.url, err);
    }
    // Until adopt() (or while following) a connection the server ends must not crash the process: the next query fails.
    client.on('error', () => undefined);
    return client;
  }

  private async tryLock(client: pg.Client): Promise<boolean> {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', LOCK_KEY);
    return rows[0].ok;
  }

  private adopt(client: pg.Client, pid: number): void {
    client.on('error', (err) => {
      // The server or the network dropped the connection: the lock is gone with it.
      if (this.client !== client) return;
      this.lost = true;
      this.onLost(err);
    });
    const old = this.client;
    this.client = client;
    this.backendPid = pid;
    this.lost = false;
    if (old) void old.end().catch(() => undefined);
  }
}

/** The server process of a connection, as pg_locks names it (pg's Client keeps it only in an undocumented field). */
async function backendPid(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return rows[0].pid;
}

/** Who leads, from the lock's holder in pg_stat_activity and the gateway_leader row. */
export async function describeLeader(client: pg.ClientBase): Promise<LeaderInfo> {
  const holder = await client
    .query<{ application_name: string; client_addr: string | null; backend_start: Date }>(HOLDER_SQL, LOCK_KEY)
    .catch(() => ({ rows: [] }));
  const row = await client.query<{ url: string }>('SELECT url FROM gateway_leader WHERE id').catch(() => ({ rows: [] }));
  const h = holder.rows[0];
  return {
    url: row.rows[0]?.url || null,
    holder: h
      ? `${h.application_name || 'unknown client'}${h.client_addr ? ` from ${h.client_addr}` : ''}, connected since ${h.backend_start.toISOString()}`
      : 'holder unknown',
  };
}
