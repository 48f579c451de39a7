import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, DEVICE, DEVICE2, deviceAuth, removeDir } from '../helpers.js';
import { killAfterAcknowledgedPushes } from './kill-after-ack.js';
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
  await writeFile(
    path,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0 },
      store: { dataDir: './data' },
      devices: [DEVICE, DEVICE2],
      admins: [ADMIN],
    }),
  );
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
    await killAfterAcknowledgedPushes(() => start(configPath));
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
