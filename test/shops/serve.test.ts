import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnCli, startGatewayProcess, type GatewayProcess } from '../e2e/process.js';
import { DEVICE, removeDir } from '../helpers.js';
import { usePostgresCluster } from '../postgres-suite.js';
import { skipPostgres } from '../postgres.js';
import { CAFE_DEVICE, OPERATOR, TWO_SHOPS, auth } from './helpers.js';

const dirs: string[] = [];
let proc: GatewayProcess | null = null;
let other: GatewayProcess | null = null;
afterEach(async () => {
  for (const p of [proc, other]) {
    if (!p) continue;
    p.child.kill('SIGTERM');
    await p.exited;
  }
  proc = other = null;
  for (const d of dirs.splice(0)) await removeDir(d);
});

async function configFile(extra: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsg-shops-cli-'));
  dirs.push(dir);
  const path = join(dir, 'config.json');
  await writeFile(path, JSON.stringify({ server: { host: '127.0.0.1', port: 0 }, store: { dataDir: './data' }, devices: [DEVICE], ...extra }));
  return path;
}

describe('tabshop-gateway serve with shops', () => {
  it('serves every shop of the config from one process; a tablet of a shop is configured as before', async () => {
    proc = await startGatewayProcess(await configFile(TWO_SHOPS));
    const res = await fetch(`${proc.url}/home`, { headers: { authorization: auth(CAFE_DEVICE) } });
    expect(await res.text()).toBe('true');
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    proc = null;
  });
});

describe('tabshop-gateway serve with shops on a PostgreSQL out of reach', () => {
  it('exits 1 naming the database, as a one-shop gateway does', async () => {
    const p = spawnCli([
      'serve',
      '--config',
      await configFile({ ...TWO_SHOPS, store: { dataDir: './data', postgres: { url: 'postgres://u:p@127.0.0.1:1/db' } } }),
    ]);
    expect(await p.exited).toBe(1);
    expect(p.output()).toContain('cannot use PostgreSQL database "db" on 127.0.0.1:1');
  });
});

describe.skipIf(skipPostgres)('tabshop-gateway serve with shops on PostgreSQL', () => {
  const pg = usePostgresCluster();
  it("starts with the config's shops (each in a schema of its own) and serves their tablets", async () => {
    const url = await pg.cluster.createDatabase();
    proc = await startGatewayProcess(await configFile({ ...TWO_SHOPS, store: { dataDir: './data', postgres: { url } } }));
    const res = await fetch(`${proc.url}/home`, { headers: { authorization: auth(CAFE_DEVICE) } });
    expect(await res.text()).toBe('true');
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    proc = null;
  }, 60_000);
});

describe.skipIf(skipPostgres)('tabshop-gateway serve on PostgreSQL without shops or operators in its config', () => {
  const pg = usePostgresCluster();
  it('serves the shops stored in the database: those there at its start, and those another process adds while it runs', async () => {
    const url = await pg.cluster.createDatabase();
    const store = { dataDir: './data', postgres: { url } };
    // The process that manages (operators) and one that only serves (today's one-shop config).
    proc = await startGatewayProcess(await configFile({ operators: [OPERATOR], store }));
    const manage = (path: string, method: string, body: unknown) =>
      fetch(`${proc!.url}/api/shops${path}`, {
        method,
        body: JSON.stringify(body),
        headers: { authorization: auth(OPERATOR), 'content-type': 'application/json' },
      });
    const addShop = async (id: string, device: { username: string; password: string }) => {
      expect((await manage('', 'POST', { id })).status).toBe(201);
      expect((await manage(`/${id}/devices/${device.username}`, 'PUT', { password: device.password, cashRegister: 'T-1' })).status).toBe(201);
    };
    const first = { username: 'first-tablet', password: 'pw-first' };
    const later = { username: 'later-tablet', password: 'pw-later' };
    const home = async (who: { username: string; password: string }) => (await fetch(`${other!.url}/home`, { headers: { authorization: auth(who) } })).status;
    await addShop('first', first);

    other = await startGatewayProcess(await configFile({ store }));
    expect(await home(first)).toBe(200);
    expect(await home(DEVICE)).toBe(200);
    await addShop('later', later);
    const until = Date.now() + 10_000;
    while ((await home(later)) !== 200 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(await home(later)).toBe(200);
  }, 90_000);
});
