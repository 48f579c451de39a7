import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { copyLowdbToPostgres } from '../../src/store/postgres/copy-from-lowdb.js';
import { adminAuth, basic, device2Auth, deviceAuth, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';
import { MISSING_POSTGRES, PG_BIN, skipPostgres, startPostgres, type PgCluster, queryRows } from '../postgres.js';
import { runCli } from './run-cli.js';
import { hashPassword } from '../../src/config/password.js';

let cluster: PgCluster;
const dirs: string[] = [];
const webhooks = [{ url: 'http://127.0.0.1:9/hook', secret: 's' }]; // nothing listens: items stay in the outbox

/** A lowdb gateway with a bit of everything: articles, stock, sales, a refund, quarantine, a closed day, cash, outbox. */
async function fillLowdb(): Promise<TestGateway> {
  const g = await startTestGateway({ webhooks });
  dirs.push(g.dir);
  const admin = (path: string, method = 'GET', body?: unknown) => g.json(`/api${path}`, { method, body, auth: adminAuth });
  await admin('/taxes/1', 'PUT', { name: 'Reduced', vat: 10 });
  await admin('/products/18', 'PUT', { name: 'Cheese Burger', price: 3.19, tax: '1' });
  await admin('/stock/18', 'PUT', { quantity: 50 });
  const push = (invoices: unknown[], auth = deviceAuth) => g.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }), auth });
  await push(
    Array.from({ length: 30 }, (_, i) =>
      invoice(202611230100000 + i, [
        { productId: '18', qty: 1, total: 3.19 },
        { productId: '99', qty: '0.5', total: '1.05' },
      ]),
    ),
  );
  await push([
    invoice(
      202611230100003,
      [
        { productId: '18', qty: 1, total: 3.19 },
        { productId: '99', qty: '0.5', total: '1.05' },
      ],
      { checkoutStatus: '11' },
    ),
    { id: 'broken' },
  ]);
  expect((await admin('/days/current?cashRegisterName=TAB-1', 'POST')).status).toBe(201);
  await admin('/registrations/TAB-1/balance', 'POST', { action: 'deposit', amount: 100.05, note: 'float' });
  await push(
    Array.from({ length: 12 }, (_, i) => invoice(202611240200000 + i, [{ productId: '18', qty: 2, total: 6.38 }])),
    device2Auth,
  );
  await push('not json at all' as never);
  // Back-office settings (admin-settings.json): a device created there, a low-stock threshold.
  const at = '2026-11-24T08:00:00.000Z';
  await g.gateway.adminSettings.createDevice({
    username: 'tablet-7',
    passwordHash: await hashPassword('pw-7'),
    cashRegister: 'TAB-7',
    createdAt: at,
    passwordChangedAt: at,
  });
  await g.gateway.adminSettings.setThreshold('18', '5');
  return g;
}

async function snapshot(g: TestGateway) {
  const get = async (path: string) => (await g.json(path, { auth: adminAuth })).body;
  const sales = (await get('/api/sales?maxResults=1000')).items.sort((a: { identifier: string }, b: { identifier: string }) =>
    a.identifier.localeCompare(b.identifier),
  );
  return {
    sales,
    quarantine: (await get('/api/quarantine')).total,
    days: await get('/api/days?cashRegisterName=TAB-1'),
    balance: await get('/api/registrations/TAB-1/balance'),
    stock: await get('/api/stock/18'),
    version: await get('/api/version'),
    outbox: (await get('/api/outbox')).depth,
    report: await get('/api/days/TAB-1:1/report'),
    feed: await get('/api/modifications?from=0&to=100'),
  };
}

describe.skipIf(skipPostgres)('tabshop-gateway migrate-store (lowdb data dir → PostgreSQL)', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    if (!PG_BIN) throw new Error(MISSING_POSTGRES);
    cluster = await startPostgres();
  }, 60_000);
  afterEach(async () => {
    for (const d of dirs.splice(0)) await removeDir(d);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('copies everything, verifies counts and totals, and a gateway on PostgreSQL answers as the lowdb one did', async () => {
    const lowdb = await fillLowdb();
    const before = await snapshot(lowdb);
    expect(before.sales).toHaveLength(42);
    expect(before.outbox).toBeGreaterThan(0);
    await lowdb.stop();

    const url = await cluster.createDatabase();
    const run = await runCli(['migrate-store', '--from', lowdb.dataDir, '--to', url]).done;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('copied   42 sales (0 already there), 2 quarantine items');
    expect(run.stdout).toMatch(/ok {2}total of completed sales\s+199\.52\s+199\.52/);
    // Payments and articles are rows of their own (schema version 7): counted on both sides too.
    expect(run.stdout).toMatch(/ok {2}payments\s+42\s+42/);
    expect(run.stdout).toMatch(/ok {2}articles and stock levels\s+3\s+3/);
    expect(run.stdout).toContain('1 back-office devices, 1 low-stock thresholds');
    expect(run.stdout).toMatch(/ok {2}back-office devices\s+1\s+1/);
    expect(run.stdout).toContain('OK: every count and total matches');

    const onPg = await startTestGateway({ webhooks, store: { dataDir: './data', postgres: { url } } });
    dirs.push(onPg.dir);
    try {
      expect(await snapshot(onPg)).toEqual(before);
      expect(await (await onPg.fetch('/home', { auth: basic('tablet-7', 'pw-7') })).text()).toBe('true');
      expect(onPg.gateway.adminSettings.lowStock).toEqual({ 18: '5' });
      const again = await onPg.fetch('/invoice', {
        method: 'POST',
        auth: deviceAuth,
        headers: { accept: 'application/json' },
        body: JSON.stringify({
          invoices: [
            invoice(202611230100001, [
              { productId: '18', qty: 1, total: 3.19 },
              { productId: '99', qty: '0.5', total: '1.05' },
            ]),
          ],
        }),
      });
      expect(await again.json()).toMatchObject({ unchanged: 1 });
    } finally {
      await onPg.stop();
    }
    // Once a gateway has taken pushes on the database, copying again is refused.
    const refused = await runCli(['migrate-store', '--from', lowdb.dataDir, '--to', url]).done;
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('copied into');
  });

  it('resumes an interrupted copy (skips what is there, adds journal lines once) and refuses a database holding other data', async () => {
    const lowdb = await fillLowdb();
    await lowdb.stop();
    const url = await cluster.createDatabase();
    const first = await copyLowdbToPostgres({ dataDir: lowdb.dataDir, url });
    expect(first.ok).toBe(true);
    // An interruption half-way: the last sales, lines and journal lines never arrived, nothing was verified.
    await queryRows(
      url,
      `DELETE FROM sales WHERE identifier IN (SELECT identifier FROM sales ORDER BY identifier DESC LIMIT 20);
      DELETE FROM journal WHERE id > 2; UPDATE store_imports SET finished_at = NULL`,
    );
    const resumed = await copyLowdbToPostgres({ dataDir: lowdb.dataDir, url });
    expect(resumed.ok).toBe(true);
    expect(resumed.copied).toMatchObject({ sales: 20, salesSkipped: 22 });
    expect(resumed.checks.find((c) => c.what === 'journal lines')).toMatchObject({ source: '4', target: '4', ok: true });

    const other = await fillLowdb();
    await other.stop();
    await expect(copyLowdbToPostgres({ dataDir: other.dataDir, url })).rejects.toThrow(/already holds data \(copied from /);
    const bad = await runCli(['migrate-store', '--from', other.dataDir, '--to', 'mysql://x']).done;
    expect(bad.code).toBe(2);
  });
});
