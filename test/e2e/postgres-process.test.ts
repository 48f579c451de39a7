import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { describe, expect, it } from 'vitest';
import { loadMigrations } from '../../src/store/postgres/migrate.js';
import { describeDatabase } from '../../src/store/postgres/sql-values.js';
import { ADMIN, adminAuth, DEVICE, DEVICE2, deviceAuth, invoice } from '../helpers.js';
import { skipPostgres, queryRows, takeGatewayLock } from '../postgres.js';
import { killAfterAcknowledgedPushes } from './kill-after-ack.js';
import { postgresProcesses } from './postgres-processes.js';
import { runCli } from './run-cli.js';
import { freePort } from '../free-port.js';

const LATEST = loadMigrations().at(-1)!.version;

describe.skipIf(skipPostgres)('gateway processes on PostgreSQL', { timeout: 120_000 }, () => {
  const pg = postgresProcesses();
  const writeConfig = (url: string) =>
    pg.writeConfig({
      server: { host: '127.0.0.1', port: 0 },
      store: { dataDir: './data', postgres: { url } },
      devices: [DEVICE, DEVICE2],
      admins: [ADMIN],
    });
  const start = (configPath: string) => pg.start(configPath);

  it('loses nothing acknowledged and doubles nothing when SIGKILLed right after acknowledging pushes', async () => {
    const url = await pg.cluster.createDatabase();
    const configPath = await writeConfig(url);
    // The killed process's connections (and its lock) are gone with it: a new process starts at once.
    await killAfterAcknowledgedPushes(() => start(configPath));
    const [counts] = await queryRows<{ sales: string; journal: string; total: string }>(
      url,
      'SELECT (SELECT count(*) FROM sales)::text AS sales, (SELECT count(*) FROM journal)::text AS journal, (SELECT sum(total) FROM sales)::text AS total',
    );
    expect(counts).toEqual({ sales: '120', journal: '25', total: '132.0' });
  });

  it("a second process on the same database is equal: both serve and write, each sees the other's writes at its next read, and it serves on when the first stops", async () => {
    const url = await pg.cluster.createDatabase();
    const configPath = await writeConfig(url);
    const first = await start(configPath);
    const second = await start(configPath);
    const api = (g: { url: string }, path: string, method = 'GET', body?: unknown) =>
      fetch(`${g.url}/api${path}`, {
        method,
        headers: { authorization: adminAuth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
    expect(await (await fetch(`${second.url}/healthz`)).json()).toMatchObject({ status: 'ok' });
    // Articles and stock written on one process are read on the other at once (read-your-writes).
    expect((await api(first, '/products/p', 'PUT', { name: 'Pie', price: 2 })).status).toBeLessThan(300);
    expect((await api(second, '/stock/p', 'PUT', { quantity: 10 })).status).toBeLessThan(300);
    expect((await api(first, '/stock/p')).body).toMatchObject({ quantity: 10 });
    const pushed = await fetch(`${second.url}/invoice`, {
      method: 'POST',
      headers: { authorization: deviceAuth, accept: 'application/json' },
      body: JSON.stringify({ invoices: [invoice(1, [{ productId: 'p', qty: 1, total: 1 }])] }),
    });
    expect(await pushed.json()).toMatchObject({ created: 1 });
    expect((await api(first, '/stock/p')).body).toMatchObject({ quantity: 9 });
    const stock = await fetch(`${first.url}/stock`, { headers: { authorization: deviceAuth } }).then((r) => r.json());
    expect(stock.products.find((p: { title: string }) => p.title === 'Pie')).toMatchObject({ stockqty: 9 });
    expect((await api(first, '/products/p', 'PUT', { name: 'Apple pie', price: 2 })).status).toBeLessThan(300);
    expect((await api(second, '/products/p')).body).toMatchObject({ name: 'Apple pie' });

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const again = await fetch(`${second.url}/invoice`, {
      method: 'POST',
      headers: { authorization: deviceAuth, accept: 'application/json' },
      body: JSON.stringify({ invoices: [invoice(2, [{ productId: 'p', qty: 1, total: 1 }])] }),
    });
    expect(await again.json()).toMatchObject({ created: 1 });
    expect(await queryRows(url, 'SELECT count(*)::int AS n FROM sales')).toEqual([{ n: 2 }]);
    expect(await queryRows<{ holder: string }>(url, 'SELECT holder FROM gateway_leader')).toEqual([
      { holder: expect.stringContaining(`pid ${second.child.pid}`) },
    ]);
  });

  it('every process delivers the outbox: with the process that took the push frozen (SIGSTOP), the other delivers its pending webhook events once each', async () => {
    // The receiver refuses at first: the events wait in the outbox table, between attempts.
    let accepting = false;
    const got: string[] = [];
    const receiver: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        if (!accepting) return void res.writeHead(503).end();
        got.push((JSON.parse(body) as { id: string }).id);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const url = await pg.cluster.createDatabase();
      const configPath = await pg.writeConfig({
        server: { host: '127.0.0.1', port: 0 },
        store: { dataDir: './data', postgres: { url } },
        devices: [DEVICE, DEVICE2],
        admins: [ADMIN],
        webhooks: [
          { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, secret: 'follower-test-secret', retryCapMs: 200, timeoutMs: 1_000 },
        ],
      });
      const leader = await start(configPath);
      const other = await start(configPath);
      const pushed = await fetch(`${leader.url}/invoice`, {
        method: 'POST',
        headers: { authorization: deviceAuth, accept: 'application/json' },
        body: JSON.stringify({ invoices: [1, 2, 3].map((n) => invoice(n, [{ productId: 'p', qty: 1, total: 1 }])) }),
      });
      expect(await pushed.json()).toMatchObject({ created: 3 });
      await expect
        .poll(async () => Number((await queryRows<{ n: string }>(url, "SELECT count(*)::text AS n FROM outbox WHERE (item->>'attempts')::int > 0"))[0].n), {
          timeout: 15_000,
        })
        .toBeGreaterThan(0);

      leader.child.kill('SIGSTOP');
      try {
        accepting = true;
        // The other process serves and delivers on its own.
        expect((await fetch(`${other.url}/healthz`)).status).toBe(200);
        await expect
          .poll(async () => Number((await queryRows<{ n: string }>(url, 'SELECT count(*)::text AS n FROM outbox'))[0].n), { timeout: 30_000 })
          .toBe(0);
        // Once each, by event id.
        expect(got).toHaveLength(3);
        expect(new Set(got).size).toBe(3);
      } finally {
        leader.child.kill('SIGCONT');
      }
    } finally {
      receiver.closeAllConnections();
      await new Promise((r) => receiver.close(r));
    }
  });

  it('a process whose lease connection was cut while another took the lease does not exit: it answers 503 while the other holds it, then serves again', async () => {
    const url = await pg.cluster.createDatabase();
    const first = await start(await writeConfig(url));
    const push = (n: number) =>
      fetch(`${first.url}/invoice`, {
        method: 'POST',
        headers: { authorization: deviceAuth, accept: 'application/json' },
        body: JSON.stringify({ invoices: [invoice(n, [{ productId: 'p', qty: 1, total: 1 }])] }),
      });
    expect((await push(1)).status).toBe(200);
    const rival = new Client({ connectionString: url });
    rival.on('error', () => undefined); // the query reports a dropped connection; the event must not crash the worker
    await rival.connect();
    try {
      // Its lease connection dies and another client, queued for the lock, takes it and keeps it.
      await (await takeGatewayLock(rival, url, 'UPDATE gateway_leader SET epoch = epoch + 1')).done;
      expect((await push(2)).status).toBe(503);
    } finally {
      await rival.end();
    }
    expect((await push(3)).status).toBe(200);
    expect(first.child.exitCode).toBeNull();
    expect(await queryRows(url, 'SELECT identifier FROM sales ORDER BY identifier')).toEqual([{ identifier: 'TAB-1:1' }, { identifier: 'TAB-1:3' }]);
  });

  it('the kitchen listener runs in one process of those on the database, and moves to another when that one stops', async () => {
    const url = await pg.cluster.createDatabase();
    const port = await freePort();
    const configPath = await pg.writeConfig({
      server: { host: '127.0.0.1', port: 0 },
      store: { dataDir: './data', postgres: { url } },
      devices: [DEVICE],
      admins: [ADMIN],
      kitchen: { host: '127.0.0.1', port },
    });
    const env = { KITCHEN_PORT: String(port) };
    const first = await pg.start(configPath, env);
    await expect.poll(() => first.output(), { timeout: 10_000 }).toContain('kitchen display listening');
    // The second process does not bind the port (it would fail: the first holds it): it waits for the duty.
    const second = await pg.start(configPath, env);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(second.output()).not.toContain('kitchen display listening');
    expect(second.child.exitCode).toBeNull();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    await expect.poll(() => second.output(), { timeout: 15_000 }).toContain('kitchen display listening');
  });

  it('DATABASE_URL selects PostgreSQL over the config file', async () => {
    const url = await pg.cluster.createDatabase();
    const configPath = await pg.writeConfig({ server: { host: '127.0.0.1', port: 0 }, devices: [DEVICE], admins: [ADMIN] });
    const p = await pg.start(configPath, { DATABASE_URL: url });
    expect(p.output()).toContain(JSON.stringify(describeDatabase(url)).slice(1, -1));
    expect(
      (
        await fetch(`${p.url}/invoice`, {
          method: 'POST',
          headers: { authorization: deviceAuth },
          body: JSON.stringify({ invoices: [invoice(1, [{ productId: 'p', qty: 1, total: 1 }])] }),
        })
      ).status,
    ).toBe(200);
    expect(await queryRows<{ n: string }>(url, 'SELECT count(*)::text AS n FROM sales')).toEqual([{ n: '1' }]);
  });

  it('tabshop-gateway migrate: applies once, then reports the schema up to date; exit codes 0/1/2', async () => {
    const url = await pg.cluster.createDatabase();
    const first = await runCli(['migrate', '--url', url]).done;
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain('applied 0001_initial');
    const again = await runCli(['migrate', '--url', url, '--json']).done;
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ database: describeDatabase(url), from: LATEST, to: LATEST, applied: [], pending: [] });
    const viaConfig = await runCli(['migrate', '--config', await writeConfig(url)]).done;
    expect(viaConfig).toMatchObject({ code: 0 });
    expect(viaConfig.stdout).toContain(`schema up to date (version ${LATEST})`);

    const [help, storeHelp, noPostgres, mysql, down] = await Promise.all([
      runCli(['migrate', '--help']).done,
      runCli(['migrate-store', '--help']).done,
      runCli(['migrate'], { DATABASE_URL: '' }).done,
      runCli(['migrate', '--url', 'mysql://x']).done,
      runCli(['migrate', '--url', `postgres://postgres:secret-pw@127.0.0.1:${pg.cluster.port + 1}/nope`]).done,
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
