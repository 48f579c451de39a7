import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Product, Tax } from '../../src/domain/types.js';
import { PgKitchenOrders } from '../../src/kitchen/pg-kitchen-orders.js';
import { createLogger } from '../../src/logger.js';
import type { PgStore } from '../../src/store/postgres/pg-store.js';
import { journalEntryOf } from '../../src/store/postgres/pg-store.js';
import { SchemaNames } from '../../src/store/postgres/schema-names.js';
import { keepSpareSchemas } from '../../src/store/postgres/shared-database.js';
import { describeDatabase } from '../../src/store/postgres/sql-values.js';
import { removeDir } from '../helpers.js';
import { queryRows, skipPostgres } from '../postgres.js';
import { usePostgresCluster } from '../postgres-suite.js';
import { openStores, outboxItem, saleRecord, storeContract, type OpenedStores, type StoreLocation } from './contract.js';

const pg$ = usePostgresCluster();
let scratch: string;

const location = (url: string, schema: string, poolSize = 4, spareSchemas = 0): StoreLocation & { url: string } => ({
  url,
  storeConfig: { dataDir: join(scratch, 'data'), seedDemo: false, postgres: { url, poolSize, schema, spareSchemas } as never },
  name: describeDatabase(url),
  async readJournal() {
    return (await queryRows<Parameters<typeof journalEntryOf>[0]>(url, `SELECT * FROM ${schema}.journal ORDER BY id`)).map(journalEntryOf);
  },
});

const tablesIn = async (url: string, schema: string) =>
  (await queryRows<{ n: number }>(url, 'SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1', [schema]))[0].n;

describe.skipIf(skipPostgres)('PostgreSQL stores in schemas of one database', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'tsg-pgschemas-'));
  });
  afterAll(async () => {
    if (scratch) await removeDir(scratch);
  });

  // Everything a store keeps, kept the same in a schema of its own, each test next to another store's schema on the same database.
  storeContract('postgres in a schema', async () => location(await pg$.cluster.createDatabase(), 'shop_contract'), { lockInProcess: false });

  it('two stores in two schemas: the same sale identifier and product id are two unrelated records, each store sees only its own', async () => {
    const url = await pg$.cluster.createDatabase();
    const a = await openStores(location(url, 'shop_a'));
    const b = await openStores(location(url, 'shop_b'));
    await a.catalog.create<Tax>('taxes', { identifier: '1', name: 'Reduced', vat: 10 });
    await b.catalog.create<Tax>('taxes', { identifier: '1', name: 'Standard', vat: 20 });
    await a.catalog.create<Product>('products', { identifier: '18', name: 'Burger', price: 3, tax: '1' });
    await b.catalog.create<Product>('products', { identifier: '18', name: 'Espresso', price: 2, tax: '1' });
    const saleA = saleRecord('201409200100001', { total: 6 });
    const saleB = saleRecord('201409200100001', { total: 9, name: 'Espresso' });
    await a.store.putSale(saleA, saleA.history[0].at);
    await b.store.putSale(saleB, saleB.history[0].at);
    await Promise.all([a.store.commit(), b.store.commit()]);

    expect(await a.store.getSale(saleA.sale.identifier)).toEqual(saleA);
    expect(await b.store.getSale(saleA.sale.identifier)).toEqual(saleB);
    expect(a.catalog.get<Product>('products', '18')?.name).toBe('Burger');
    expect(b.catalog.get<Product>('products', '18')?.name).toBe('Espresso');
    expect(await queryRows(url, 'SELECT total::text FROM shop_a.sales')).toEqual([{ total: '6' }]);
    expect(await queryRows(url, 'SELECT total::text FROM shop_b.sales')).toEqual([{ total: '9' }]);
    // Nothing in public: each schema has its own tables, functions and schema_migrations.
    expect(await tablesIn(url, 'public')).toBe(0);
    expect(await tablesIn(url, 'shop_a')).toBe(await tablesIn(url, 'shop_b'));
    expect(
      await queryRows(
        url,
        `SELECT count(*)::int AS n FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'shop_b' AND proname = 'tabshop_stamp_state_version'`,
      ),
    ).toEqual([{ n: 1 }]);

    // Reopened: each reads its own back, through a pool the other's connections have had their search_path set by.
    await a.close();
    await b.close();
    const a2 = await openStores(location(url, 'shop_a'));
    const b2 = await openStores(location(url, 'shop_b'));
    expect(a2.sales.map((s) => s.sale.total)).toEqual([6]);
    expect(b2.sales.map((s) => s.sale.total)).toEqual([9]);
    expect(a2.catalog.get<Tax>('taxes', '1')?.vat).toBe(10);
    expect(b2.catalog.get<Tax>('taxes', '1')?.vat).toBe(20);
    await a2.close();
    await b2.close();
  });

  it("a write in one schema refreshes the other processes' stores of that schema only (channels are per schema), and two schemas hold their write leases at once", async () => {
    const url = await pg$.cluster.createDatabase();
    const timings = { lingerMs: 60_000 };
    const a1 = await openStores(location(url, 'shop_a'), timings);
    const a2 = await openStores(location(url, 'shop_a'), timings);
    const b1 = await openStores(location(url, 'shop_b'), timings);
    const [pa1, pa2, pb1] = [a1, a2, b1].map((s) => s.store as PgStore);
    expect(pa1.pool.names.channel('tabshop_state')).toBe(`tabshop_state_${pa1.pool.names.oid}`);
    expect(pb1.pool.names.lock(1)).not.toEqual(pa1.pool.names.lock(1));
    for (const store of [pa1, pa2, pb1]) await expect.poll(() => listening(store)).toBe(true);

    await a1.catalog.create<Tax>('taxes', { identifier: '1', name: 'Reduced', vat: 10 });
    // a2 (the same schema) refreshes on the notification, before any read of its own asks.
    await expect.poll(() => pa2.refreshes, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(a2.catalog.get<Tax>('taxes', '1')?.vat).toBe(10);
    // Lingering with the lease of shop_a (60 s), a1 does not hold up a write of shop_b.
    expect(pa1.lease.held).toBe(true);
    await b1.catalog.create<Tax>('taxes', { identifier: '1', name: 'Standard', vat: 20 });
    expect(pb1.lease.held).toBe(true);
    expect(pb1.refreshes).toBe(0);
    expect(b1.catalog.get<Tax>('taxes', '1')?.vat).toBe(20);
    for (const s of [a1, a2, b1]) await s.close();
  });

  it('20 stores of one process on one database share one pool, one LISTEN connection and the bounded lease pool', async () => {
    const url = await pg$.cluster.createDatabase();
    const poolSize = 3;
    const stores: OpenedStores[] = [];
    for (let i = 0; i < 20; i++) stores.push(await openStores(location(url, `shop_${i}`, poolSize)));
    // All twenty write at once: each takes its lease (from the lease pool) and runs a round (on the shared pool).
    await Promise.all(stores.map((s, i) => s.catalog.create<Tax>('taxes', { identifier: '1', name: `Tax ${i}`, vat: i })));
    const connections = async () =>
      queryRows<{ kind: string; n: number }>(
        url,
        `SELECT CASE WHEN application_name LIKE '% lease' THEN 'lease' WHEN application_name = 'tabshop-gateway listener' THEN 'listener' ELSE application_name END AS kind,
           count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1 ORDER BY 1`,
      );
    // The migrations' own connections are gone once the stores are open (their goodbye is not awaited).
    await expect.poll(async () => (await connections()).filter((c) => c.kind === 'tabshop-gateway migrate'), { timeout: 10_000 }).toEqual([]);
    const { listener, lease = 0, 'tabshop-gateway': pooled = 0, ...others } = Object.fromEntries((await connections()).map((c) => [c.kind, c.n]));
    expect(listener).toBe(1);
    expect(pooled).toBeLessThanOrEqual(poolSize);
    expect(lease).toBeLessThanOrEqual(poolSize);
    expect(others).toEqual({});
    for (const [i, s] of stores.entries()) expect(s.catalog.get<Tax>('taxes', '1')?.vat).toBe(i);
    for (const s of stores) await s.close();
    // The last store's close ends the shared connections.
    await expect.poll(async () => (await connections()).length, { timeout: 10_000 }).toBe(0);
  });

  it('a new shop takes a spare schema migrated in the background (nothing to migrate when it opens); the spares are made up again', async () => {
    const url = await pg$.cluster.createDatabase();
    const spares = async () =>
      (await queryRows<{ nspname: string }>(url, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tabshop\\_%' ORDER BY nspname")).map((r) => r.nspname);
    const first = await openStores(location(url, 'shop_first', 4, 2));
    expect((first.store as PgStore).spareTaken).toBeNull();
    expect((first.store as PgStore).migration?.applied.length).toBeGreaterThan(10);
    await keepSpareSchemas(url, () => undefined, 2);
    const ready = await spares();
    expect(ready).toHaveLength(2);
    expect(ready.every((n) => n.startsWith('tabshop_spare_'))).toBe(true);

    const second = await openStores(location(url, 'shop_second', 4, 2));
    const pgSecond = second.store as PgStore;
    expect(pgSecond.spareTaken).toBe(ready[0]);
    expect(pgSecond.migration?.applied).toEqual([]);
    expect(await tablesIn(url, 'shop_second')).toBe(await tablesIn(url, 'shop_first'));
    await second.catalog.create<Tax>('taxes', { identifier: '1', name: 'Reduced', vat: 10 });
    expect(first.catalog.all('taxes')).toEqual([]);
    await keepSpareSchemas(url, () => undefined, 2);
    expect(await spares()).toHaveLength(2);
    await first.close();
    await second.close();
  });

  it('asked again while it makes spares (each shop opened asks), it looks once more for all who asked, not once each', async () => {
    const url = await pg$.cluster.createDatabase();
    const first = keepSpareSchemas(url, () => undefined, 2);
    const meanwhile = Array.from({ length: 30 }, () => keepSpareSchemas(url, () => undefined, 2));
    // One run under way and one more look after it: every caller meanwhile waits for that one.
    expect(new Set(meanwhile).size).toBe(1);
    expect(meanwhile[0]).not.toBe(first);
    await Promise.all([first, ...meanwhile]);
    const spares = await queryRows<{ n: number }>(url, "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname LIKE 'tabshop\\_spare\\_%'");
    expect(spares[0].n).toBe(2);
  });

  it("refuses a schema name it does not use (PostgreSQL's pg_…, the spares' names, upper case)", async () => {
    const url = await pg$.cluster.createDatabase();
    for (const schema of ['pg_shop', 'tabshop_spare_1', 'Shop'])
      await expect(openStores(location(url, schema))).rejects.toThrow(/not a schema name this gateway uses/);
  });

  it("a schema's outbox, settings and kitchen notify its own channels, never public's", async () => {
    const url = await pg$.cluster.createDatabase();
    const s = await openStores(location(url, 'shop_a'));
    const oid = (s.store as PgStore).pool.names.oid;
    const heard: string[] = [];
    const side = new pg.Client({ connectionString: url });
    await side.connect();
    const kitchen = new PgKitchenOrders({ pool: (s.store as PgStore).pool, url, logger: createLogger('silent') });
    try {
      side.on('notification', (m) => heard.push(m.channel));
      for (const base of ['tabshop_outbox', 'tabshop_settings', 'tabshop_kitchen', 'tabshop_state']) await side.query(`LISTEN ${base}; LISTEN ${base}_${oid}`);
      s.outbox().add(outboxItem('TAB-1:1', 1));
      await s.store.commit();
      await s.settings.setLowStock('18', '3');
      await kitchen.open();
      await kitchen.add(
        { receivedAt: new Date().toISOString(), source: '127.0.0.1', state: 'open', table: '4', positions: [] },
        { at: new Date().toISOString(), source: '127.0.0.1', bytes: 1, raw: 'eA==' },
      );
      await expect
        .poll(() => [...new Set(heard)].sort(), { timeout: 10_000 })
        .toEqual(['tabshop_kitchen', 'tabshop_outbox', 'tabshop_settings', 'tabshop_state'].map((c) => `${c}_${oid}`));
    } finally {
      await kitchen.stop();
      await side.end();
      await s.close();
    }
  });

  it('the public schema keeps the names older versions use: its tables, the tabshop_state channel and the lease lock [0x7ab54009, 1]', async () => {
    const url = await pg$.cluster.createDatabase();
    expect(SchemaNames.public.channel('tabshop_state')).toBe('tabshop_state');
    const s = await openStores(location(url, 'public'));
    const heard: string[] = [];
    const old = new pg.Client({ connectionString: url });
    await old.connect();
    try {
      old.on('notification', (m) => heard.push(m.channel));
      await old.query('LISTEN tabshop_state');
      // An older process holds the lease: this store's write waits for it.
      await old.query('BEGIN');
      await old.query('SELECT pg_advisory_xact_lock($1, $2)', [0x7ab5_4009, 1]);
      let written = false;
      const write = s.catalog.create<Tax>('taxes', { identifier: '1', name: 'Reduced', vat: 10 }).then(() => (written = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(written).toBe(false);
      await old.query('COMMIT');
      await write;
      await expect.poll(() => heard).toContain('tabshop_state');
      expect(await queryRows(url, 'SELECT count(*)::int AS n FROM public.article_rows')).toEqual([{ n: 1 }]);
    } finally {
      await old.end();
      await s.close();
    }
  });
});

/** Whether the process's LISTEN connection listens on the store's state channel. */
const listening = (store: PgStore) => (store as unknown as { listener: { listening: boolean } | null }).listener?.listening ?? false;
