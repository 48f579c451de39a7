import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './free-port.js';

const run = promisify(execFile);

/** Debian's PostgreSQL binaries (/usr/lib/postgresql/<major>/bin), the newest major; null when not installed. */
export const PG_BIN: string | null = (() => {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const majors = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')));
  majors.sort((a, b) => Number(b) - Number(a));
  return majors.length ? join(root, majors[0], 'bin') : null;
})();

export const inCi = process.env.CI === 'true' || process.env.CI === '1';
/** Locally without PostgreSQL the suites are skipped; in CI (CI=true) missing binaries fail them. */
export const skipPostgres = PG_BIN === null && !inCi;
export const MISSING_POSTGRES =
  "PostgreSQL binaries (initdb, pg_ctl) are missing under /usr/lib/postgresql/*/bin: install Debian's postgresql (apt-get install -y postgresql), as .ci/run does";

export interface PgCluster {
  /** postgres://postgres@127.0.0.1:<port>/<db> */
  url(db?: string): string;
  /** A fresh empty database; its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
  /** Stops the server (pg_ctl stop -m fast), keeping its data: the database is down until up(). */
  down(): Promise<void>;
  /** Starts the server again on the same data and port. */
  up(): Promise<void>;
  port: number;
  dir: string;
}

let dbCounter = 0;

/**
 * A throwaway PostgreSQL cluster: initdb into a temp dir, pg_ctl start on a free 127.0.0.1 port
 * with its unix socket in that dir, trust auth for the local user `postgres`. As root (CI),
 * initdb refuses to run: everything runs as the `postgres` OS user (Debian's package creates it)
 * and the temp dir is handed to it.
 */
export async function startPostgres(): Promise<PgCluster> {
  if (!PG_BIN) throw new Error(MISSING_POSTGRES);
  const bin = PG_BIN;
  const asRoot = process.getuid?.() === 0;
  // The postgres user must be able to reach the folder: as root, /tmp rather than a private TMPDIR.
  const dir = await mkdtemp(join(asRoot && existsSync('/tmp') ? '/tmp' : tmpdir(), 'tsg-pg-'));
  const exec = (cmd: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : run(join(bin, cmd), args));
  if (asRoot) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    await chown(dir, uid, gid);
  }
  await chmod(dir, 0o700);
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  try {
    await exec('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    let port = 0;
    const start = () =>
      exec('pg_ctl', [
        '-D',
        data,
        '-l',
        log,
        '-w',
        '-t',
        '30',
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=32MB`,
        'start',
      ]);
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await start();
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
    const url = (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`;
    return {
      port,
      dir,
      url,
      async createDatabase(name = `t${process.pid}_${++dbCounter}`) {
        const client = new pg.Client({ connectionString: url() });
        await client.connect();
        try {
          await client.query(`CREATE DATABASE "${name}"`);
        } finally {
          await client.end();
        }
        return url(name);
      },
      async stop() {
        await exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      },
      async down() {
        await exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
      },
      async up() {
        await start();
      },
    };
  } catch (err) {
    const serverLog = await readFile(log, 'utf8').catch(() => '');
    await exec('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw new Error(`could not start a throwaway PostgreSQL: ${(err as Error).message}\n${serverLog}`);
  }
}

/** One query on its own connection (tests look into the database behind a gateway's back). */
export async function queryRows<R extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** The advisory lock a leading gateway process holds (src/store/postgres/connection.ts). */
export const GATEWAY_LOCK_KEY = [0x7ab5_4009, 1] as const;

/** Polls `check` every 20 ms until it is true; fails after `ms` saying what never happened. */
async function until(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  for (const deadline = Date.now() + ms; !(await check()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * What a rival process does when a leading gateway's lock connection dies, made deterministic:
 * `rival` queues for the gateway lock first, and only then is the leader's lock connection
 * terminated, so the lock passes to the rival. Terminating first would race the leader, which
 * reconnects at once and may take the lock back (its epoch is unchanged, so it rightly may) and
 * leave the rival waiting forever. `then` (SQL) runs right after the lock, in the same round trip.
 * Resolves once the leader's connection is terminated, with the rival's backend pid and `done`,
 * the results of the rival's statements.
 */
export async function takeGatewayLock(rival: pg.Client, url: string, then: string): Promise<{ pid: number; done: Promise<pg.QueryResult[]> }> {
  const {
    rows: [{ pid }],
  } = await rival.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const done = rival.query(`SELECT pg_advisory_lock(${GATEWAY_LOCK_KEY.join(', ')}); ${then}`) as unknown as Promise<pg.QueryResult[]>;
  done.catch(() => undefined); // the caller awaits it; an early failure must not be unhandled meanwhile
  await until(
    async () =>
      (await queryRows(url, `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND pid = $3`, [...GATEWAY_LOCK_KEY, pid]))
        .length > 0,
    'the rival queued for the gateway lock',
  );
  await queryRows(
    url,
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'tabshop-gateway pid %'`,
  );
  return { pid, done };
}

/** Polls until the backend `pid` waits for a row or table lock (not the gateway's advisory lock). */
export async function waitingForLock(url: string, pid: number, what: string): Promise<void> {
  await until(
    async () =>
      (await queryRows(url, `SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock' AND wait_event <> 'advisory'`, [pid])).length > 0,
    what,
  );
}

/**
 * Polls until a statement holding `text` waits for a lock in the database of `url` (a commit round's
 * writes run as one statement, `WITH w1 AS (INSERT INTO journal …), w2 AS (INSERT INTO sales …)`).
 */
export async function statementWaiting(url: string, text: string, what: string): Promise<void> {
  await until(
    async () =>
      (await queryRows(url, `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND strpos(query, $1) > 0`, [text]))
        .length > 0,
    what,
  );
}

/** Waits until a session of the database waits for a lock on `table` (whatever its statement's text: a round's write statement is one WITH of many CTEs). */
export async function tableWaiting(url: string, table: string, what: string): Promise<void> {
  await until(async () => (await queryRows(url, 'SELECT 1 FROM pg_locks WHERE NOT granted AND relation = $1::regclass', [table])).length > 0, what);
}

/**
 * A TCP proxy on 127.0.0.1 to `targetPort`: cut() resets every connection through it at once, as a
 * network failure does (the client sees ECONNRESET, not a server's goodbye); freeze() is a silent
 * partition: nothing is forwarded either way and no connection is closed (new ones are accepted and
 * held) until thaw(), as when a link drops packets without a reset.
 */
export async function startTcpProxy(targetPort: number): Promise<{ port: number; cut(): void; freeze(): void; thaw(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const pairs = new Set<{ inbound: Socket; outbound: Socket | null }>();
  let frozen = false;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  };
  const link = (pair: { inbound: Socket; outbound: Socket | null }) => {
    pair.outbound ??= connect(targetPort, '127.0.0.1');
    track(pair.outbound);
    pair.inbound.pipe(pair.outbound).pipe(pair.inbound);
    pair.inbound.resume();
  };
  const server = createServer((inbound) => {
    track(inbound);
    const pair = { inbound, outbound: null as Socket | null };
    pairs.add(pair);
    inbound.on('close', () => pairs.delete(pair));
    if (frozen) inbound.pause();
    else link(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const s of sockets) s.resetAndDestroy();
  };
  return {
    port: (server.address() as AddressInfo).port,
    cut,
    freeze() {
      frozen = true;
      for (const { inbound, outbound } of pairs) {
        if (!outbound) continue;
        // Unpiped and paused: a piped stream resumes by itself when its destination drains.
        inbound.unpipe(outbound);
        outbound.unpipe(inbound);
        inbound.pause();
        outbound.pause();
      }
    },
    thaw() {
      frozen = false;
      for (const pair of pairs) {
        if (pair.inbound.destroyed) continue;
        link(pair);
        pair.outbound!.resume();
      }
    },
    async close() {
      cut();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
