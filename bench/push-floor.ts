/**
 * Where the durable push's CPU goes, outside the bench's ratio: `npx tsx bench/push-floor.ts`.
 *   1. The domain and store alone, in-process (no HTTP): JSON.parse of a push body, validation,
 *      translation, ledger, back office, WAL, commit rounds of 32, on a lowdb data dir.
 *      The same with the raw body journaled as the push route does (DESIGN: every raw body).
 *   2. Requests that do (almost) nothing through the gateway's HTTP stack vs bare Express 5
 *      (the bench's baseline server): CPU per request of the server process, 32 connections.
 *   3. The durable push through HTTP with logging at `info` (the default) and `silent`.
 * docs/performance.md ("Why 0.5× is out of reach") uses these figures.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inProcessPusher, openInProcess } from './lib/in-process.js';
import { measureInterleaved, type Contender } from './lib/load.js';
import { ROOT, startBaseline, startGateway } from './lib/procs.js';
import { benchDevices, seedDataDir, writeBenchConfig } from './lib/seed.js';
import { catalogue, prng, tabshopInvoice } from './lib/workload.js';
import { freePort } from '../test/free-port.js';

const root = await mkdtemp(join(tmpdir(), 'push-floor-'));

async function domainCost(invoices: number, journal: boolean): Promise<number> {
  const g = await openInProcess(root);
  const push = inProcessPusher(g, { journal });
  const cpuPerPush = async (n: number, first: number) => {
    const t0 = process.cpuUsage();
    await push(n, first);
    const cpu = process.cpuUsage(t0);
    return (cpu.user + cpu.system) / 1000 / n;
  };
  await cpuPerPush(3000, journal ? 500_000 : 0);
  const ms = Math.min(await cpuPerPush(invoices, journal ? 600_000 : 100_000), await cpuPerPush(invoices, journal ? 700_000 : 200_000));
  await g.close();
  return ms;
}

async function pushWithLogLevel(level: 'info' | 'silent'): Promise<number | null> {
  const devices = benchDevices(32);
  const configPath = await writeBenchConfig(join(root, `push-${level}`), devices);
  await seedDataDir(configPath, { products: 100, sales: 0 });
  // LOG_LEVEL=silent logs no URL to wait for: a fixed free port, and /healthz polled.
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli.js'), 'serve', '--config', configPath], {
    cwd: ROOT,
    stdio: 'ignore',
    env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: level, PORT: String(port) },
  });
  const gw = { url: `http://127.0.0.1:${port}`, child };
  for (
    let i = 0;
    i < 300
    && !(await fetch(`${gw.url}/healthz`).then(
      (r) => r.ok,
      () => false,
    ));
    i++
  )
    await new Promise((r) => setTimeout(r, 100));
  const products = catalogue(100).products.map((p) => p.identifier);
  const rnd = prng(level === 'info' ? 1 : 2);
  let seq = level === 'info' ? 0 : 50_000_000;
  const auths = devices.map((d) => `Basic ${Buffer.from(`${d.username}:${d.password}`).toString('base64')}`);
  let next = 0;
  const [r] = await measureInterleaved(
    [
      {
        load: {
          url: `${gw.url}/invoice`,
          connections: 32,
          method: 'POST',
          setupRequest: (req, context) => {
            if (context.auth === undefined) context.auth = auths[next++ % auths.length];
            const invoice = tabshopInvoice({ seq: seq++, products, date: Date.UTC(2026, 5, 1, 12) + seq, rnd });
            return {
              ...req,
              method: 'POST',
              headers: { authorization: context.auth as string, 'content-type': 'application/x-www-form-urlencoded' },
              body: JSON.stringify({ invoices: [invoice] }),
            };
          },
        },
        pid: gw.child.pid,
      },
    ],
    { seconds: 5, warmupSeconds: 2, slices: 1 },
  );
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return r.cpuMsPerRequest;
}

async function httpCosts(): Promise<[string, number | null][]> {
  const devices = benchDevices(32);
  const configPath = await writeBenchConfig(join(root, 'gw'), devices);
  await seedDataDir(configPath, { products: 100, sales: 0 });
  const gw = await startGateway(configPath, join(root, 'gw.log'));
  const base = await startBaseline('push-validate.ts', join(root, 'base.log'), { BENCH_USERS: JSON.stringify(devices) });
  const auth = `Basic ${Buffer.from(`${devices[0].username}:${devices[0].password}`).toString('base64')}`;
  const cases: [string, Contender][] = [
    ['bare Express 5: GET of an unknown path (404)', { load: { url: `${base.url}/nope`, connections: 32 }, pid: base.child.pid }],
    ['gateway: GET of an unknown path (404 JSON)', { load: { url: `${gw.url}/nope`, connections: 32 }, pid: gw.child.pid }],
    ['gateway: GET /healthz', { load: { url: `${gw.url}/healthz`, connections: 32 }, pid: gw.child.pid }],
    ['gateway: GET /home (device Basic auth)', { load: { url: `${gw.url}/home`, connections: 32, headers: { authorization: auth } }, pid: gw.child.pid }],
  ];
  const out: [string, number | null][] = [];
  for (const [name, c] of cases) {
    const [r] = await measureInterleaved([c], { seconds: 4, warmupSeconds: 2, slices: 1 });
    out.push([name, r.cpuMsPerRequest]);
  }
  await gw.stop();
  await base.stop();
  return out;
}

try {
  const domain = await domainCost(20_000, false);
  console.log(`domain + store in-process, per one-invoice push: ${domain.toFixed(3)} ms CPU`);
  const journaled = await domainCost(20_000, true);
  console.log(`the same with the raw body journaled: ${journaled.toFixed(3)} ms CPU`);
  for (const [name, ms] of await httpCosts()) console.log(`${name}: ${ms?.toFixed(3)} ms CPU/request`);
  for (const level of ['info', 'silent'] as const)
    console.log(`gateway: durable push, LOG_LEVEL=${level}: ${(await pushWithLogLevel(level))?.toFixed(3)} ms CPU/request`);
} finally {
  await rm(root, { recursive: true, force: true });
}
