import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeSettings } from '../../src/admin/runtime-settings.js';
import { Accounts } from '../../src/auth/accounts.js';
import { hashPassword } from '../../src/config/password.js';
import { createPool } from '../../src/store/postgres/connection.js';
import { PgRuntimeSettingsStore } from '../../src/store/postgres/pg-runtime-settings.js';
import { ADMIN, adminAuth, basic, testGateways, type TestGateway } from '../helpers.js';
import { MISSING_POSTGRES, PG_BIN, queryRows, skipPostgres, startPostgres, type PgCluster } from '../postgres.js';

let cluster: PgCluster;
const gateways = testGateways();
const logger = pino({ level: 'silent' });
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)![1];
const ended: (() => Promise<void>)[] = [];

/** Another gateway process on the same database, as far as the runtime settings go. */
async function otherProcess(url: string) {
  const pool = createPool({ url, poolSize: 2 }, () => undefined);
  const accounts = new Accounts([], []);
  const settings = await RuntimeSettings.open(new PgRuntimeSettingsStore(pool, url, logger), accounts, logger);
  ended.push(async () => {
    await settings.close();
    await pool.end();
  });
  return { accounts, settings };
}

async function backOffice(g: TestGateway) {
  const signIn = await g.fetch('/admin/sign-in', {
    method: 'POST',
    auth: null,
    redirect: 'manual',
    headers: FORM,
    body: new URLSearchParams({ username: ADMIN.username, password: ADMIN.password, next: 'devices' }).toString(),
  });
  const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0];
  const get = async (path: string) => {
    const res = await g.fetch(`/admin/${path}`, { auth: null, redirect: 'manual', headers: { cookie } });
    return { status: res.status, text: await res.text() };
  };
  /** Posts a form of the page at `from`, with its token. */
  const post = async (from: string, path: string, fields: Record<string, string>) => {
    const token = csrfOf((await get(from)).text);
    const res = await g.fetch(`/admin/${path}`, {
      method: 'POST',
      auth: null,
      redirect: 'manual',
      headers: { ...FORM, cookie, origin: g.url },
      body: new URLSearchParams({ ...fields, _csrf: token }).toString(),
    });
    return { status: res.status, text: await res.text() };
  };
  return { get, post };
}

/** The "Low at" cell of product 7 on the stock page. */
const lowAt = (html: string) =>
  /<tr data-product="7"[^>]*>(.*?)<\/tr>/s
    .exec(html)?.[1]
    .match(/<td[^>]*>(.*?)<\/td>/g)?.[3]
    ?.replace(/<[^>]+>/g, '');

const home = (g: TestGateway, user: string, password: string) => g.fetch('/home', { auth: basic(user, password) });

describe.skipIf(skipPostgres)('back-office devices and low-stock thresholds on a PostgreSQL gateway', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    if (!PG_BIN) throw new Error(MISSING_POSTGRES);
    cluster = await startPostgres();
  }, 60_000);
  afterEach(async () => {
    for (const end of ended.splice(0)) await end().catch(() => undefined);
    await gateways.cleanup();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('imports the data dir’s admin-settings.json, stores what the back office creates in the database, and sees what another process changes on its next request', async () => {
    const url = await cluster.createDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'tsg-http-'));
    await mkdir(join(dir, 'data'));
    const at = '2026-11-01T09:00:00.000Z';
    await writeFile(
      join(dir, 'data', 'admin-settings.json'),
      JSON.stringify({
        devices: [{ username: 'tablet-8', passwordHash: await hashPassword('pw-8'), cashRegister: 'TAB-8', createdAt: at, passwordChangedAt: at }],
        lowStock: { 7: '3' },
      }),
    );
    const config = { store: { dataDir: './data', postgres: { url } } };
    let g = await gateways.start(config, dir);
    expect(g.logs.join('')).toContain('imported 1 back-office devices and 1 low-stock thresholds from admin-settings.json');
    expect(await (await home(g, 'tablet-8', 'pw-8')).text()).toBe('true');
    expect((await g.json('/api/products/7', { method: 'PUT', body: { name: 'Scone', price: 2.9 }, auth: adminAuth })).status).toBeLessThan(300);

    const bo = await backOffice(g);
    const created = await bo.post('devices', 'devices', { username: 'tablet-9', register: 'TAB-9' });
    expect(created.status).toBe(201);
    const password = /id="new-password">([^<]+)</.exec(created.text)![1];
    expect(await (await home(g, 'tablet-9', password)).text()).toBe('true');
    expect(await queryRows(url, 'SELECT username, cash_register, deleted FROM runtime_devices ORDER BY username')).toEqual([
      { username: 'tablet-8', cash_register: 'TAB-8', deleted: false },
      { username: 'tablet-9', cash_register: 'TAB-9', deleted: false },
    ]);

    // Another process on the database: it knows the device; what it creates is taken here and works here.
    const other = await otherProcess(url);
    expect(await other.accounts.verify('tablet-9', password)).toMatchObject({ cashRegister: 'TAB-9' });
    expect(
      await other.settings.createDevice({
        username: 'tablet-5',
        passwordHash: await hashPassword('pw-5'),
        cashRegister: 'TAB-5',
        createdAt: at,
        passwordChangedAt: at,
      }),
    ).toBe(true);
    expect(await (await home(g, 'tablet-5', 'pw-5')).text()).toBe('true');
    const taken = await bo.post('devices', 'devices', { username: 'tablet-5', register: 'TAB-1' });
    expect(taken.status).toBe(409);
    expect(taken.text).toContain('username tablet-5 is taken in this deployment');
    expect((await bo.get('devices')).text).toContain('data-device="tablet-5"');

    // Deleted by the other process: refused here (the notification arrives right after its commit).
    expect(await other.settings.deleteDevice('tablet-9')).toBe(true);
    await expect.poll(async () => (await home(g, 'tablet-9', password)).status).toBe(401);
    expect((await bo.get('devices/tablet-9/password')).status).toBe(404);

    // Thresholds both ways.
    expect(lowAt((await bo.get('stock')).text)).toBe('3');
    await other.settings.setThreshold('7', '12');
    expect(lowAt((await bo.get('stock')).text)).toBe('12');
    const saved = await bo.post('stock/7', 'stock/7/threshold', { threshold: '4' });
    expect(saved.status).toBe(303);
    await other.settings.sync();
    expect(other.settings.lowStock).toEqual({ 7: '4' });

    // A restart imports nothing again: the deleted device stays deleted, the threshold stays as set.
    await gateways.stop(g);
    g = await gateways.start(config, dir);
    expect(g.logs.join('')).not.toContain('imported');
    expect((await home(g, 'tablet-9', password)).status).toBe(401);
    expect(await (await home(g, 'tablet-8', 'pw-8')).text()).toBe('true');
    expect(await (await home(g, 'tablet-5', 'pw-5')).text()).toBe('true');
    expect(lowAt((await backOffice(g).then((b) => b.get('stock'))).text)).toBe('4');
  });
});
