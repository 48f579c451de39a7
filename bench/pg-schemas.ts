/**
 * PostgreSQL, one schema per shop (docs/postgres.md "One schema per shop"): how long opening a
 * gateway takes in a schema that does not exist yet (made and migrated) and in one that does, and
 * the RSS of one process with SHOPS gateways open on one database (each with its own catalogue
 * of 20 products). Needs the PostgreSQL test binaries (test/postgres.ts). Run:
 *   node --expose-gc --import tsx bench/pg-schemas.ts        (SHOPS=100, NEW=10 by default)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config/load.js';
import { openGateway, type Gateway } from '../src/gateway.js';
import { createLogger } from '../src/logger.js';
import type { Product, Tax } from '../src/domain/types.js';
import { keepSpareSchemas } from '../src/store/postgres/shared-database.js';
import { startPostgres } from '../test/postgres.js';

const SHOPS = Number(process.env.SHOPS ?? 100);
const NEW = Number(process.env.NEW ?? 10);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const mib = (n: number) => Math.round(n / 1024 / 1024);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const cluster = await startPostgres();
const dir = await mkdtemp(join(tmpdir(), 'tsg-pgschemas-bench-'));
const silent = new Writable({ write: (_c, _e, cb) => cb() });
try {
  const url = await cluster.createDatabase();
  async function open(schema: string, spareSchemas = 0): Promise<Gateway> {
    const file = join(dir, `${schema}.json`);
    await writeFile(
      file,
      JSON.stringify({
        store: { dataDir: `./data-${schema}`, postgres: { url, poolSize: 10, schema } },
        devices: [{ username: `${schema}-1`, password: 'pw-tablet-1', cashRegister: 'TAB-1' }],
        admins: [{ username: `${schema}-admin`, password: 'pw-admin' }],
        logLevel: 'silent',
      }),
    );
    const { config } = loadConfig({ file, cwd: dir, env: {} });
    Object.assign(config.store.postgres!, { spareSchemas });
    return openGateway(config, createLogger('silent', silent));
  }

  // Warm-up (module loading, the first connections).
  await (await open('warmup')).close();
  gc();
  const rssBefore = process.memoryUsage().rss;

  const fresh: number[] = [];
  const spare: number[] = [];
  const again: number[] = [];
  for (let i = 0; i < NEW; i++) {
    let t = performance.now();
    const g = await open(`fresh_${i}`);
    fresh.push(performance.now() - t);
    await g.close();
    // A spare ready (as after the previous shop's open, in the background), then a new shop takes it.
    await keepSpareSchemas(url, (m, err) => console.error(m, err), 1);
    t = performance.now();
    const s = await open(`spare_${i}`);
    spare.push(performance.now() - t);
    await s.close();
    t = performance.now();
    const g2 = await open(`fresh_${i}`);
    again.push(performance.now() - t);
    await g2.close();
  }
  const line = (xs: number[]) => `median ${median(xs).toFixed(1)} ms (${xs.map((x) => x.toFixed(0)).join(', ')})`;
  console.log(`open a gateway in a NEW schema, no spare (made + migrated): ${line(fresh)}`);
  console.log(`open a gateway in a NEW schema renamed from a spare: ${line(spare)}`);
  console.log(`open a gateway in an existing schema: ${line(again)}`);

  const gateways: Gateway[] = [];
  const t = performance.now();
  for (let i = 0; i < SHOPS; i++) {
    const g = await open(`shop_${i}`, 3);
    await g.catalog.create<Tax>('taxes', { identifier: '1', name: 'Reduced', vat: 10 });
    for (let p = 1; p <= 20; p++) await g.catalog.create<Product>('products', { identifier: String(p), name: `Product ${p}`, price: p, tax: '1' });
    gateways.push(g);
  }
  const took = performance.now() - t;
  gc();
  const rss = process.memoryUsage().rss;
  const { rows } = await (async () => {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return await c.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    } finally {
      await c.end();
    }
  })();
  console.log(
    `${SHOPS} gateways open (20 products each, opened in ${(took / 1000).toFixed(1)} s): RSS ${mib(rss)} MiB (${mib(rss - rssBefore)} MiB over one process with none open, ${((rss - rssBefore) / SHOPS / 1024).toFixed(0)} KiB per shop); ${rows[0].n} connections to the database`,
  );
  for (const g of gateways) await g.close();
} finally {
  await cluster.stop();
  await rm(dir, { recursive: true, force: true });
}
