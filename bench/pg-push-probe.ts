/**
 * Where a durable push's time goes on PostgreSQL (diagnostic, not a bench): `npx tsx bench/pg-push-probe.ts`.
 * The gateway alone under the bench's push load on a scratch database; prints req/s, the gateway's and
 * PostgreSQL's CPU per push, and (PROBE_LOG=1) every statement's duration summed by kind.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { pgDatabases, EMPTY_DB } from './lib/pg-databases.js';
import { startGateway } from './lib/procs.js';
import { pushLoad } from './lib/push-load.js';
import { benchDevices, writeBenchConfig } from './lib/seed.js';
import { catalogue } from './lib/workload.js';

const SECONDS = Number(process.env.PROBE_SECONDS ?? 10);
const root = await mkdtemp(join(tmpdir(), 'pg-probe-'));
const devices = benchDevices(32);
const cat = catalogue(10_000);
const dbs = await pgDatabases({
  sales: Number(process.env.BENCH_PG_HISTORY ?? 1_000_000),
  catalogue: cat,
  registers: devices.slice(0, 4),
  scratch: root,
  log: (m) => process.stderr.write(`${m}\n`),
});
const cluster = dbs.cluster;
await cluster.dropDatabase('probe');
const url = await cluster.createDatabase('probe', EMPTY_DB);
const gw = await startGateway(
  await writeBenchConfig(join(root, 'gw'), devices, url),
  join(root, 'gw.log'),
  process.env.PROBE_PROF ? ['--cpu-prof', `--cpu-prof-dir=${join(root, 'prof')}`] : [],
);
const cpu = (pid: number) => {
  const f = execFileSync('cat', [`/proc/${pid}/stat`]).toString();
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(x[11]) + Number(x[12])) * 10;
};
// This cluster's server processes only (other PostgreSQL clusters may run on the machine).
const postmaster = Number((await readFile(join(cluster.dir, 'data', 'postmaster.pid'), 'utf8')).split('\n')[0]);
const pgCpu = () =>
  [
    postmaster,
    ...execFileSync('pgrep', ['-P', String(postmaster)])
      .toString()
      .trim()
      .split('\n')
      .map(Number),
  ].reduce((s, p) => {
    try {
      return s + cpu(p);
    } catch {
      return s;
    }
  }, 0);
const admin = new pg.Client({ connectionString: url });
await admin.connect();
const load = pushLoad(
  gw.url,
  devices,
  cat.products.map((p) => p.identifier),
  32,
  7,
);
const run = (seconds: number) =>
  autocannon({
    url: load.url,
    connections: 32,
    duration: seconds,
    method: 'POST',
    initialContext: {},
    requests: [{ setupRequest: load.setupRequest as never }],
  });
await run(3);
// The cached cluster's log holds earlier runs too: only what this run appends is read.
const logFile = join(cluster.dir, 'server.log');
const logStart = (await stat(logFile).catch(() => ({ size: 0 }))).size;
if (process.env.PROBE_LOG) {
  await admin.query(`ALTER SYSTEM SET log_min_duration_statement = 0`);
  await admin.query(`SELECT pg_reload_conf()`);
}
const g0 = cpu(gw.child.pid!);
const p0 = pgCpu();
const r = await run(SECONDS);
const n = r.requests.total;
console.log(`req/s ${r.requests.average} p50 ${r.latency.p50} ms p99 ${r.latency.p99} ms non2xx ${r.non2xx}`);
console.log(`gateway CPU ms/push ${((cpu(gw.child.pid!) - g0) / n).toFixed(3)}  postgres CPU ms/push ${((pgCpu() - p0) / n).toFixed(3)}`);
if (process.env.PROBE_LOG) {
  await admin.query(`ALTER SYSTEM RESET log_min_duration_statement`);
  await admin.query(`SELECT pg_reload_conf()`);
  const text = (await readFile(logFile)).subarray(logStart).toString('utf8');
  const by = new Map<string, [number, number]>();
  // The extended protocol logs parse, bind (planning) and execute apart: each is a key of its own.
  for (const m of text.matchAll(/duration: ([\d.]+) ms\s+(statement|parse|bind|execute)[^:]*: ([^\n]{0,64})/g)) {
    const key = `${m[2].padEnd(9)} ${m[3].replace(/\$\d+/g, '$').replace(/\d+/g, 'N')}`;
    const v = by.get(key) ?? [0, 0];
    v[0] += Number(m[1]);
    v[1]++;
    by.set(key, v);
  }
  for (const [k, [ms, c]] of [...by].sort((a, b) => b[1][0] - a[1][0]).slice(0, 40))
    console.log(`${ms.toFixed(0).padStart(7)} ms ${String(c).padStart(6)}x ${k}`);
}
await admin.end();
await gw.stop();
await cluster.dropDatabase('probe');
await dbs.close();
console.log(root);
