import { mkdtemp, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../free-port.js';
import { ADMIN, adminAuth, DEVICE, removeDir } from '../helpers.js';
import { spawnCli, startGatewayProcess, type GatewayProcess } from '../e2e/process.js';
import { MISSING_POSTGRES, PG_BIN, skipPostgres, startPostgres } from '../postgres.js';
import { order, sendLikeTablet } from './tablet.js';

const dirs: string[] = [];
const procs: GatewayProcess[] = [];

async function configFile(kitchen: Record<string, unknown>, store: Record<string, unknown> = { dataDir: './data' }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsg-kitchen-cli-'));
  dirs.push(dir);
  const path = join(dir, 'config.json');
  await writeFile(path, JSON.stringify({ server: { host: '127.0.0.1', port: 0 }, store, devices: [DEVICE], admins: [ADMIN], kitchen }));
  return path;
}

afterEach(async () => {
  for (const p of procs.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  for (const d of dirs.splice(0)) await removeDir(d);
});

describe('tabshop-gateway serve with a kitchen', () => {
  it('listens on the kitchen port; a stop stores a message still arriving; a restart keeps every order', async () => {
    const port = await freePort();
    const config = await configFile({ host: '127.0.0.1', port });
    const env = { KITCHEN_PORT: String(port) };
    const first = await startGatewayProcess(config, env);
    procs.push(first);
    expect(first.output()).toContain('kitchen display listening');
    await sendLikeTablet(port, order('Table 5', [{ product: 'Pizza', amount: '2' }]));
    // A tablet in the middle of its message when the gateway stops.
    const slow = connect({ host: '127.0.0.1', port });
    slow.on('error', () => undefined);
    await new Promise((resolve) => slow.once('connect', resolve));
    slow.write('{"table":"Table 6","positions":[');
    await delay(100);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    slow.destroy();

    const second = await startGatewayProcess(config, env);
    procs.push(second);
    const res = await fetch(`${second.url}/api/kitchen/orders?state=all`, { headers: { authorization: adminAuth } });
    const body = await res.json();
    expect(body.items.map((o: { id: string; state: string }) => [o.id, o.state])).toEqual([
      ['2', 'rejected'],
      ['1', 'open'],
    ]);
    expect(body.items[0].reason).toBe('the gateway stopped before the message ended');
    expect(Buffer.from(body.items[0].rawBase64, 'base64').toString()).toBe('{"table":"Table 6","positions":[');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('an order whose connection the gateway closed survives a SIGKILL right after', async () => {
    const port = await freePort();
    const config = await configFile({ host: '127.0.0.1', port });
    const env = { KITCHEN_PORT: String(port) };
    const first = await startGatewayProcess(config, env);
    procs.push(first);
    await Promise.all([1, 2, 3, 4, 5].map((n) => sendLikeTablet(port, order(`Table ${n}`, [{ product: 'Pizza', amount: n }]))));
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startGatewayProcess(config, env);
    procs.push(second);
    const body = await (await fetch(`${second.url}/api/kitchen/orders?state=open`, { headers: { authorization: adminAuth } })).json();
    expect(body.items.map((o: { table: string }) => o.table).sort()).toEqual(['Table 1', 'Table 2', 'Table 3', 'Table 4', 'Table 5']);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('exits 1 naming the kitchen port when it is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const p = spawnCli(['serve', '--config', await configFile({ host: '127.0.0.1', port })], { KITCHEN_PORT: String(port) });
      expect(await p.exited).toBe(1);
      expect(p.output()).toContain(`cannot listen for kitchen orders on 127.0.0.1:${port}`);
    } finally {
      blocker.close();
    }
  });
});

describe.skipIf(skipPostgres)('tabshop-gateway serve with a kitchen on PostgreSQL, two processes', () => {
  it('one process listens on the kitchen port; when it is killed another takes the duty and opens the port; every order is kept', async () => {
    if (!PG_BIN) throw new Error(MISSING_POSTGRES);
    const cluster = await startPostgres();
    try {
      const port = await freePort();
      const config = await configFile({ host: '127.0.0.1', port }, { dataDir: './data', postgres: { url: await cluster.createDatabase() } });
      const env = { KITCHEN_PORT: String(port) };
      const first = await startGatewayProcess(config, env);
      procs.push(first);
      const onDuty = async (p: GatewayProcess) => {
        for (const until = Date.now() + 30_000; !p.output().includes('kitchen display listening'); await delay(50))
          if (Date.now() > until) throw new Error(`no kitchen listener:\n${p.output()}`);
      };
      await onDuty(first);
      const second = await startGatewayProcess(config, env);
      procs.push(second);
      await sendLikeTablet(port, order('Table 1', [{ product: 'Pizza', amount: '1' }]));
      expect(second.output()).not.toContain('kitchen display listening');

      first.child.kill('SIGKILL');
      await first.exited;
      await onDuty(second);
      await sendLikeTablet(port, order('Table 2', [{ product: 'Pasta', amount: '2' }]));
      const body = await (await fetch(`${second.url}/api/kitchen/orders?state=open`, { headers: { authorization: adminAuth } })).json();
      expect(
        body.items.map((o: { table: string }) => o.table),
        second.output(),
      ).toEqual(['Table 2', 'Table 1']);
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      await cluster.stop();
    }
  }, 120_000);
});
