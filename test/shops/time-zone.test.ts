import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/logger.js';
import { startDeployment } from '../../src/shops/deployment.js';
import { ADMIN, DEVICE, invoice, removeDir } from '../helpers.js';
import { MISSING_POSTGRES, PG_BIN, skipPostgres, startPostgres, type PgCluster } from '../postgres.js';
import { OPERATOR, auth } from './helpers.js';

// PATCH /api/shops/{shop} {"timeZone"} applies at once: the next sale received counts on its
// local date in the new zone, with no restart; what was counted before stays where it counted.

let now = new Date('2026-04-04T13:10:00Z');
let cluster: PgCluster | undefined;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});
afterAll(async () => {
  await cluster?.stop();
});

async function deployment(store: Record<string, unknown>) {
  const dir = await mkdtemp(join(tmpdir(), 'tsg-shops-tz-'));
  const file = join(dir, 'config.json');
  await writeFile(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0 },
      store: { dataDir: './data', ...store },
      devices: [DEVICE],
      admins: [ADMIN],
      operators: [OPERATOR],
    }),
  );
  const { config } = loadConfig({ file, cwd: dir, env: {} });
  const running = await startDeployment(config, createLogger('silent'), '127.0.0.1', 0, { now: () => now });
  stops.push(async () => {
    await running.stop(1000);
    await removeDir(dir);
  });
  return async (path: string, init: { method?: string; body?: unknown; auth?: string } = {}) => {
    const res = await fetch(running.url + path, {
      method: init.method ?? 'GET',
      headers: { authorization: init.auth ?? auth(OPERATOR), ...(init.body !== undefined && { 'content-type': 'application/json' }) },
      body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
    });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  };
}

const STORES = [
  { name: 'lowdb', skip: false, store: async () => ({}) },
  {
    name: 'PostgreSQL',
    skip: skipPostgres,
    store: async () => {
      if (!PG_BIN) throw new Error(MISSING_POSTGRES);
      cluster ??= await startPostgres();
      return { postgres: { url: await cluster.createDatabase() } };
    },
  },
];

describe.each(STORES)('a shop time zone changed through the API on $name', ({ skip, store }) => {
  it.skipIf(skip)('applies to the next sale at once, without a restart', async () => {
    const call = await deployment(await store());
    expect((await call('/api/shops', { method: 'POST', body: { id: 'deli' } })).status).toBe(201);
    const tablet = { username: 'deli-1', password: 'pw-deli-1' };
    expect((await call('/api/shops/deli/devices/deli-1', { method: 'PUT', body: { password: tablet.password, cashRegister: 'D-1' } })).status).toBe(201);
    const push = async (at: string, id: number, total: number) => {
      now = new Date(at);
      const res = await call('/invoice', {
        method: 'POST',
        auth: auth(tablet),
        body: { invoices: [invoice(id, [{ productId: '1', qty: 1, total }], { date: String(now.getTime()) })] },
      });
      expect(res.status).toBe(200);
    };
    const grossOn = async (from: string, to: string) =>
      (await call(`/api/shops/deli/registrations/stats?from=${from}&to=${to}`)).body.items.reduce((s: number, r: { gross: number }) => s + r.gross, 0);

    // No zone: UTC, as before (2026-04-04 in UTC, already 2026-04-05 in Sydney).
    await push('2026-04-04T13:10:00Z', 1, 1);
    const patched = await call('/api/shops/deli', { method: 'PATCH', body: { timeZone: 'Australia/Sydney' } });
    expect(patched.status).toBe(200);
    expect(patched.body.timeZone).toBe('Australia/Sydney');
    await push('2026-04-04T13:20:00Z', 2, 2);
    expect(await grossOn('2026-04-04', '2026-04-05')).toBe(1);
    expect(await grossOn('2026-04-05', '2026-04-06')).toBe(2);
    const text = await call('/api/shops/deli/days/current/report?cashRegisterName=D-1&format=text');
    expect(text.body).toMatch(/\nOpened +2026-04-05 00:10 \+11:00\n/);

    // Back to no zone: UTC again from the next sale on.
    expect((await call('/api/shops/deli', { method: 'PATCH', body: { timeZone: null } })).body.timeZone).toBeNull();
    await push('2026-04-04T13:30:00Z', 3, 4);
    expect(await grossOn('2026-04-04', '2026-04-05')).toBe(5);
    expect(await grossOn('2026-04-05', '2026-04-06')).toBe(2);
  });
});
