import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './procs.js';
import { PG_BIN, startBenchCluster, type BenchCluster } from './pg-cluster.js';
import { copyHistory, HISTORY_FORMAT } from './pg-history.js';
import { openOnce, seedDataDir, writeBenchConfig, type BenchDevice } from './seed.js';
import type { CatalogueFile } from './workload.js';

/** Databases in the bench cluster: the catalogue only, and the catalogue with the stored history. */
export const EMPTY_DB = 'catalogue_only';
export const HISTORY_DB = 'history';

export interface PgDatabases {
  cluster: BenchCluster;
  /** Built in this run (else reused from the cache). */
  built: boolean;
  buildSeconds: number | null;
  /** Removes the cluster unless it is cached. */
  close(): Promise<void>;
}

/** The cache key: the PostgreSQL major, the migrations, the history generator and the size. */
function cacheKey(sales: number, products: number): string {
  const dir = join(ROOT, 'migrations');
  const h = createHash('sha256').update(`${PG_BIN}|${HISTORY_FORMAT}|${sales}|${products}`);
  for (const f of readdirSync(dir).sort()) h.update(f).update(readFileSync(join(dir, f)));
  return h.digest('hex').slice(0, 16);
}

/**
 * A PostgreSQL cluster holding EMPTY_DB (migrated, `products` products) and HISTORY_DB (the same
 * plus `sales` stored sales written with COPY). Built once and kept under BENCH_PG_CACHE
 * (default /var/tmp/tabshop-gateway-bench; `off`: a temp dir, removed after the run), keyed by
 * the schema and the generator, so a later run starts it in seconds.
 */
export async function pgDatabases(opts: {
  sales: number;
  catalogue: CatalogueFile;
  registers: BenchDevice[];
  scratch: string;
  log: (msg: string) => void;
}): Promise<PgDatabases> {
  const cacheRoot = process.env.BENCH_PG_CACHE ?? '/var/tmp/tabshop-gateway-bench';
  const cached = cacheRoot !== 'off';
  const dir = cached
    ? join(cacheRoot, `pg-${cacheKey(opts.sales, opts.catalogue.products.length)}`)
    : await mkdtemp(join(existsSync('/tmp') ? '/tmp' : tmpdir(), 'tsg-bench-pg-'));
  const marker = join(dir, 'built.json');
  let built = false;
  let buildSeconds: number | null = null;
  if (!existsSync(marker)) {
    opts.log(`building the PostgreSQL bench databases in ${dir} (${opts.sales.toLocaleString('en-US')} sales, COPY)`);
    const t0 = performance.now();
    await rm(dir, { recursive: true, force: true });
    const building = await startBenchCluster(dir, { fast: true });
    try {
      for (const db of [EMPTY_DB, HISTORY_DB]) {
        const url = await building.createDatabase(db);
        // The catalogue through the gateway's own code (it also migrates the database).
        await seedDataDir(await writeBenchConfig(join(opts.scratch, `pg-seed-${db}`), opts.registers, url), {
          products: opts.catalogue.products.length,
          sales: 0,
        });
      }
      await copyHistory(building.url(HISTORY_DB), { sales: opts.sales, registers: opts.registers, catalogue: opts.catalogue });
      // COPY is a writer the gateway does not know of: its first start derives the stock and the back office's rows from the history, here rather than in the measurement.
      await openOnce(await writeBenchConfig(join(opts.scratch, `pg-derive-${HISTORY_DB}`), opts.registers, building.url(HISTORY_DB)));
    } finally {
      await building.stop();
    }
    buildSeconds = Math.round((performance.now() - t0) / 1000);
    await writeFile(marker, JSON.stringify({ sales: opts.sales, products: opts.catalogue.products.length, builtAt: new Date().toISOString(), buildSeconds }));
    built = true;
    opts.log(`built in ${buildSeconds} s`);
  }
  const cluster = await startBenchCluster(dir);
  return {
    cluster,
    built,
    buildSeconds,
    async close() {
      await cluster.stop();
      if (!cached) await rm(dir, { recursive: true, force: true });
    },
  };
}
