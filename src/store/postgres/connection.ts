import { hostname } from 'node:os';
import pg from 'pg';
import { describeDatabase } from './sql-values.js';

export interface PostgresOptions {
  url: string;
  poolSize: number;
}

/** Every connection commits synchronously whatever the server's default: a resolved COMMIT is on the server's disk. */
const SESSION_OPTIONS = '-c synchronous_commit=on';

export function createPool(opts: PostgresOptions, onError: (err: Error) => void): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.url, max: opts.poolSize, options: SESSION_OPTIONS, application_name: 'tabshop-gateway',
    keepAlive: true, connectionTimeoutMillis: 10_000,
  });
  // An idle connection the server closed must not crash the process; the next query opens another.
  pool.on('error', onError);
  return pool;
}

export function createClient(url: string, applicationName = 'tabshop-gateway'): pg.Client {
  return new pg.Client({ connectionString: url, options: SESSION_OPTIONS, application_name: applicationName, keepAlive: true, connectionTimeoutMillis: 10_000 });
}

/** A connection failure, said in one line that names the database (never the password). */
export class DatabaseUnavailableError extends Error {
  constructor(readonly url: string, cause: unknown) {
    super(`cannot use ${describeDatabase(url)}: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'DatabaseUnavailableError';
  }
}

export class DatabaseLockedError extends Error {
  constructor(readonly url: string, readonly holder: string) {
    super(`${describeDatabase(url)} is in use by another gateway process (${holder}); stop it first — one gateway process per database for now (docs/postgres.md)`);
    this.name = 'DatabaseLockedError';
  }
}

/** The advisory lock key (two int4: classid, objid) that says "a gateway process uses this database". */
const LOCK_KEY: [number, number] = [0x7ab5_4009, 1];

/**
 * Takes the database's gateway lock on a connection of its own, held until release(): a
 * session-level advisory lock, freed by the server when the process dies (SIGKILL, crash), so a
 * restart takes it over at once. A second process is refused with the holder named.
 */
export class DatabaseLock {
  private client: pg.Client | null = null;
  /** The server process of the lock's connection: pg_locks names the holder by it. */
  private backendPid: number | null = null;
  lost = false;

  constructor(private readonly url: string, private readonly onLost: (err: Error) => void = () => undefined) {}

  async acquire(): Promise<void> {
    const name = `tabshop-gateway pid ${process.pid} on ${hostname()}`;
    const client = createClient(this.url, name.slice(0, 63));
    try {
      await client.connect();
    } catch (err) {
      throw new DatabaseUnavailableError(this.url, err);
    }
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', LOCK_KEY);
    if (!rows[0].ok) {
      const holder = await client.query<{ application_name: string; client_addr: string | null; backend_start: Date }>(
        `SELECT a.application_name, host(a.client_addr) AS client_addr, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2 AND l.granted`, LOCK_KEY).catch(() => ({ rows: [] }));
      await client.end().catch(() => undefined);
      const h = holder.rows[0];
      throw new DatabaseLockedError(this.url, h
        ? `${h.application_name || 'unknown client'}${h.client_addr ? ` from ${h.client_addr}` : ''}, connected since ${h.backend_start.toISOString()}`
        : 'holder unknown');
    }
    const { rows: [me] } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    client.on('error', (err) => {
      // The server or the network dropped the connection: the lock is gone with it.
      if (this.client !== client) return;
      this.lost = true;
      this.onLost(err);
    });
    const old = this.client;
    this.client = client;
    this.backendPid = me.pid;
    this.lost = false;
    if (old) await old.end().catch(() => undefined);
  }

  /**
   * Inside a commit round's transaction: fails the round unless the lock's connection still holds
   * the lock (a dropped connection may not have been noticed yet), so nothing commits without it.
   */
  async assertHeld(client: pg.ClientBase): Promise<void> {
    const { rows } = await client.query<{ held: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND objsubid = 2 AND granted AND pid = $3) AS held`,
      [...LOCK_KEY, this.backendPid]);
    if (!rows[0].held) {
      this.lost = true;
      throw new Error('lost the database lock (its connection was dropped); it is taken again at the next commit');
    }
  }

  /** After a lost connection: takes the lock again (refused if another process took it meanwhile). */
  async ensure(): Promise<void> {
    if (this.client && !this.lost) return;
    await this.acquire();
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.backendPid = null;
    if (!client) return;
    await client.query('SELECT pg_advisory_unlock($1, $2)', LOCK_KEY).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}
