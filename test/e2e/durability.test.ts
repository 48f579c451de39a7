import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, adminAuth, DEVICE, DEVICE2, deviceAuth, device2Auth, invoice, removeDir } from '../helpers.js';
import { spawnCli, startGatewayProcess, type GatewayProcess } from './process.js';

const running: GatewayProcess[] = [];
let dir = '';
afterEach(async () => {
  for (const p of running.splice(0)) p.child.kill('SIGKILL');
  if (dir) await removeDir(dir);
});

async function writeConfig(): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'tsg-e2e-'));
  const path = join(dir, 'config.json');
  await writeFile(path, JSON.stringify({
    server: { host: '127.0.0.1', port: 0 }, store: { dataDir: './data' }, devices: [DEVICE, DEVICE2], admins: [ADMIN],
  }));
  return path;
}

async function start(configPath: string): Promise<GatewayProcess> {
  const p = await startGatewayProcess(configPath);
  running.push(p);
  return p;
}

describe('durability', () => {
  it('loses nothing acknowledged and doubles nothing when SIGKILLed right after acknowledging pushes', async () => {
    const configPath = await writeConfig();
    const first = await start(configPath);
    const acked: string[] = [];
    const pushes = Array.from({ length: 24 }, (_, i) => {
      const auth = i % 2 ? device2Auth : deviceAuth;
      const register = i % 2 ? 'TAB-2' : 'TAB-1';
      const invoices = Array.from({ length: 5 }, (_, j) => invoice(20261123000000 + i * 10 + j, [{ productId: 'p', qty: 1, total: 1.1 }]));
      return fetch(`${first.url}/invoice`, { method: 'POST', headers: { authorization: auth }, body: JSON.stringify({ invoices }) })
        .then(async (res) => {
          if (res.status === 200 && (await res.text()) === 'true') acked.push(...invoices.map((inv) => `${register}:${inv.id}`));
        });
    });
    await Promise.all(pushes);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(acked).toHaveLength(120);

    const second = await start(configPath);
    const list = await (await fetch(`${second.url}/api/sales?maxResults=1000`, { headers: { authorization: adminAuth } })).json();
    const ids = list.items.map((s: { identifier: string }) => s.identifier).sort();
    expect(ids).toEqual([...acked].sort());
    expect(list.total).toBe(120);
    const again = await fetch(`${second.url}/invoice`, {
      method: 'POST', headers: { authorization: deviceAuth, accept: 'application/json' },
      body: JSON.stringify({ invoices: [invoice(20261123000000, [{ productId: 'p', qty: 1, total: 1.1 }])] }),
    });
    expect(await again.json()).toMatchObject({ unchanged: 1, created: 0 });
  });

  it('refuses a second process on the same data dir, naming it and the holder pid, and exits 1', async () => {
    const configPath = await writeConfig();
    const first = await start(configPath);
    const second = spawnCli(['serve', '--config', configPath]);
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(join(dir, 'data'));
    expect(second.output()).toContain(`pid ${first.child.pid}`);
  });

  it('stops gracefully on SIGTERM with exit 0 and releases the lock', async () => {
    const configPath = await writeConfig();
    const first = await start(configPath);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const second = await start(configPath);
    expect((await fetch(`${second.url}/home`, { headers: { authorization: deviceAuth } })).status).toBe(200);
  });
});
