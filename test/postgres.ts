import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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
export const MISSING_POSTGRES = 'PostgreSQL binaries (initdb, pg_ctl) are missing under /usr/lib/postgresql/*/bin: install Debian\'s postgresql (apt-get install -y postgresql), as .ci/run does';

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
    const start = () => exec('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '30', '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=32MB`, 'start']);
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
      port, dir, url,
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
