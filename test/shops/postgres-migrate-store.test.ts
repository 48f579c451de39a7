import { afterEach, describe, expect, it } from 'vitest';
import { adminAuth, invoice, removeDir } from '../helpers.js';
import { usePostgresCluster } from '../postgres-suite.js';
import { queryRows, skipPostgres } from '../postgres.js';
import { cli } from '../e2e/run-cli.js';
import { BISTRO_DEVICE, CAFE_DEVICE, OPERATOR, TWO_SHOPS, type TestDeployment, auth, startTestDeployment } from './helpers.js';
import { DEVICE } from '../helpers.js';

const started: TestDeployment[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const d of started.splice(0)) await d.stop();
  for (const d of dirs.splice(0)) await removeDir(d);
});

const op = auth(OPERATOR);
const DELI = { username: 'deli-tablet', password: 'pw-deli-tablet', cashRegister: 'DELI-1' };
const push = (d: TestDeployment, who: { username: string; password: string }, ids: number[], total = '2.50') =>
  d.json('/invoice', {
    method: 'POST',
    auth: auth(who),
    body: { invoices: ids.map((id) => invoice(id, [{ productId: 'p1', qty: 1, total }])) },
    headers: { accept: 'application/json' },
  });
const salesOf = async (d: TestDeployment, shop: string) => (await d.json(`/api/shops/${shop}/sales?maxResults=100`, { auth: op })).body;

describe.skipIf(skipPostgres)('migrate-store: a lowdb deployment of several shops into PostgreSQL', { timeout: 180_000 }, () => {
  const pg = usePostgresCluster();

  it('copies every shop into its schema and shops.json into shop_directory; the PostgreSQL deployment serves them all', async () => {
    // On lowdb: two shops of the config, one created through the API (shops.json), sales in each and in default.
    const lowdb = await startTestDeployment(TWO_SHOPS);
    dirs.push(lowdb.dir);
    expect((await lowdb.json('/api/shops', { method: 'POST', auth: op, body: { id: 'deli', name: 'Deli', currency: 'GBP' } })).status).toBe(201);
    const put = { method: 'PUT', auth: op, body: { password: DELI.password, cashRegister: DELI.cashRegister } };
    expect((await lowdb.json(`/api/shops/deli/devices/${DELI.username}`, put)).status).toBe(201);
    expect((await lowdb.json('/api/shops/bistro', { method: 'PATCH', auth: op, body: { disabled: true } })).status).toBe(200);
    expect((await push(lowdb, CAFE_DEVICE, [1, 2, 3])).body).toMatchObject({ created: 3 });
    expect((await push(lowdb, DELI, [1, 2], '4.00')).body).toMatchObject({ created: 2 });
    expect((await push(lowdb, DEVICE, [9])).body).toMatchObject({ created: 1 });
    expect((await lowdb.json('/api/shops/bistro', { method: 'PATCH', auth: op, body: { disabled: false } })).status).toBe(200);
    expect((await push(lowdb, BISTRO_DEVICE, [1])).body).toMatchObject({ created: 1 });
    expect((await lowdb.json('/api/shops/bistro', { method: 'PATCH', auth: op, body: { disabled: true } })).status).toBe(200);
    const before = { cafe: await salesOf(lowdb, 'cafe'), deli: await salesOf(lowdb, 'deli'), bistro: await salesOf(lowdb, 'bistro') };
    await lowdb.stop();
    started.splice(started.indexOf(lowdb), 1);

    const url = await pg.cluster.createDatabase();
    const run = await cli(['migrate-store', '--from', lowdb.dataDir, '--to', url]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    for (const shop of ['default (schema public)', 'bistro (schema shop_bistro)', 'cafe (schema shop_cafe)', 'deli (schema shop_deli)'])
      expect(run.stdout).toContain(`Shop ${shop}:`);
    expect(run.stdout).toContain('OK: every shop copied and verified');
    expect(await queryRows(url, 'SELECT username, shop FROM shop_usernames')).toEqual([{ username: DELI.username, shop: 'deli' }]);

    // The same config on PostgreSQL: every shop's data, the API's shop and device, the disabled flag.
    const onPg = await startTestDeployment({ ...TWO_SHOPS, store: { dataDir: './data-pg', postgres: { url } } }, lowdb.dir);
    started.push(onPg);
    for (const shop of ['cafe', 'deli', 'bistro'] as const) {
      const after = await salesOf(onPg, shop);
      expect(after.total).toBe(before[shop].total);
      expect(after.items.map((s: { identifier: string; total: number }) => [s.identifier, s.total]).sort()).toEqual(
        before[shop].items.map((s: { identifier: string; total: number }) => [s.identifier, s.total]).sort(),
      );
    }
    expect((await onPg.json('/api/sales', { auth: adminAuth })).body.total).toBe(1);
    expect((await onPg.json('/api/shops/deli', { auth: op })).body).toMatchObject({
      name: 'Deli',
      currency: 'GBP',
      origin: 'api',
      devices: [{ username: DELI.username }],
    });
    // The copied device pushes; a sale it pushed before is the same sale.
    expect((await push(onPg, DELI, [2, 3], '4.00')).body).toMatchObject({ unchanged: 1, created: 1 });
    expect((await push(onPg, BISTRO_DEVICE, [2])).status).toBe(403);

    // Run again (as after an interruption): the shops verified already are not copied again.
    const again = await cli(['migrate-store', '--from', lowdb.dataDir, '--to', url]);
    expect(again.code).toBe(0);
    expect(again.stdout.match(/copied and verified by an earlier run/g)).toHaveLength(4);
    expect((await salesOf(onPg, 'deli')).total).toBe(3);
  });
});
