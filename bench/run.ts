/**
 * npm run bench: the gateway against bare-Express baselines measured in the same run, on this
 * machine, over 127.0.0.1. Prints a table (scenario, ours, baseline, ratio, target, result) and
 * writes bench/results/<date>.json. See docs/performance.md for the method.
 *
 * Environment: BENCH_SECONDS (measured seconds per server and scenario, default 10, split
 * into BENCH_SLICES interleaved runs, default 2), BENCH_WARMUP (seconds, default 3),
 * BENCH_ONLY=stock,push,ingest,replay,shops,pg-stock,pg-push,pg-ready,pg-shops (a subset; the pg- scenarios run on a
 * throwaway PostgreSQL cluster, see bench/lib/pg-databases.ts for BENCH_PG_CACHE; pg-shops on a cluster of its own with
 * empty databases), BENCH_SHOPS (shops of the shops scenarios, default 1,000), BENCH_DIR (where data dirs go; default the
 * OS temp dir), BENCH_CPU_PROF=1 (write --cpu-prof profiles of the gateway under BENCH_DIR),
 * BENCH_NODE_FLAGS (extra node options for the gateway processes only, space-separated: experiments).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureInterleaved, type LoadResult } from './lib/load.js';
import { basicAuth, pushLoad } from './lib/push-load.js';
import { ROOT, startBaseline, startGateway, type ServerProcess } from './lib/procs.js';
import { evaluate, formatTable, machineInfo, markdownTable, type Row } from './lib/report.js';
import { BENCH_ADMIN, benchDevices, seedDataDir, writeBenchConfig, type BenchDevice } from './lib/seed.js';
import { catalogue, type CatalogueFile } from './lib/workload.js';
import { runReplay, REPLAY_AVAILABLE } from './lib/replay.js';
import { BENCH_OPERATOR, populateShops, shopDevices, shopProducts, writeShopsConfig, type ShopsWorkload } from './lib/shops.js';
import { EMPTY_DB, HISTORY_DB, pgDatabases } from './lib/pg-databases.js';
import { PG_BIN, startBenchCluster, type BenchCluster } from './lib/pg-cluster.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const SLICES = Number(process.env.BENCH_SLICES ?? 2);
const ONLY = new Set((process.env.BENCH_ONLY ?? 'stock,push,ingest,replay,shops,pg-stock,pg-push,pg-ready,pg-shops').split(',').map((s) => s.trim()));
const PROFILE = process.env.BENCH_CPU_PROF === '1';
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);

const PRODUCTS = 10_000;
const HISTORY = 100_000;
const PUSH_CLIENTS = 32;
const LATENCY_CLIENTS = 4;
const READ_CLIENTS = 10;
const REPLAY_INVOICES = 10_000;
const PG_HISTORY = Number(process.env.BENCH_PG_HISTORY ?? 1_000_000);

const basic = basicAuth;
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const timing = { seconds: SECONDS, warmupSeconds: WARMUP, slices: SLICES };

let root = '';
const servers: ServerProcess[] = [];

async function gateway(name: string, configPath: string, urlTimeoutSeconds = 60): Promise<ServerProcess> {
  const flags = [...NODE_FLAGS, ...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${join(root, 'profiles', name)}`] : [])];
  const s = await startGateway(configPath, join(root, `${name}.log`), flags, urlTimeoutSeconds);
  servers.push(s);
  return s;
}

async function baseline(script: string, env: Record<string, string>): Promise<ServerProcess> {
  const s = await startBaseline(script, join(root, `${script}.log`), env);
  servers.push(s);
  return s;
}

async function stop(s: ServerProcess): Promise<void> {
  await s.stop();
  servers.splice(servers.indexOf(s), 1);
}

/** Seeding writes hundreds of MB: let the kernel write it back before anything is timed. */
async function settle(): Promise<void> {
  execFileSync('sync');
  await new Promise((r) => setTimeout(r, 2000));
}

async function storedSales(url: string): Promise<number> {
  const res = await fetch(`${url}/api/sales?maxResults=1`, { headers: { authorization: basic(BENCH_ADMIN) } });
  return ((await res.json()) as { total: number }).total;
}

function summary(what: string, r: LoadResult): Record<string, unknown> {
  if (r.non2xx || r.errors || r.timeouts) log(`WARNING ${what}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  return {
    rps: Math.round(r.rps),
    requests: r.requests,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    p50Ms: r.p50,
    p99Ms: r.p99,
    serverCpuMsPerRequest: r.cpuMsPerRequest === null ? null : Math.round(r.cpuMsPerRequest * 1000) / 1000,
  };
}

const load = () => ({ loadAverage: loadavg().map((x) => Math.round(x * 100) / 100) });

async function stockScenario(rows: Row[], devices: BenchDevice[]): Promise<void> {
  const configPath = await writeBenchConfig(join(root, 'stock'), devices);
  log(`seeding ${PRODUCTS} products`);
  await seedDataDir(configPath, { products: PRODUCTS, sales: 0 });
  await settle();
  const ours = await gateway('stock', configPath);
  const auth = basic(devices[0]);
  const res = await fetch(`${ours.url}/stock`, { headers: { authorization: auth, 'accept-encoding': 'identity' } });
  const body = Buffer.from(await res.arrayBuffer());
  const bodyFile = join(root, 'stock-body.json');
  await writeFile(bodyFile, body);
  const base = await baseline('static-body.ts', { BENCH_BODY_FILE: bodyFile });
  for (const encoding of ['identity', 'gzip'] as const) {
    log(`GET stock (${encoding}): gateway vs baseline, interleaved`);
    const before = load();
    const [o, b] = await measureInterleaved(
      [
        { load: { url: `${ours.url}/stock`, connections: READ_CLIENTS, headers: { 'accept-encoding': encoding, authorization: auth } }, pid: ours.child.pid },
        { load: { url: `${base.url}/stock`, connections: READ_CLIENTS, headers: { 'accept-encoding': encoding } }, pid: base.child.pid },
      ],
      timing,
    );
    rows.push({
      scenario: `GET stock, ${PRODUCTS.toLocaleString('en-US')} products${encoding === 'gzip' ? ', gzip' : ''} (${READ_CLIENTS} conn.)`,
      unit: 'req/s',
      ours: o.rps,
      baseline: b.rps,
      target: { kind: 'min-ratio', value: 0.8 },
      details: { bodyBytes: body.length, ours: summary('stock', o), baseline: summary('stock baseline', b), before, after: load() },
    });
  }
  await stop(base);
  await stop(ours);
}

async function pushScenario(rows: Row[], devices: BenchDevice[], cat: CatalogueFile): Promise<void> {
  const configPath = await writeBenchConfig(join(root, 'push'), devices);
  await seedDataDir(configPath, { products: PRODUCTS, sales: 0 });
  await settle();
  const products = cat.products.map((p) => p.identifier);
  const ours = await gateway('push', configPath);
  const base = await baseline('push-validate.ts', { BENCH_USERS: JSON.stringify(devices) });
  log(`POST invoice, ${PUSH_CLIENTS} tablets: gateway vs baseline, interleaved`);
  const before = load();
  const [o, b] = await measureInterleaved(
    [
      { load: pushLoad(ours.url, devices, products, PUSH_CLIENTS, 11), pid: ours.child.pid },
      { load: pushLoad(base.url, devices, products, PUSH_CLIENTS, 12), pid: base.child.pid },
    ],
    timing,
  );
  const after = load();
  const stored = await storedSales(ours.url);
  await stop(base);
  await stop(ours);
  rows.push({
    scenario: `POST invoice, durable, ${PUSH_CLIENTS} tablets`,
    unit: 'req/s',
    ours: o.rps,
    baseline: b.rps,
    target: { kind: 'min-ratio', value: 0.5 },
    details: { ours: summary('push', o), baseline: summary('push baseline', b), storedSales: stored, before, after },
  });
}

async function ingestScenario(rows: Row[], devices: BenchDevice[], cat: CatalogueFile): Promise<void> {
  const products = cat.products.map((p) => p.identifier);
  const emptyConfig = await writeBenchConfig(join(root, 'ingest-0'), devices);
  await seedDataDir(emptyConfig, { products: PRODUCTS, sales: 0 });
  const fullConfig = await writeBenchConfig(join(root, 'ingest-100k'), devices);
  log(`seeding ${HISTORY.toLocaleString('en-US')} stored sales`);
  const t0 = performance.now();
  await seedDataDir(fullConfig, { products: PRODUCTS, sales: HISTORY });
  const seedSeconds = (performance.now() - t0) / 1000;
  log(`seeded in ${seedSeconds.toFixed(1)} s`);
  await settle();

  const t1 = performance.now();
  const full = await gateway('ingest-100k', fullConfig);
  const startSeconds = (performance.now() - t1) / 1000;
  await new Promise((r) => setTimeout(r, 1000));
  const rss = full.rss();
  const stored = await storedSales(full.url);
  if (stored < HISTORY) throw new Error(`expected ${HISTORY} stored sales, found ${stored}`);
  const empty = await gateway('ingest-0', emptyConfig);
  log(`push latency with 0 and with ${HISTORY.toLocaleString('en-US')} stored sales (${LATENCY_CLIENTS} tablets), interleaved`);
  const before = load();
  const [with0, with100k] = await measureInterleaved(
    [
      { load: pushLoad(empty.url, devices, products, LATENCY_CLIENTS, 21), pid: empty.child.pid },
      { load: pushLoad(full.url, devices, products, LATENCY_CLIENTS, 22), pid: full.child.pid },
    ],
    timing,
  );
  const after = load();
  // For information: the same process after the push phase (young generation and caches grown by serving).
  const rssAfterPushes = full.rss();
  const rssEmptyAfterPushes = empty.rss();
  await stop(empty);
  await stop(full);
  rows.push({
    scenario: `push p50 latency, 100k vs 0 stored sales (${LATENCY_CLIENTS} tablets)`,
    unit: 'ms',
    ours: with100k.p50,
    baseline: with0.p50,
    target: { kind: 'max-ratio', value: 1.2 },
    details: { with0: summary('ingest 0', with0), with100k: summary('ingest 100k', with100k), before, after },
  });
  rows.push({
    scenario: `push p99 latency, 100k vs 0 stored sales (no target)`,
    unit: 'ms',
    ours: with100k.p99,
    baseline: with0.p99,
    target: { kind: 'none', value: 0 },
  });
  rows.push({
    scenario: `RSS after loading ${HISTORY.toLocaleString('en-US')} stored sales`,
    unit: 'MB',
    ours: mb(rss),
    baseline: null,
    target: { kind: 'below', value: 150 },
    details: {
      startSeconds: Math.round(startSeconds * 10) / 10,
      seedSeconds: Math.round(seedSeconds),
      rssAfterPushesMB: mb(rssAfterPushes),
      rssWith0AfterPushesMB: mb(rssEmptyAfterPushes),
    },
  });
}

async function replayScenario(rows: Row[], devices: BenchDevice[], cat: CatalogueFile): Promise<void> {
  const scenario = `replay ${REPLAY_INVOICES.toLocaleString('en-US')} invoices into a local gateway`;
  const target = { kind: 'at-least' as const, value: 2000 };
  if (!REPLAY_AVAILABLE) {
    rows.push({ scenario, unit: 'inv/s', ours: null, baseline: null, target, unavailable: 'n/a (replay command not available)' });
    return;
  }
  const configPath = await writeBenchConfig(join(root, 'replay'), devices);
  await seedDataDir(configPath, { products: PRODUCTS, sales: 0 });
  const ours = await gateway('replay', configPath);
  log(`replay ${REPLAY_INVOICES} invoices`);
  const r = await runReplay({
    dir: join(root, 'replay-fixtures'),
    url: ours.url,
    device: devices[0],
    products: cat.products.map((p) => p.identifier),
    invoices: REPLAY_INVOICES,
  });
  const stored = await storedSales(ours.url);
  await stop(ours);
  if (r.exitCode !== 0 || stored !== REPLAY_INVOICES) log(`WARNING replay: exit code ${r.exitCode}, ${stored} sales stored:\n${r.outputTail}`);
  rows.push({
    scenario,
    unit: 'inv/s',
    ours: r.exitCode === 0 && stored === REPLAY_INVOICES ? r.invoicesPerSecond : 0,
    baseline: null,
    target,
    details: { ...r, storedSales: stored },
  });
}

// ---- Many shops (issue 15) ----

const SHOPS: ShopsWorkload = {
  shops: Number(process.env.BENCH_SHOPS ?? 1000),
  productsPerShop: 20,
  devicesPerShop: 2,
  salesPerShop: 100,
};

/**
 * 1,000 shops × 20 products × 2 devices, 100 sales each, created through the operators' API on one
 * gateway: its RSS once every shop has served, the time to add a shop, and the push p50 into one
 * of them against a one-shop gateway (the same 4 tablets' load, interleaved).
 */
async function shopsScenario(rows: Row[], postgresUrl?: string, oneShopDatabase?: string, prefix = ''): Promise<void> {
  const label = `${SHOPS.shops.toLocaleString('en-US')} shops × ${SHOPS.productsPerShop} products × ${SHOPS.devicesPerShop} devices, ${SHOPS.salesPerShop} sales each`;
  const name = postgresUrl ? 'pg-shops' : 'shops';
  const many = await gateway(name, await writeShopsConfig(join(root, name), benchDevices(1), postgresUrl));
  await waitReady(many.url, 120);
  const createMs = await populateShops(many.url, SHOPS, log);
  await settle();
  const rss = many.rss();
  const products = shopProducts(SHOPS.productsPerShop);
  // One tablet of each of 4 shops spread over the deployment (each connection keeps its tablet).
  const all = shopDevices(SHOPS);
  const step = Math.max(1, Math.floor(all.length / LATENCY_CLIENTS));
  const spread = Array.from({ length: LATENCY_CLIENTS }, (_, i) => all[(i * step) % all.length]);
  const oneShopDevices = benchDevices(LATENCY_CLIENTS);
  // Today's gateway: one shop, no operators (on lowdb no shop directory in front of it; on PostgreSQL every gateway serves through it).
  const oneConfig = await writeBenchConfig(join(root, `${name}-one`), oneShopDevices, oneShopDatabase);
  const one = await gateway(`${name}-one`, oneConfig);
  await waitReady(one.url, 120);
  const csv = `id,title,price,stockqty\n${products.map((p) => `${p},Product ${p},2.50,100000`).join('\n')}\n`;
  const imported = await fetch(`${one.url}/api/products/import`, {
    method: 'POST',
    body: csv,
    headers: { authorization: basic(BENCH_ADMIN), 'content-type': 'text/csv' },
  });
  if (!imported.ok) throw new Error(`one-shop import: ${imported.status} ${await imported.text()}`);
  log(`${prefix}shops: push latency into one of ${SHOPS.shops} shops vs a one-shop gateway (${LATENCY_CLIENTS} tablets), interleaved`);
  const [o, b] = await measureInterleaved(
    [
      { load: pushLoad(many.url, spread, products, LATENCY_CLIENTS, 51), pid: many.child.pid },
      { load: pushLoad(one.url, oneShopDevices, products, LATENCY_CLIENTS, 52), pid: one.child.pid },
    ],
    timing,
  );
  // Adding a shop once the deployment is full (no restart): the API's answer time.
  const later: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    const res = await fetch(`${many.url}/api/shops`, {
      method: 'POST',
      body: JSON.stringify({ id: `late-${i}`, name: `Late ${i}` }),
      headers: { authorization: basic(BENCH_OPERATOR), 'content-type': 'application/json' },
    });
    await res.arrayBuffer();
    if (res.status !== 201) throw new Error(`POST /api/shops: ${res.status}`);
    later.push(performance.now() - t0);
  }
  const rssAfterPushes = many.rss();
  await stop(one);
  await stop(many);
  const sorted = [...createMs].sort((a, b) => a - b);
  const laterSorted = [...later].sort((a, b) => a - b);
  const ms = (x: number) => Math.round(x * 10) / 10;
  rows.push({
    scenario: `${prefix}RSS, ${label}`,
    unit: 'MB',
    ours: mb(rss),
    baseline: null,
    target: { kind: 'below', value: postgresUrl ? 200 : 300 },
    details: { rssAfterLatencyMB: mb(rssAfterPushes) },
  });
  rows.push({
    scenario: `${prefix}push p50 latency, one of ${SHOPS.shops.toLocaleString('en-US')} shops vs a one-shop gateway (${LATENCY_CLIENTS} tablets)`,
    unit: 'ms',
    ours: o.p50,
    baseline: b.p50,
    target: { kind: 'max-ratio', value: 1.2 },
    details: { many: summary('shops push', o), one: summary('one-shop push', b) },
  });
  rows.push({
    scenario: `${prefix}add a shop through the API (p50 of 20, ${SHOPS.shops.toLocaleString('en-US')} shops already)`,
    unit: 'ms',
    ours: ms(laterSorted[Math.floor(laterSorted.length / 2)]),
    baseline: null,
    target: { kind: 'below', value: 50 },
    details: {
      laterMaxMs: ms(laterSorted[laterSorted.length - 1]),
      whilePopulatingP50Ms: ms(sorted[Math.floor(sorted.length / 2)]),
      whilePopulatingP99Ms: ms(sorted[Math.floor(sorted.length * 0.99)]),
    },
  });
}

// ---- PostgreSQL ----

const PG_PREFIX = 'PostgreSQL: ';

/** A fresh database for one scenario: a copy of the catalogue-only database. */
async function scratchDatabase(cluster: BenchCluster, name: string): Promise<string> {
  await cluster.dropDatabase(name);
  return cluster.createDatabase(name, EMPTY_DB);
}

async function pgStockScenario(rows: Row[], devices: BenchDevice[], cluster: BenchCluster): Promise<void> {
  const url = await scratchDatabase(cluster, 'bench_stock');
  const ours = await gateway('pg-stock', await writeBenchConfig(join(root, 'pg-stock'), devices, url));
  await waitReady(ours.url, 120);
  const auth = basic(devices[0]);
  const res = await fetch(`${ours.url}/stock`, { headers: { authorization: auth, 'accept-encoding': 'identity' } });
  const body = Buffer.from(await res.arrayBuffer());
  const bodyFile = join(root, 'pg-stock-body.json');
  await writeFile(bodyFile, body);
  const base = await baseline('static-body.ts', { BENCH_BODY_FILE: bodyFile });
  for (const encoding of ['identity', 'gzip'] as const) {
    log(`PostgreSQL: GET stock (${encoding}): gateway vs baseline, interleaved`);
    const before = load();
    const [o, b] = await measureInterleaved(
      [
        { load: { url: `${ours.url}/stock`, connections: READ_CLIENTS, headers: { 'accept-encoding': encoding, authorization: auth } }, pid: ours.child.pid },
        { load: { url: `${base.url}/stock`, connections: READ_CLIENTS, headers: { 'accept-encoding': encoding } }, pid: base.child.pid },
      ],
      timing,
    );
    rows.push({
      scenario: `${PG_PREFIX}GET stock, ${PRODUCTS.toLocaleString('en-US')} products${encoding === 'gzip' ? ', gzip' : ''} (${READ_CLIENTS} conn.)`,
      unit: 'req/s',
      ours: o.rps,
      baseline: b.rps,
      target: { kind: 'min-ratio', value: 0.8 },
      details: { bodyBytes: body.length, ours: summary('pg stock', o), baseline: summary('pg stock baseline', b), before, after: load() },
    });
  }
  await stop(base);
  await stop(ours);
  await cluster.dropDatabase('bench_stock');
}

async function pgPushScenario(rows: Row[], devices: BenchDevice[], cat: CatalogueFile, cluster: BenchCluster): Promise<void> {
  const url = await scratchDatabase(cluster, 'bench_push');
  const products = cat.products.map((p) => p.identifier);
  const ours = await gateway('pg-push', await writeBenchConfig(join(root, 'pg-push'), devices, url));
  await waitReady(ours.url, 120);
  // The same database, the gateway's default pool size (10).
  const base = await baseline('push-pg.ts', { BENCH_USERS: JSON.stringify(devices), BENCH_DATABASE_URL: url, BENCH_POOL_SIZE: '10' });
  log(`PostgreSQL: POST invoice, ${PUSH_CLIENTS} tablets: gateway vs baseline (INSERT … ON CONFLICT), interleaved`);
  const before = load();
  const [o, b] = await measureInterleaved(
    [
      { load: pushLoad(ours.url, devices, products, PUSH_CLIENTS, 41), pid: ours.child.pid },
      { load: pushLoad(base.url, devices, products, PUSH_CLIENTS, 42), pid: base.child.pid },
    ],
    timing,
  );
  const after = load();
  const stored = await storedSales(ours.url);
  await stop(base);
  await stop(ours);
  await cluster.dropDatabase('bench_push');
  rows.push({
    scenario: `${PG_PREFIX}POST invoice, durable, ${PUSH_CLIENTS} tablets`,
    unit: 'req/s',
    ours: o.rps,
    baseline: b.rps,
    target: { kind: 'min-ratio', value: 0.5 },
    details: { ours: summary('pg push', o), baseline: summary('pg push baseline', b), storedSales: stored, before, after },
  });
}

/** Polls /readyz until it answers 200. */
async function waitReady(url: string, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    const status = await fetch(`${url}/readyz`).then(
      async (r) => {
        await r.arrayBuffer();
        return r.status;
      },
      () => 0,
    );
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url}/readyz not 200 within ${timeoutSeconds} s`);
}

/** Process start to /readyz 200, and RSS 1 s later, on one of the two prepared databases. */
async function readyFigures(name: string, devices: BenchDevice[], cluster: BenchCluster, db: string) {
  const configPath = await writeBenchConfig(join(root, name), devices, cluster.url(db));
  const t0 = performance.now();
  // A process on PostgreSQL that leads logs its URL only once it has loaded the store.
  const s = await gateway(name, configPath, 1800);
  await waitReady(s.url, 1800);
  const readySeconds = (performance.now() - t0) / 1000;
  const rssAtReady = s.rss();
  await new Promise((r) => setTimeout(r, 1000));
  const rss = s.rss();
  const stored = await storedSales(s.url);
  await stop(s);
  log(`${name}: ready in ${readySeconds.toFixed(1)} s, RSS ${mb(rss)} MB, ${stored} stored sales`);
  return { readySeconds, rss, rssAtReady, stored };
}

async function pgReadyScenario(rows: Row[], devices: BenchDevice[], cluster: BenchCluster, build: Record<string, unknown>): Promise<void> {
  const history = `${PG_HISTORY.toLocaleString('en-US')}`;
  log(`PostgreSQL: ready time and RSS, ${history} vs 0 stored sales`);
  const empty = await readyFigures('pg-ready-0', devices, cluster, EMPTY_DB);
  const full = await readyFigures('pg-ready-history', devices, cluster, HISTORY_DB);
  if (full.stored < PG_HISTORY) throw new Error(`expected ${PG_HISTORY} stored sales, found ${full.stored}`);
  const details = {
    empty: { readySeconds: Math.round(empty.readySeconds * 10) / 10, rssMB: mb(empty.rss), rssAtReadyMB: mb(empty.rssAtReady) },
    history: { readySeconds: Math.round(full.readySeconds * 10) / 10, rssMB: mb(full.rss), rssAtReadyMB: mb(full.rssAtReady), storedSales: full.stored },
    build,
  };
  rows.push({
    scenario: `${PG_PREFIX}ready time (start to /readyz 200), ${history} vs 0 stored sales`,
    unit: 's',
    ours: Math.round(full.readySeconds * 10) / 10,
    baseline: Math.round(empty.readySeconds * 10) / 10,
    target: { kind: 'below', value: 3 },
    details,
  });
  rows.push({
    scenario: `${PG_PREFIX}RSS after ready, ${history} vs 0 stored sales`,
    unit: 'MB',
    ours: mb(full.rss),
    baseline: mb(empty.rss),
    target: { kind: 'max-ratio', value: 1.2 },
  });
}

const NO_PG_BINARIES = 'n/a (no PostgreSQL binaries under /usr/lib/postgresql)';
const failedBecause = (err: unknown) => `failed: ${(err as Error).message.split('\n')[0]}`;

/** The row of a scenario that could not run here, and why. */
const unavailableRow = (scenario: string, unavailable: string): Row => ({
  scenario,
  unit: '',
  ours: null,
  baseline: null,
  target: { kind: 'none', value: 0 },
  unavailable,
});

async function pgScenarios(rows: Row[], devices: BenchDevice[], cat: CatalogueFile): Promise<void> {
  const wanted = ['pg-stock', 'pg-push', 'pg-ready'].filter((s) => ONLY.has(s));
  if (wanted.length === 0) return;
  if (!PG_BIN) {
    rows.push(unavailableRow(`${PG_PREFIX}all scenarios`, NO_PG_BINARIES));
    return;
  }
  const dbs = await pgDatabases({ sales: PG_HISTORY, catalogue: cat, registers: devices.slice(0, 4), scratch: root, log });
  // One scenario failing (a process that does not start) leaves the others' rows.
  const attempt = async (name: string, scenario: () => Promise<void>) => {
    if (!ONLY.has(name)) return;
    try {
      await scenario();
    } catch (err) {
      log(`${name} failed: ${(err as Error).stack ?? err}`);
      for (const s of servers.splice(0)) await s.stop().catch(() => undefined);
      rows.push(unavailableRow(`${PG_PREFIX}${name}`, failedBecause(err)));
    }
  };
  try {
    await settle();
    await attempt('pg-stock', () => pgStockScenario(rows, devices, dbs.cluster));
    await attempt('pg-push', () => pgPushScenario(rows, devices, cat, dbs.cluster));
    await attempt('pg-ready', () => pgReadyScenario(rows, devices, dbs.cluster, { builtThisRun: dbs.built, buildSeconds: dbs.buildSeconds }));
  } finally {
    for (const s of servers.splice(0)) await s.stop().catch(() => undefined);
    await dbs.close();
  }
}

/**
 * The shops scenario on PostgreSQL: the deployment and the one-shop gateway it is compared with each
 * on an empty database of a cluster of its own (no history: what is measured is the shops' cost).
 */
async function pgShopsScenario(rows: Row[]): Promise<void> {
  if (!PG_BIN) {
    rows.push(unavailableRow(`${PG_PREFIX}shops`, NO_PG_BINARIES));
    return;
  }
  // Not under root: the postgres OS user (as root, PostgreSQL runs as it) must reach the folder.
  const dir = await mkdtemp(join(existsSync('/tmp') ? '/tmp' : tmpdir(), 'tsg-bench-pg-shops-'));
  const cluster = await startBenchCluster(dir);
  try {
    const many = await cluster.createDatabase('shops');
    const one = await cluster.createDatabase('one_shop');
    await settle();
    await shopsScenario(rows, many, one, PG_PREFIX);
  } catch (err) {
    log(`pg-shops failed: ${(err as Error).stack ?? err}`);
    rows.push(unavailableRow(`${PG_PREFIX}shops`, failedBecause(err)));
  } finally {
    for (const s of servers.splice(0)) await s.stop().catch(() => undefined);
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist/cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first (npm run bench does)');
  root = process.env.BENCH_DIR ? await mkdtemp(join(process.env.BENCH_DIR, 'tsg-perf-')) : await mkdtemp(join(tmpdir(), 'tsg-perf-'));
  const machine = machineInfo(root);
  log(`machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.filesystem}; data under ${root}`);
  const devices = benchDevices(PUSH_CLIENTS);
  const cat = catalogue(PRODUCTS);
  const rows: Row[] = [];
  const started = Date.now();
  if (ONLY.has('stock')) await stockScenario(rows, devices);
  if (ONLY.has('push')) await pushScenario(rows, devices, cat);
  if (ONLY.has('ingest')) await ingestScenario(rows, devices, cat);
  if (ONLY.has('replay')) await replayScenario(rows, devices, cat);
  if (ONLY.has('shops')) await shopsScenario(rows);
  await pgScenarios(rows, devices, cat);
  if (ONLY.has('pg-shops')) await pgShopsScenario(rows);
  const evaluated = rows.map(evaluate);
  const date = new Date();
  const results = {
    date: date.toISOString(),
    machine,
    settings: {
      seconds: SECONDS,
      warmupSeconds: WARMUP,
      slices: SLICES,
      products: PRODUCTS,
      history: HISTORY,
      pgHistory: PG_HISTORY,
      pushClients: PUSH_CLIENTS,
      latencyClients: LATENCY_CLIENTS,
      readClients: READ_CLIENTS,
    },
    durationSeconds: Math.round((Date.now() - started) / 1000),
    rows: evaluated,
  };
  await mkdir(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, 'bench/results', `${date.toISOString().slice(0, 19).replace(/:/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${formatTable(evaluated)}\n\n`);
  if (process.env.BENCH_MARKDOWN === '1') process.stdout.write(`${markdownTable(evaluated)}\n\n`);
  process.stdout.write(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}, ${machine.filesystem}\n`);
  process.stdout.write(`results: ${file} (${results.durationSeconds} s)\n`);
  if (evaluated.some((r) => r.verdict === 'FAIL')) process.exitCode = 1;
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 2;
} finally {
  for (const s of servers.splice(0)) await s.stop().catch(() => undefined);
  if (root && !PROFILE && process.env.BENCH_KEEP !== '1') await rm(root, { recursive: true, force: true });
}
