import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../test/free-port.js';
import { PG_BIN } from '../../test/postgres.js';

const run = promisify(execFile);

export { PG_BIN };

export interface BenchCluster {
  dir: string;
  port: number;
  url(db?: string): string;
  /** A new database (a copy of `template` when given); its URL. */
  createDatabase(name: string, template?: string): Promise<string>;
  dropDatabase(name: string): Promise<void>;
  /** A clean shutdown (everything written), so the folder can be started again later. */
  stop(): Promise<void>;
}

/**
 * A PostgreSQL cluster in `dir` for the bench (like test/postgres.ts, but kept: a cluster dir
 * that exists is started as it is, so a database built once is reused by later runs). `fast`
 * turns off fsync and full-page writes: only while building data, never while measuring.
 * As root, everything runs as the `postgres` OS user, which must own `dir`.
 */
export async function startBenchCluster(dir: string, opts: { fast?: boolean } = {}): Promise<BenchCluster> {
  if (!PG_BIN) throw new Error('PostgreSQL binaries missing under /usr/lib/postgresql/*/bin');
  const bin = PG_BIN;
  const asRoot = process.getuid?.() === 0;
  const exec = (cmd: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : run(join(bin, cmd), args));
  const data = join(dir, 'data');
  if (!existsSync(join(data, 'PG_VERSION'))) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    if (asRoot) {
      const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
      const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
      await chown(dir, uid, gid);
    }
    await chmod(dir, 0o700);
    await exec('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  }
  const port = await freePort();
  const fast = opts.fast ? ' -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_wal_size=4GB -c maintenance_work_mem=256MB' : '';
  await exec('pg_ctl', [
    '-D',
    data,
    '-l',
    join(dir, 'server.log'),
    '-w',
    '-t',
    '120',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=128MB${fast}`,
    'start',
  ]);
  const url = (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: url() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  return {
    dir,
    port,
    url,
    async createDatabase(name, template) {
      await admin(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}`);
      return url(name);
    },
    async dropDatabase(name) {
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
    async stop() {
      await exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '120', 'stop']).catch(() => undefined);
    },
  };
}
