import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/config/password.js';
import { DEVICE, adminAuth, invoice, removeDir } from '../helpers.js';
import { BISTRO_DEVICE, CAFE_ADMIN, CAFE_DEVICE, OPERATOR, TWO_SHOPS, type TestDeployment, auth, startTestDeployment } from './helpers.js';

const op = auth(OPERATOR);
const started: TestDeployment[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const d of started.splice(0)) await d.stop();
  for (const d of dirs.splice(0)) await removeDir(d);
});

async function deployment(overrides: Record<string, unknown> = TWO_SHOPS, existingDir?: string): Promise<TestDeployment> {
  const d = await startTestDeployment(overrides, existingDir);
  started.push(d);
  if (!existingDir) dirs.push(d.dir);
  return d;
}

async function restart(d: TestDeployment, overrides: Record<string, unknown> = TWO_SHOPS): Promise<TestDeployment> {
  await d.stop();
  started.splice(started.indexOf(d), 1);
  return deployment(overrides, d.dir);
}

/** Every answer of these tests, to check that none carries a password or a hash. */
const answers: string[] = [];
async function call(d: TestDeployment, path: string, init: Parameters<TestDeployment['json']>[1] = {}) {
  const r = await d.json(path, { auth: op, ...init });
  answers.push(JSON.stringify(r.body));
  return r;
}

const DELI_DEVICE = { username: 'deli-tablet', password: 'pw-deli-tablet', cashRegister: 'DELI-1' };
const DELI_ADMIN = { username: 'deli-admin', password: 'pw-deli-admin' };

describe('management API (operators)', () => {
  it('lists the shops of the config with default first, without passwords', async () => {
    const d = await deployment();
    const r = await call(d, '/api/shops');
    expect(r.status).toBe(200);
    expect(r.body.total).toBe(3);
    expect(r.body.items.map((s: { id: string }) => s.id)).toEqual(['default', 'cafe', 'bistro']);
    expect(r.body.items[2]).toMatchObject({
      id: 'bistro',
      name: 'Bistro',
      currency: 'CHF',
      disabled: false,
      origin: 'config',
      devices: [{ username: BISTRO_DEVICE.username, cashRegister: 'CAFE-1', origin: 'config' }],
    });
    expect((await call(d, '/api/shops/cafe')).body).toMatchObject({ id: 'cafe', currency: 'EUR', admins: [{ username: CAFE_ADMIN.username }] });
  });

  it('creates a shop, its device and admin: in effect at once, no restart; everything survives a restart', async () => {
    let d = await deployment();
    const created = await call(d, '/api/shops', { method: 'POST', body: { id: 'deli', name: 'Deli', currency: 'GBP', timeZone: 'Europe/London' } });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/api/shops/deli');
    expect(created.body).toMatchObject({
      id: 'deli',
      name: 'Deli',
      currency: 'GBP',
      timeZone: 'Europe/London',
      origin: 'api',
      devices: [],
      admins: [],
      open: false,
    });
    // A device with a plain password (hashed here), an admin with a hash.
    expect(
      (await call(d, `/api/shops/deli/devices/${DELI_DEVICE.username}`, { method: 'PUT', body: { password: DELI_DEVICE.password, cashRegister: 'DELI-1' } }))
        .status,
    ).toBe(201);
    const hash = await hashPassword(DELI_ADMIN.password);
    expect((await call(d, `/api/shops/deli/admins/${DELI_ADMIN.username}`, { method: 'PUT', body: { passwordHash: hash } })).status).toBe(201);
    expect(await (await fetch(`${d.url}/home`, { headers: { authorization: auth(DELI_DEVICE) } })).text()).toBe('true');
    await d.json('/invoice', { method: 'POST', auth: auth(DELI_DEVICE), body: { invoices: [invoice(5, [{ productId: 'a', qty: 1, total: 3 }])] } });
    expect((await d.json('/api/sales', { auth: auth(DELI_ADMIN) })).body).toMatchObject({ total: 1, items: [{ identifier: 'DELI-1:5' }] });
    // The shop was created on disk under <dataDir>/shops/deli.
    expect(await readFile(join(d.dataDir, 'shops', 'deli', 'gateway.lock'), 'utf8')).toContain(String(process.pid));

    d = await restart(d);
    expect((await call(d, '/api/shops/deli')).body).toMatchObject({
      id: 'deli',
      name: 'Deli',
      currency: 'GBP',
      devices: [{ username: DELI_DEVICE.username, origin: 'api' }],
    });
    expect((await d.json('/api/sales', { auth: auth(DELI_ADMIN) })).body.total).toBe(1);
    expect(await (await fetch(`${d.url}/home`, { headers: { authorization: auth(DELI_DEVICE) } })).text()).toBe('true');
  });

  it('a new password, a removed device or admin, a disabled shop: at once', async () => {
    const d = await deployment();
    await call(d, '/api/shops', { method: 'POST', body: { id: 'deli' } });
    await call(d, `/api/shops/deli/devices/${DELI_DEVICE.username}`, { method: 'PUT', body: { password: 'first', cashRegister: 'DELI-1' } });
    await call(d, `/api/shops/deli/admins/${DELI_ADMIN.username}`, { method: 'PUT', body: { password: DELI_ADMIN.password } });
    expect((await d.json('/stock', { auth: auth({ ...DELI_DEVICE, password: 'first' }) })).status).toBe(200);
    // Replaced: 200, the old password refused at once.
    expect(
      (await call(d, `/api/shops/deli/devices/${DELI_DEVICE.username}`, { method: 'PUT', body: { password: DELI_DEVICE.password, cashRegister: 'DELI-2' } }))
        .status,
    ).toBe(200);
    expect((await d.json('/stock', { auth: auth({ ...DELI_DEVICE, password: 'first' }) })).status).toBe(401);
    expect((await d.json('/stock', { auth: auth(DELI_DEVICE) })).status).toBe(200);

    expect((await call(d, '/api/shops/deli', { method: 'PATCH', body: { disabled: true } })).body.disabled).toBe(true);
    expect((await d.json('/home', { auth: auth(DELI_DEVICE) })).body.error.code).toBe('shop_disabled');
    expect((await d.json('/api/sales', { auth: auth(DELI_ADMIN) })).body.error.code).toBe('shop_disabled');
    expect((await call(d, '/api/shops/deli', { method: 'PATCH', body: { disabled: false } })).body.disabled).toBe(false);
    expect((await d.json('/home', { auth: auth(DELI_DEVICE) })).body).toBe(true);
    // A config shop can be disabled too.
    await call(d, '/api/shops/cafe', { method: 'PATCH', body: { disabled: true } });
    expect((await d.json('/home', { auth: auth(CAFE_DEVICE) })).status).toBe(403);

    expect((await call(d, `/api/shops/deli/devices/${DELI_DEVICE.username}`, { method: 'DELETE' })).status).toBe(204);
    expect((await d.json('/stock', { auth: auth(DELI_DEVICE) })).status).toBe(401);
    expect((await call(d, `/api/shops/deli/admins/${DELI_ADMIN.username}`, { method: 'DELETE' })).status).toBe(204);
    expect((await d.json('/api/sales', { auth: auth(DELI_ADMIN) })).status).toBe(401);
    expect((await call(d, `/api/shops/deli/admins/${DELI_ADMIN.username}`, { method: 'DELETE' })).status).toBe(404);
    // The username is free again, in any shop.
    expect((await call(d, `/api/shops/bistro/devices/${DELI_DEVICE.username}`, { method: 'PUT', body: { password: 'x', cashRegister: 'B-2' } })).status).toBe(
      201,
    );
  });

  it('usernames are unique across the deployment: 409 username_taken', async () => {
    const d = await deployment({ ...TWO_SHOPS, kitchen: { accounts: [{ username: 'kitchen', password: 'pw-kitchen' }] } });
    await call(d, '/api/shops', { method: 'POST', body: { id: 'deli' } });
    for (const username of [CAFE_DEVICE.username, BISTRO_DEVICE.username, CAFE_ADMIN.username, OPERATOR.username, DEVICE.username, 'admin', 'kitchen']) {
      const r = await call(d, `/api/shops/deli/devices/${username}`, { method: 'PUT', body: { password: 'x', cashRegister: 'DELI-1' } });
      expect(r.status, username).toBe(409);
      expect(r.body.error.code).toBe('username_taken');
    }
    await call(d, `/api/shops/deli/admins/boss`, { method: 'PUT', body: { password: 'x' } });
    expect((await call(d, '/api/shops/cafe/admins/boss', { method: 'PUT', body: { password: 'y' } })).body.error.code).toBe('username_taken');
    // A config account is not removed or replaced through the API.
    expect((await call(d, `/api/shops/cafe/devices/${CAFE_DEVICE.username}`, { method: 'DELETE' })).body.error.code).toBe('shop_in_config');
  });

  it('bad input: unknown shop 404, bad id 400 naming it, duplicate 409, bad fields 400; config shops keep their file settings', async () => {
    const d = await deployment();
    expect((await call(d, '/api/shops/nowhere')).status).toBe(404);
    expect((await call(d, '/api/shops/nowhere', { method: 'PATCH', body: { disabled: true } })).status).toBe(404);
    expect((await call(d, '/api/shops/nowhere/devices/x', { method: 'PUT', body: { password: 'x', cashRegister: 'R' } })).status).toBe(404);
    const badPath = await call(d, '/api/shops/Bad%20Id');
    expect(badPath.status).toBe(400);
    expect(badPath.body.error.message).toContain('"Bad Id"');
    const badId = await call(d, '/api/shops', { method: 'POST', body: { id: 'Not_OK' } });
    expect(badId.status).toBe(400);
    expect(badId.body.error.details).toEqual([{ field: 'id', message: 'must be 1 to 40 of a-z, 0-9 and "-"', value: 'Not_OK' }]);
    expect((await call(d, '/api/shops', { method: 'POST', body: { id: 'cafe' } })).body.error.code).toBe('already_exists');
    expect((await call(d, '/api/shops', { method: 'POST', body: { id: 'x', colour: 'red' } })).body.error.details).toEqual([
      { field: 'colour', message: 'unknown field' },
    ]);
    expect((await call(d, '/api/shops', { method: 'POST', body: { id: 'x', currency: 'euro' } })).status).toBe(400);
    expect((await call(d, '/api/shops', { method: 'POST', body: { id: 'x', timeZone: 'Mars/Olympus' } })).status).toBe(400);
    expect((await call(d, '/api/shops/cafe/devices/t', { method: 'PUT', body: { password: 'x' } })).body.error.details[0].field).toBe('cashRegister');
    expect((await call(d, '/api/shops/cafe/devices/t', { method: 'PUT', body: { password: 'x', passwordHash: 'y', cashRegister: 'R' } })).status).toBe(400);
    expect((await call(d, '/api/shops/cafe/admins/t', { method: 'PUT', body: { passwordHash: 'not-a-hash' } })).status).toBe(400);
    const inConfig = await call(d, '/api/shops/cafe', { method: 'PATCH', body: { name: 'Other' } });
    expect(inConfig.status).toBe(409);
    expect(inConfig.body.error.code).toBe('shop_in_config');
    expect((await call(d, '/api/shops', { method: 'DELETE' })).status).toBe(405);
  });

  it('is for operators only: shop admins get 403, wrong passwords 401', async () => {
    const d = await deployment();
    expect((await d.json('/api/shops', { auth: auth(CAFE_ADMIN) })).status).toBe(403);
    expect((await d.json('/api/shops/cafe', { auth: auth(CAFE_ADMIN) })).status).toBe(403);
    expect((await d.json('/api/shops/cafe/devices/x', { method: 'PUT', auth: auth(CAFE_ADMIN), body: { password: 'x', cashRegister: 'R' } })).status).toBe(403);
    expect((await d.json('/api/shops', { auth: adminAuth })).status).toBe(403);
    expect((await d.json('/api/shops', { auth: auth({ ...OPERATOR, password: 'wrong' }) })).status).toBe(401);
    expect((await d.json('/api/shops', { auth: null })).status).toBe(401);
  });

  it('a currency change reopens the shop with it; answers never carry a password or a hash', async () => {
    const d = await deployment();
    await call(d, '/api/shops', { method: 'POST', body: { id: 'deli', currency: 'EUR' } });
    await call(d, `/api/shops/deli/devices/${DELI_DEVICE.username}`, { method: 'PUT', body: { password: DELI_DEVICE.password, cashRegister: 'DELI-1' } });
    expect((await d.json('/home', { auth: auth(DELI_DEVICE) })).body).toBe(true);
    expect(d.directory.isOpen('deli')).toBe(true);
    expect((await call(d, '/api/shops/deli', { method: 'PATCH', body: { currency: 'USD', name: 'Deli 2', timeZone: null } })).body).toMatchObject({
      currency: 'USD',
      name: 'Deli 2',
      timeZone: null,
    });
    expect((await d.json('/home', { auth: auth(DELI_DEVICE) })).body).toBe(true);
    expect((await d.directory.gateway('deli')).gateway.config.currency).toBe('USD');
    const all = answers.join('\n');
    // Every password these tests set starts with pw- (or is 'first', 'x', 'y'); hashes start with scrypt$.
    for (const secret of ['scrypt$', 'pw-', '"first"', '"x"', '"y"', 'passwordHash":']) expect(all).not.toContain(secret);
  });
});

describe('the shop directory on disk', () => {
  it('a shop in the config and in shops.json: the config wins, and the start-up log says so', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsg-shops-'));
    dirs.push(dir);
    await mkdir(join(dir, 'data'));
    await writeFile(
      join(dir, 'data', 'shops.json'),
      JSON.stringify({ shops: [{ id: 'cafe', name: 'Old name', currency: 'USD', createdAt: '2026-12-01T00:00:00.000Z', devices: [], admins: [] }] }),
    );
    const d = await deployment(TWO_SHOPS, dir);
    expect((await call(d, '/api/shops/cafe')).body).toMatchObject({ name: 'Café', currency: 'EUR', origin: 'config' });
    expect(d.logs.join('')).toContain('shop cafe is in the config file and in shops.json: the config file');
  });

  it('shops created through the API make a deployment even when the config no longer lists operators', async () => {
    let d = await deployment({ operators: [OPERATOR] });
    await call(d, '/api/shops', { method: 'POST', body: { id: 'deli' } });
    await call(d, `/api/shops/deli/devices/${DELI_DEVICE.username}`, { method: 'PUT', body: { password: DELI_DEVICE.password, cashRegister: 'DELI-1' } });
    await d.stop();
    started.splice(started.indexOf(d), 1);
    // Started as the CLI does: isMultiShop sees shops.json.
    const { isMultiShop } = await import('../../src/shops/deployment.js');
    const { loadConfig } = await import('../../src/config/load.js');
    await writeFile(join(d.dir, 'config.json'), JSON.stringify({ store: { dataDir: './data' }, devices: [DEVICE] }));
    expect(isMultiShop(loadConfig({ file: join(d.dir, 'config.json'), cwd: d.dir, env: {} }).config)).toBe(true);
    d = await deployment({}, d.dir);
    expect((await d.json('/home', { auth: auth(DELI_DEVICE) })).body).toBe(true);
  });
});
