import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeDatabase } from '../../src/store/postgres/sql-values.js';
import { ADMIN, adminAuth, DEVICE, DEVICE2, deviceAuth, device2Auth, invoice, removeDir } from '../helpers.js';
import { MISSING_POSTGRES, PG_BIN, skipPostgres, startPostgres, type PgCluster } from '../postgres.js';
import { spawnCli, startGatewayProcess, type GatewayProcess } from './process.js';
import { runCli } from './run-cli.js';

let cluster: PgCluster;
const running: GatewayProcess[] = [];
const dirs: string[] = [];

async function writeConfig(url: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsg-pg-e2e-'));
  dirs.push(dir);
  const path = join(dir, 'config.json');
  await writeFile(path, JSON.stringify({
    server: { host: '127.0.0.1', port: 0 }, store: { dataDir: './data', postgres: { url } }, devices: [DEVICE, DEVICE2], admins: [ADMIN],
  }));
  return path;
}

async function start(configPath: string): Promise<GatewayProcess> {
  const p = await startGatewayProcess(configPath);
  running.push(p);
  return p;
}

describe.skipIf(skipPostgres)('gateway processes on PostgreSQL', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    if (!PG_BIN) throw new Error(MISSING_POSTGRES);
    cluster = await startPostgres();
  }, 60_000);
  afterEach(async () => {
    for (const p of running.splice(0)) p.child.kill('SIGKILL');
    for (const d of dirs.splice(0)) await removeDir(d);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('loses nothing acknowledged and doubles nothing when SIGKILLed right after acknowledging pushes', async () => {
    const url = await cluster.createDatabase();
    const configPath = await writeConfig(url);
    const first = await start(configPath);
    const acked: string[] = [];
    await Promise.all(Array.from({ length: 24 }, (_, i) => {
      const auth = i % 2 ? device2Auth : deviceAuth;
      const register = i % 2 ? 'TAB-2' : 'TAB-1';
      const invoices = Array.from({ length: 5 }, (_, j) => invoice(20261123000000 + i * 10 + j, [{ productId: 'p', qty: 1, total: 1.1 }]));
      return fetch(`${first.url}/invoice`, { method: 'POST', headers: { authorization: auth }, body: JSON.stringify({ invoices }) })
        .then(async (res) => {
          if (res.status === 200 && (await res.text()) === 'true') acked.push(...invoices.map((inv) => `${register}:${inv.id}`));
        });
    }));
    first.child.kill('SIGKILL');
    await first.exited;
    expect(acked).toHaveLength(120);

    // The killed process's connections (and its lock) are gone with it: a new process starts at once.
    const second = await start(configPath);
    const list = await (await fetch(`${second.url}/api/sales?maxResults=1000`, { headers: { authorization: adminAuth } })).json();
    expect(list.items.map((s: { identifier: string }) => s.identifier).sort()).toEqual([...acked].sort());
    expect(list.total).toBe(120);
    const again = await fetch(`${second.url}/invoice`, {
      method: 'POST', headers: { authorization: deviceAuth, accept: 'application/json' },
      body: JSON.stringify({ invoices: [invoice(20261123000000, [{ productId: 'p', qty: 1, total: 1.1 }])] }),
    });
    expect(await again.json()).toMatchObject({ unchanged: 1, created: 0 });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ sales: string; journal: string; total: string }>(
      'SELECT (SELECT count(*) FROM sales)::text AS sales, (SELECT count(*) FROM journal)::text AS journal, (SELECT sum(total) FROM sales)::text AS total');
    await client.end();
    expect(rows[0]).toEqual({ sales: '120', journal: '25', total: '132.0' });
  });

  it('refuses a second process on the same database with exit 1, naming the database and the holder; SIGTERM releases it', async () => {
    const url = await cluster.createDatabase();
    const configPath = await writeConfig(url);
    const first = await start(configPath);
    const second = spawnCli(['serve', '--config', configPath]);
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(describeDatabase(url));
    expect(second.output()).toContain(`pid ${first.child.pid}`);
    expect(second.output()).not.toContain('"level"'); // one line, no stack trace
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const third = await start(configPath);
    expect((await fetch(`${third.url}/home`, { headers: { authorization: deviceAuth } })).status).toBe(200);
  });

  it('DATABASE_URL selects PostgreSQL over the config file', async () => {
    const url = await cluster.createDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'tsg-pg-e2e-'));
    dirs.push(dir);
    const configPath = join(dir, 'config.json');
    await writeFile(configPath, JSON.stringify({ server: { host: '127.0.0.1', port: 0 }, devices: [DEVICE], admins: [ADMIN] }));
    const p = await startGatewayProcess(configPath, { DATABASE_URL: url });
    running.push(p);
    expect(p.output()).toContain(JSON.stringify(describeDatabase(url)).slice(1, -1));
    expect((await fetch(`${p.url}/invoice`, { method: 'POST', headers: { authorization: deviceAuth }, body: JSON.stringify({ invoices: [invoice(1, [{ productId: 'p', qty: 1, total: 1 }])] }) })).status).toBe(200);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ n: string }>('SELECT count(*)::text AS n FROM sales');
    await client.end();
    expect(rows[0].n).toBe('1');
  });

  it('tabshop-gateway migrate: applies once, then reports the schema up to date; exit codes 0/1/2', async () => {
    const url = await cluster.createDatabase();
    const first = await runCli(['migrate', '--url', url]).done;
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain('applied 0001_initial');
    const again = await runCli(['migrate', '--url', url, '--json']).done;
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ database: describeDatabase(url), from: 2, to: 2, applied: [], pending: [] });
    const viaConfig = await runCli(['migrate', '--config', await writeConfig(url)]).done;
    expect(viaConfig).toMatchObject({ code: 0 });
    expect(viaConfig.stdout).toContain('schema up to date (version 2)');

    const [help, storeHelp, noPostgres, mysql, down] = await Promise.all([
      runCli(['migrate', '--help']).done,
      runCli(['migrate-store', '--help']).done,
      runCli(['migrate'], { DATABASE_URL: '' }).done,
      runCli(['migrate', '--url', 'mysql://x']).done,
      runCli(['migrate', '--url', `postgres://postgres:secret-pw@127.0.0.1:${cluster.port + 1}/nope`]).done,
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes');
    expect(storeHelp).toMatchObject({ code: 0 });
    expect(storeHelp.stdout).toContain('resumes');
    expect(noPostgres.code).toBe(2);
    expect(noPostgres.stderr).toContain('no PostgreSQL store configured');
    expect(mysql.code).toBe(2);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot use PostgreSQL database "nope"');
    expect(down.stderr).not.toContain('secret-pw');
  });
});
