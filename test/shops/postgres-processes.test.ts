import { afterEach, describe, expect, it } from 'vitest';
import { invoice, removeDir } from '../helpers.js';
import { usePostgresCluster } from '../postgres-suite.js';
import { queryRows, skipPostgres } from '../postgres.js';
import type { DirectoryOptions } from '../../src/shops/directory.js';
import { hashPassword } from '../../src/config/password.js';
import { createClient } from '../../src/store/postgres/connection.js';
import { loadMigrations, migrate } from '../../src/store/postgres/migrate.js';
import { OPERATOR, type TestDeployment, auth, startTestDeployment } from './helpers.js';

const started: TestDeployment[] = [];
afterEach(async () => {
  for (const d of started.splice(0)) {
    await d.stop();
    await removeDir(d.dir);
  }
});

/** One process of the deployment: its own directory and app, the database shared. */
async function process_(url: string, opts: DirectoryOptions = {}): Promise<TestDeployment> {
  const d = await startTestDeployment({ operators: [OPERATOR], store: { dataDir: './data', postgres: { url } } }, undefined, opts);
  started.push(d);
  return d;
}

const op = auth(OPERATOR);
const DELI = { username: 'deli-tablet', password: 'pw-deli-tablet', cashRegister: 'DELI-1' };
const DELI_ADMIN = { username: 'deli-admin', password: 'pw-deli-admin' };

const push = (d: TestDeployment, who: { username: string; password: string }, id: number) =>
  d.json('/invoice', {
    method: 'POST',
    auth: auth(who),
    body: { invoices: [invoice(id, [{ productId: 'p1', qty: 1, total: '1.00' }])] },
    headers: { accept: 'application/json' },
  });

/** The other process learns of a change by a notification: its effect shows there within moments, not at a restart. */
async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(skipPostgres)('several shops on PostgreSQL: every process follows the directory at once', { timeout: 120_000 }, () => {
  const pg = usePostgresCluster();

  it('a shop, device or admin changed through process A applies on process B without a restart', async () => {
    const url = await pg.cluster.createDatabase();
    const a = await process_(url);
    const b = await process_(url);
    expect((await a.json('/api/shops', { method: 'POST', auth: op, body: { id: 'deli', name: 'Deli' } })).status).toBe(201);
    await eventually(
      () => b.json('/api/shops/deli', { auth: op }),
      (r) => r.status === 200,
      'the shop on B',
    );
    // The id is taken on B too.
    expect((await b.json('/api/shops', { method: 'POST', auth: op, body: { id: 'deli' } })).body.error.code).toBe('already_exists');

    // A device and an admin added through A log in on B.
    const putDevice = { method: 'PUT', auth: op, body: { password: DELI.password, cashRegister: DELI.cashRegister } };
    expect((await a.json(`/api/shops/deli/devices/${DELI.username}`, putDevice)).status).toBe(201);
    expect((await a.json(`/api/shops/deli/admins/${DELI_ADMIN.username}`, { method: 'PUT', auth: op, body: { password: DELI_ADMIN.password } })).status).toBe(
      201,
    );
    const pushed = await eventually(
      () => push(b, DELI, 1),
      (r) => r.status === 200,
      'a push of the new device on B',
    );
    expect(pushed.body).toMatchObject({ created: 1 });
    expect((await b.json('/api/sales', { auth: auth(DELI_ADMIN) })).body.total).toBe(1);
    // The same sale through A: one sale (one schema, whichever process).
    expect((await push(a, DELI, 1)).body).toMatchObject({ unchanged: 1 });

    // Disabled through A: B refuses the shop's device (its gateway is open there) and admin with 403 shop_disabled.
    expect((await a.json('/api/shops/deli', { method: 'PATCH', auth: op, body: { disabled: true } })).status).toBe(200);
    const refused = await eventually(
      () => push(b, DELI, 2),
      (r) => r.status === 403,
      'the disabled shop on B',
    );
    expect(refused.body.error.code).toBe('shop_disabled');
    expect((await b.json('/home', { auth: auth(DELI) })).body.error.code).toBe('shop_disabled');
    expect((await b.json('/api/sales', { auth: auth(DELI_ADMIN) })).status).toBe(403);
    expect((await a.json('/api/shops/deli', { method: 'PATCH', auth: op, body: { disabled: false } })).status).toBe(200);
    await eventually(
      () => push(b, DELI, 2),
      (r) => r.status === 200,
      'the enabled shop on B',
    );

    // A new password given through A: B takes it and refuses the old one.
    expect((await a.json(`/api/shops/deli/devices/${DELI.username}`, { ...putDevice, body: { password: 'new-pw', cashRegister: 'DELI-1' } })).status).toBe(200);
    await eventually(
      () => push(b, { ...DELI, password: 'new-pw' }, 3),
      (r) => r.status === 200,
      'the new password on B',
    );
    expect((await push(b, DELI, 4)).status).toBe(401);

    // Removed through A: refused on B.
    expect((await a.json(`/api/shops/deli/devices/${DELI.username}`, { method: 'DELETE', auth: op })).status).toBe(204);
    await eventually(
      () => push(b, { ...DELI, password: 'new-pw' }, 5),
      (r) => r.status === 401,
      'the removed device on B',
    );
    expect((await b.json('/api/shops/deli/devices', { auth: op })).body.items).toEqual([]);

    // A currency changed through A: B's open gateway reopens with it.
    expect((await a.json('/api/shops/deli', { method: 'PATCH', auth: op, body: { currency: 'GBP' } })).status).toBe(200);
    await eventually(
      () => b.json('/api/shops/deli', { auth: op }),
      (r) => r.body.currency === 'GBP',
      'the currency on B',
    );
  });

  it('a username is one account of one shop across processes: taken on A is 409 username_taken on B, decided in SQL when both add it at once', async () => {
    const url = await pg.cluster.createDatabase();
    const a = await process_(url);
    const b = await process_(url);
    for (const id of ['one', 'two']) expect((await a.json('/api/shops', { method: 'POST', auth: op, body: { id } })).status).toBe(201);
    await eventually(
      () => b.json('/api/shops/two', { auth: op }),
      (r) => r.status === 200,
      'the shops on B',
    );

    const device = (register: string) => ({ method: 'PUT', auth: op, body: { password: 'pw', cashRegister: register } });
    expect((await a.json('/api/shops/one/devices/tab', device('T-1'))).status).toBe(201);
    const taken = await b.json('/api/shops/two/devices/tab', device('T-2'));
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('username_taken');
    expect((await b.json('/api/shops/two/admins/tab', { method: 'PUT', auth: op, body: { password: 'pw' } })).body.error.code).toBe('username_taken');

    // The same new name through both processes at once, many times: exactly one wins each time.
    for (let i = 0; i < 10; i++) {
      const name = `race-${i}`;
      const [ra, rb] = await Promise.all([a.json(`/api/shops/one/devices/${name}`, device('T-1')), b.json(`/api/shops/two/devices/${name}`, device('T-2'))]);
      expect([ra.status, rb.status].sort()).toEqual([201, 409]);
    }
    const owners = await queryRows<{ shop: string; n: number }>(
      url,
      "SELECT shop, count(*)::int AS n FROM shop_usernames WHERE username LIKE 'race-%' GROUP BY shop",
    );
    expect(owners.reduce((n, r) => n + r.n, 0)).toBe(10);
    // The unique key decides, not only the directory in memory: a name held in shop_usernames alone is refused too.
    await queryRows(url, "INSERT INTO shop_usernames (username, shop) VALUES ('held', 'one')");
    expect((await b.json('/api/shops/two/devices/held', device('T-2'))).body.error.code).toBe('username_taken');
    // Changes of one shop through both processes at once: none is lost (each is made on the latest row).
    await Promise.all([0, 1, 2, 3].map((i) => (i % 2 ? a : b).json(`/api/shops/two/admins/both-${i}`, { method: 'PUT', auth: op, body: { password: 'pw' } })));
    for (const d of [a, b]) {
      await eventually(
        async () => (await d.json('/api/shops/two/admins', { auth: op })).body.items.map((x: { username: string }) => x.username).sort(),
        (names: string[]) => names.join() === 'both-0,both-1,both-2,both-3',
        'the admins of shop two',
      );
    }
    // Each directory lists each name once, in the shop that won it.
    for (const d of [a, b]) {
      const lists = await Promise.all(
        ['one', 'two'].map(async (id) => (await d.json(`/api/shops/${id}/devices`, { auth: op })).body.items.map((x: { username: string }) => x.username)),
      );
      const names = lists.flat().filter((n: string) => n.startsWith('race-'));
      expect(new Set(names).size).toBe(10);
      expect(names).toHaveLength(10);
    }
  });

  it('a notification lost (a change written while nobody was told): the periodic version check applies it', async () => {
    const url = await pg.cluster.createDatabase();
    const a = await process_(url);
    const b = await process_(url, { checkMs: 200 });
    expect((await a.json('/api/shops', { method: 'POST', auth: op, body: { id: 'quiet' } })).status).toBe(201);
    await eventually(
      () => b.json('/api/shops/quiet', { auth: op }),
      (r) => r.status === 200,
      'the shop on B',
    );
    // As a change whose notification never arrived: version raised and the row written, no NOTIFY.
    await queryRows(
      url,
      `WITH v AS (UPDATE shop_directory_state SET version = version + 1 RETURNING version)
       UPDATE shop_directory SET doc = jsonb_set(doc, '{name}', '"Renamed quietly"'), version = (SELECT version FROM v) WHERE id = 'quiet'`,
    );
    const seen = await eventually(
      () => b.json('/api/shops/quiet', { auth: op }),
      (r) => r.body.name === 'Renamed quietly',
      'the quiet change on B',
      5_000,
    );
    expect(seen.body.name).toBe('Renamed quietly');
  });

  it('a database whose shops were stored before (schema version 18) keeps them: their usernames join the unique key', async () => {
    const url = await pg.cluster.createDatabase();
    const client = createClient(url);
    await client.connect();
    try {
      await migrate(client, { migrations: loadMigrations().filter((m) => m.version <= 18) });
      const doc = {
        id: 'old',
        name: 'Old',
        createdAt: '2026-12-01T00:00:00.000Z',
        devices: [{ ...DELI, passwordHash: await hashPassword(DELI.password) }],
        admins: [],
      };
      await client.query('INSERT INTO shop_directory (id, doc) VALUES ($1, $2)', ['old', JSON.stringify(doc)]);
    } finally {
      await client.end();
    }
    const a = await process_(url);
    expect((await push(a, DELI, 1)).body).toMatchObject({ created: 1 });
    expect(await queryRows(url, 'SELECT username, shop FROM shop_usernames')).toEqual([{ username: DELI.username, shop: 'old' }]);
    expect((await a.json('/api/shops', { method: 'POST', auth: op, body: { id: 'new' } })).status).toBe(201);
    expect((await a.json(`/api/shops/new/devices/${DELI.username}`, { method: 'PUT', auth: op, body: { password: 'pw', cashRegister: 'N-1' } })).status).toBe(
      409,
    );
  });
});
