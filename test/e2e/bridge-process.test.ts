import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, adminAuth, DEVICE, DEVICE2, device2Auth, deviceAuth, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';
import { eventually, fastUpstream, salesOn, seedUpstreamCatalogue } from './bridge-helpers.js';
import { startGatewayProcess, type GatewayProcess } from './process.js';

const processes: GatewayProcess[] = [];
const gateways: TestGateway[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const p of processes.splice(0)) p.child.kill('SIGKILL');
  for (const g of gateways.splice(0)) await g.stop().catch(() => undefined);
  for (const d of dirs.splice(0)) await removeDir(d);
});

async function upstreamB(dir?: string, port = 0): Promise<TestGateway> {
  const b = await startTestGateway({}, dir, { port });
  gateways.push(b);
  if (!dir) dirs.push(b.dir);
  return b;
}

async function bridgeConfig(bUrl: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsg-bridge-'));
  dirs.push(dir);
  const path = join(dir, 'config.json');
  await writeFile(
    path,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0 },
      store: { dataDir: './data' },
      devices: [DEVICE, DEVICE2],
      admins: [ADMIN],
      upstream: fastUpstream(bUrl),
      logLevel: 'warn',
    }),
  );
  return path;
}

async function startA(configPath: string): Promise<GatewayProcess> {
  const a = await startGatewayProcess(configPath, { LOG_LEVEL: 'info' });
  processes.push(a);
  await eventually(async () => (await fetch(`${a.url}/home`, { headers: { authorization: deviceAuth } })).status === 200, 'A ready', 30_000);
  return a;
}

async function kill(a: GatewayProcess): Promise<void> {
  a.child.kill('SIGKILL');
  await a.exited;
  processes.splice(processes.indexOf(a), 1);
}

/** Pushes `count` invoices in batches of 5 over both tablets, in parallel; returns the identifiers acknowledged with `true`. */
async function pushMany(a: GatewayProcess, base: number, count: number): Promise<string[]> {
  const acked: string[] = [];
  await Promise.all(
    Array.from({ length: count / 5 }, async (_, i) => {
      const tab2 = i % 2 === 1;
      const invoices = Array.from({ length: 5 }, (_, j) => invoice(base + i * 5 + j, [{ productId: '73', qty: 1, total: 2.2 }]));
      const res = await fetch(`${a.url}/invoice`, {
        method: 'POST',
        headers: { authorization: tab2 ? device2Auth : deviceAuth },
        body: JSON.stringify({ invoices }),
      });
      if (res.status === 200 && (await res.text()) === 'true') acked.push(...invoices.map((inv) => `${tab2 ? 'TAB-2' : 'TAB-1'}:${inv.id}`));
    }),
  );
  return acked;
}

function countChanges(b: TestGateway): Map<string, number> {
  const counts = new Map<string, number>();
  b.gateway.events.on('sale.changed', (e) => counts.set(e.identifier, (counts.get(e.identifier) ?? 0) + 1));
  return counts;
}

async function expectExactlyOnce(b: TestGateway, changes: Map<string, number>, acked: string[]): Promise<void> {
  await eventually(async () => (await salesOn(b)).length >= acked.length, `${acked.length} sales on B`, 30_000);
  const sales = await salesOn(b);
  expect(sales.map((s) => s.identifier).sort()).toEqual([...acked].sort());
  expect(sales.filter((s) => s.version !== 1)).toEqual([]);
  expect([...changes.values()].filter((n) => n !== 1)).toEqual([]);
}

describe('bridge gateway as a process, SIGKILLed with a non-empty outbox', () => {
  it('every acknowledged sale reaches B exactly once: A killed while B is down, then killed mid-drain', async () => {
    const b = await upstreamB();
    await seedUpstreamCatalogue(b);
    const bPort = Number(new URL(b.url).port);
    const configPath = await bridgeConfig(b.url);
    const a = await startA(configPath);

    // 1. B down: sales pile up in A's outbox; A is killed; both come back.
    await b.stop();
    gateways.splice(gateways.indexOf(b), 1);
    const first = await pushMany(a, 20261123030000, 30);
    expect(first).toHaveLength(30);
    const outbox = await (await fetch(`${a.url}/api/outbox`, { headers: { authorization: adminAuth } })).json();
    expect(outbox.depth).toBe(30);
    await kill(a);
    const b2 = await upstreamB(b.dir, bPort);
    const changes = countChanges(b2);
    const a2 = await startA(configPath);
    await expectExactlyOnce(b2, changes, first);
    await eventually(
      async () => (await (await fetch(`${a2.url}/api/outbox`, { headers: { authorization: adminAuth } })).json()).depth === 0,
      "A's outbox drained",
    );

    // 2. B up: A is killed right after acknowledging, while it is still delivering.
    const second = await pushMany(a2, 20261123040000, 60);
    expect(second).toHaveLength(60);
    await kill(a2);
    const a3 = await startA(configPath);
    await expectExactlyOnce(b2, changes, [...first, ...second]);

    // 3. SIGTERM stops the bridge (workers, poll, keep-alive sockets) cleanly.
    a3.child.kill('SIGTERM');
    // 0, not the hard stop's 1 (9.5 s), and nothing left to cut when the grace period ended.
    expect(await a3.exited).toBe(0);
    expect(a3.output()).not.toContain('grace period ended');
    processes.splice(processes.indexOf(a3), 1);
  }, 120_000);
});
