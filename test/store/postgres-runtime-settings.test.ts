import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeSettings } from '../../src/admin/runtime-settings.js';
import { Accounts } from '../../src/auth/accounts.js';
import { hashPassword } from '../../src/config/password.js';
import type { RuntimeDevice } from '../../src/domain/ports/runtime-settings.js';
import { LowdbRuntimeSettingsStore, readSettingsFile } from '../../src/store/lowdb-settings.js';
import { createClient, createPool } from '../../src/store/postgres/connection.js';
import { migrate } from '../../src/store/postgres/migrate.js';
import { PgRuntimeSettingsStore } from '../../src/store/postgres/pg-runtime-settings.js';
import { removeDir } from '../helpers.js';
import { MISSING_POSTGRES, PG_BIN, queryRows, skipPostgres, startPostgres, type PgCluster } from '../postgres.js';

let cluster: PgCluster;
let scratch: string;
const closers: (() => Promise<void>)[] = [];
const logger = pino({ level: 'silent' });
/** Nothing listens there: a process whose LISTEN connection is down (it asks the version on every use). */
const UNREACHABLE = 'postgres://postgres@127.0.0.1:1/none';

async function freshDatabase(): Promise<string> {
  const url = await cluster.createDatabase();
  const client = createClient(url);
  await client.connect();
  try {
    await migrate(client);
  } finally {
    await client.end();
  }
  return url;
}

interface Process {
  settings: RuntimeSettings;
  accounts: Accounts;
  pool: pg.Pool;
  /** Queries sent through the pool so far. */
  queries(): number;
  changes: string[];
}

/** What one gateway process holds: its pool, its accounts (a config device and admin), its copy of the settings. */
async function process_(url: string, listenUrl = url): Promise<Process> {
  const pool = createPool({ url, poolSize: 2 }, () => undefined);
  let queries = 0;
  const query = pool.query.bind(pool);
  pool.query = ((...args: Parameters<typeof query>) => {
    queries++;
    return query(...args);
  }) as typeof pool.query;
  const accounts = new Accounts([{ username: 'tablet-1', password: 'pw-1', cashRegister: 'TAB-1' }], [{ username: 'admin', password: 'pw-admin' }]);
  const changes: string[] = [];
  accounts.onRuntimeChange((username, account) => changes.push(`${account ? '+' : '-'}${username}`));
  const settings = await RuntimeSettings.open(new PgRuntimeSettingsStore(pool, listenUrl, logger), accounts, logger);
  closers.push(async () => {
    await settings.close();
    await pool.end();
  });
  return { settings, accounts, pool, queries: () => queries, changes };
}

const device = async (username: string, password: string, cashRegister = 'TAB-9'): Promise<RuntimeDevice> => ({
  username,
  passwordHash: await hashPassword(password),
  cashRegister,
  createdAt: '2026-12-03T10:00:00.000Z',
  passwordChangedAt: '2026-12-03T10:00:00.000Z',
});

/** What p holds after bringing its copy up to date if it was told of a change. */
const thresholdsOf = async (p: Process) => {
  await p.settings.sync(false);
  return { ...p.settings.lowStock };
};

const listening = (p: Process) => expect.poll(() => (p.settings as unknown as { watcher: { listening: boolean } }).watcher.listening).toBe(true);

describe.skipIf(skipPostgres)('runtime settings on PostgreSQL (several processes on one database)', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    if (!PG_BIN) throw new Error(MISSING_POSTGRES);
    cluster = await startPostgres();
    scratch = await mkdtemp(join(tmpdir(), 'tsg-settings-'));
  }, 60_000);
  afterAll(async () => {
    for (const close of closers.splice(0)) await close().catch(() => undefined);
    await cluster?.stop();
    if (scratch) await removeDir(scratch);
  });

  it('a device created, re-passworded or deleted through one process is accepted or refused by the others on their next check', async () => {
    const url = await freshDatabase();
    const a = await process_(url);
    const b = await process_(url);
    const c = await process_(url, UNREACHABLE);
    await listening(b);

    expect(await a.settings.createDevice(await device('tablet-9', 'first'))).toBe(true);
    // An unknown username is looked up in the store: accepted at once, by both.
    expect(await b.accounts.verify('tablet-9', 'first')).toMatchObject({ username: 'tablet-9', role: 'device', cashRegister: 'TAB-9' });
    expect(await c.accounts.verify('tablet-9', 'first')).toMatchObject({ username: 'tablet-9' });
    expect(b.changes).toEqual(['+tablet-9']);
    expect(b.settings.device('tablet-9')).toMatchObject({ cashRegister: 'TAB-9', createdAt: '2026-12-03T10:00:00.000Z' });

    // A new password: accepted at once (a refused run-time device is looked up again); the old one refused.
    const changed = await a.settings.changePassword('tablet-9', await hashPassword('second'), '2026-12-03T11:00:00.000Z');
    expect(changed).toMatchObject({ passwordChangedAt: '2026-12-03T11:00:00.000Z' });
    expect(await b.accounts.verify('tablet-9', 'second')).toMatchObject({ username: 'tablet-9' });
    expect(await c.accounts.verify('tablet-9', 'first')).toBeNull();
    expect(await c.accounts.verify('tablet-9', 'second')).toMatchObject({ username: 'tablet-9' });

    expect(await a.settings.deleteDevice('tablet-9')).toBe(true);
    // Without a LISTEN connection every use asks the version: refused at once.
    expect(await c.accounts.verify('tablet-9', 'second')).toBeNull();
    // With one, the notification marks the copy stale (it comes right after the commit).
    await expect.poll(() => b.accounts.verify('tablet-9', 'second')).toBeNull();
    expect(b.accounts.has('tablet-9')).toBe(false);
    expect(b.changes).toEqual(['+tablet-9', '-tablet-9']);
    expect(await a.accounts.verify('tablet-9', 'second')).toBeNull();
    expect(await a.settings.deleteDevice('tablet-9')).toBe(false);

    // The name of a deleted device can be taken again.
    expect(await b.settings.createDevice(await device('tablet-9', 'third', 'TAB-3'))).toBe(true);
    expect(await a.accounts.verify('tablet-9', 'third')).toMatchObject({ cashRegister: 'TAB-3' });
    const rows = await queryRows(url, 'SELECT username, deleted FROM runtime_devices');
    expect(rows).toEqual([{ username: 'tablet-9', deleted: false }]);
  });

  it('a device that did not change costs no query; every refused login costs one', async () => {
    const url = await freshDatabase();
    const a = await process_(url);
    const b = await process_(url);
    await listening(b);
    await a.settings.createDevice(await device('tablet-7', 'pw-7'));
    expect(await b.accounts.verify('tablet-7', 'pw-7')).not.toBeNull();
    // The creation's notification reaches b too (it makes one more read): b is quiet once it is handled.
    await expect.poll(async () => b.settings.sync(false) === undefined).toBe(true);
    const before = b.queries();
    for (let i = 0; i < 50; i++) expect(await b.accounts.verify('tablet-7', 'pw-7')).not.toBeNull();
    for (let i = 0; i < 50; i++) expect(await b.accounts.verify('tablet-1', 'pw-1')).not.toBeNull();
    expect(b.queries() - before).toBe(0);
    // Every refusal reads the store once, whether the name is unknown, a config device's or a back-office device's.
    const costOf = async (username: string) => {
      const n = b.queries();
      expect(await b.accounts.verify(username, 'wrong')).toBeNull();
      return b.queries() - n;
    };
    expect([await costOf('nobody'), await costOf('tablet-1'), await costOf('tablet-7')]).toEqual([1, 1, 1]);
  });

  it('usernames stay unique: config accounts, and two processes creating the same name at once (the primary key decides)', async () => {
    const url = await freshDatabase();
    const a = await process_(url);
    const b = await process_(url);
    expect(await a.settings.createDevice(await device('tablet-1', 'x'))).toBe(false);
    expect(await a.settings.createDevice(await device('admin', 'x'))).toBe(false);
    const [d1, d2] = await Promise.all([device('tablet-5', 'from-a', 'TAB-A'), device('tablet-5', 'from-b', 'TAB-B')]);
    const results = await Promise.all([a.settings.createDevice(d1), b.settings.createDevice(d2)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results[0] ? 'from-a' : 'from-b';
    for (const p of [a, b]) {
      expect(await p.accounts.verify('tablet-5', winner)).toMatchObject({ cashRegister: results[0] ? 'TAB-A' : 'TAB-B' });
      expect(await p.accounts.verify('tablet-5', winner === 'from-a' ? 'from-b' : 'from-a')).toBeNull();
    }
    // The loser learns the name is taken: it is refused before the store is asked next time.
    expect((results[0] ? b : a).accounts.has('tablet-5')).toBe(true);
  });

  it('low-stock thresholds set or removed by one process are what the others use next', async () => {
    const url = await freshDatabase();
    const a = await process_(url);
    const b = await process_(url);
    const c = await process_(url, UNREACHABLE);
    await listening(b);
    await a.settings.setThreshold('18', '5');
    await a.settings.setThreshold('24', '2.5');
    await c.settings.sync(false);
    expect(c.settings.lowStock).toEqual({ 18: '5', 24: '2.5' });
    await expect.poll(() => thresholdsOf(b)).toEqual({ 18: '5', 24: '2.5' });
    await b.settings.setThreshold('18', null);
    await c.settings.sync(false);
    expect(c.settings.lowStock).toEqual({ 24: '2.5' });
    await expect.poll(() => thresholdsOf(a)).toEqual({ 24: '2.5' });
    // A process started now reads the same.
    const d = await process_(url);
    expect(d.settings.lowStock).toEqual({ 24: '2.5' });
    expect(await queryRows(url, 'SELECT product, threshold::text FROM low_stock_thresholds ORDER BY product')).toEqual([
      { product: '18', threshold: null },
      { product: '24', threshold: '2.5' },
    ]);
  });

  it("imports a data dir's admin-settings.json once: rows not there yet, never bringing back a deleted one", async () => {
    const url = await freshDatabase();
    const dir = await mkdtemp(join(scratch, 'data-'));
    // Written by the lowdb adapter, as a lowdb gateway does.
    const lowdb = new LowdbRuntimeSettingsStore(dir);
    await lowdb.load();
    await lowdb.addDevice(await device('tablet-8', 'pw-8', 'TAB-8'));
    await lowdb.addDevice(await device('tablet-6', 'pw-6', 'TAB-6'));
    await lowdb.setLowStock('18', '4');
    await writeFile(join(dir, 'ignored.txt'), '');
    const file = (await readSettingsFile(dir))!;
    expect(file.devices.map((d) => d.username)).toEqual(['tablet-8', 'tablet-6']);

    const a = await process_(url);
    const store = new PgRuntimeSettingsStore(a.pool, url);
    expect(await store.importFile(file)).toEqual({ devices: 2, lowStock: 1, skipped: [] });
    expect(await a.accounts.verify('tablet-8', 'pw-8')).toMatchObject({ cashRegister: 'TAB-8' });
    await a.settings.deleteDevice('tablet-6');
    await a.settings.setThreshold('18', '7');
    expect(await store.importFile(file)).toEqual({ devices: 0, lowStock: 0, skipped: [] });
    expect(await a.accounts.verify('tablet-6', 'pw-6')).toBeNull();
    await a.settings.sync();
    expect(a.settings.lowStock).toEqual({ 18: '7' });
    // What cannot be stored is reported, not fatal.
    expect(await store.importFile({ devices: [{ username: 'x' } as RuntimeDevice], lowStock: { 9: 'lots' } })).toEqual({
      devices: 0,
      lowStock: 0,
      skipped: ['device x', 'threshold of 9'],
    });
  });
});
