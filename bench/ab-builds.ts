/**
 * Two builds of the gateway side by side on the same lowdb data (a measurement tool, not part of
 * `npm run bench`): `npx tsx bench/ab-builds.ts <a>/dist/cli.js <b>/dist/cli.js`. Seeds one data
 * dir (AB_SALES stored sales, default 100,000; 10,000 products), gives each start a fresh copy,
 * starts A and B alternately AB_STARTS times each (RSS 1 s after the URL, and the start time),
 * then measures durable pushes (32 tablets) on one A and one B, interleaved. Prints JSON.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { measureInterleaved } from './lib/load.js';
import { startServerProcess, type ServerProcess } from './lib/procs.js';
import { benchDevices, seedDataDir, writeBenchConfig } from './lib/seed.js';
import { pushLoad } from './lib/push-load.js';

const [cliA, cliB] = process.argv.slice(2);
if (!cliA || !cliB) throw new Error('usage: tsx bench/ab-builds.ts <a>/dist/cli.js <b>/dist/cli.js');
const SALES = Number(process.env.AB_SALES ?? 100_000);
const STARTS = Number(process.env.AB_STARTS ?? 3);
const timing = {
  seconds: Number(process.env.BENCH_SECONDS ?? 10),
  warmupSeconds: Number(process.env.BENCH_WARMUP ?? 3),
  slices: Number(process.env.BENCH_SLICES ?? 2),
};
const log = (msg: string) => process.stderr.write(`[ab] ${msg}\n`);
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

const root = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'tsg-ab-'));
const devices = benchDevices(32);
const running: ServerProcess[] = [];
try {
  const seeded = await writeBenchConfig(join(root, 'seed'), devices);
  log(`seeding ${SALES} sales`);
  const cat = await seedDataDir(seeded, { products: 10_000, sales: SALES });
  execFileSync('sync');
  let copies = 0;
  /** A fresh copy of the seeded dir (config + data), its config path. */
  const copy = () => {
    const dir = join(root, `copy-${++copies}`);
    execFileSync('cp', ['-a', dirname(seeded), dir]);
    return join(dir, 'config.json');
  };
  const start = async (cli: string) => {
    const config = copy();
    const t0 = performance.now();
    const s = await startServerProcess([cli, 'serve', '--config', config], join(dirname(config), 'gateway.log'));
    const startSeconds = (performance.now() - t0) / 1000;
    running.push(s);
    await new Promise((r) => setTimeout(r, 1000));
    return { s, startSeconds, rss: s.rss() };
  };
  const starts: Record<'a' | 'b', { rssMB: number; startSeconds: number }[]> = { a: [], b: [] };
  for (let i = 0; i < STARTS; i++) {
    for (const [key, cli] of [
      ['a', cliA],
      ['b', cliB],
    ] as const) {
      const { s, startSeconds, rss } = await start(cli);
      starts[key].push({ rssMB: mb(rss), startSeconds: Math.round(startSeconds * 10) / 10 });
      log(`${key}: RSS ${mb(rss)} MB, started in ${startSeconds.toFixed(1)} s`);
      await s.stop();
      running.splice(running.indexOf(s), 1);
    }
  }
  const a = await start(cliA);
  const b = await start(cliB);
  const products = cat.products.map((p) => p.identifier);
  log('durable pushes, 32 tablets, A and B interleaved');
  const [ra, rb] = await measureInterleaved(
    [
      { load: pushLoad(a.s.url, devices, products, 32, 31), pid: a.s.child.pid },
      { load: pushLoad(b.s.url, devices, products, 32, 32), pid: b.s.child.pid },
    ],
    timing,
  );
  const push = (r: typeof ra) => ({
    rps: Math.round(r.rps),
    p50Ms: r.p50,
    p99Ms: r.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    cpuMsPerRequest: r.cpuMsPerRequest === null ? null : Math.round(r.cpuMsPerRequest * 1000) / 1000,
  });
  process.stdout.write(
    `${JSON.stringify({ a: cliA, b: cliB, sales: SALES, starts, push: { a: push(ra), b: push(rb), ratioBA: Math.round((rb.rps / ra.rps) * 100) / 100 } }, null, 2)}\n`,
  );
} finally {
  for (const s of running) await s.stop().catch(() => undefined);
  await rm(root, { recursive: true, force: true });
}
