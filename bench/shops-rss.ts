/**
 * Memory with many shops open (issue 15): `npm run build && npx tsx bench/shops-rss.ts`.
 * Starts the built gateway (dist/cli.js, a child process on 127.0.0.1, lowdb) with an operator,
 * creates SHOPS shops through the management API (default 1,000; the time of each creation is
 * measured), gives each DEVICES devices (default 2) and PRODUCTS products (default 20), pushes
 * SALES sales into each (default 100, one push per shop), so that every shop is open, then reads
 * the process's RSS (/proc/<pid>/status) after SETTLE_MS (default 5,000). Prints one JSON line.
 * TRACE_GC=1: the gateway runs with --trace-gc and its last full collections are printed too (the
 * live heap after each, to tell the V8 heap from the rest of the RSS). SHOPS_OPEN_MAX sets
 * ops.shopsOpenMax (default: the gateway's, 100); GATEWAY_NODE_FLAGS adds node flags to the gateway's.
 */
import { spawn } from 'node:child_process';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashPassword } from '../src/config/password.js';

const SHOPS = Number(process.env.SHOPS ?? 1000);
const DEVICES = Number(process.env.DEVICES ?? 2);
const PRODUCTS = Number(process.env.PRODUCTS ?? 20);
const SALES = Number(process.env.SALES ?? 100);
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 5000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

const dir = await mkdtemp(join(tmpdir(), 'shops-rss-'));
const op = { username: 'bench-operator', password: 'bench-operator-pw' };
const devicePassword = 'bench-device-pw';
await writeFile(
  join(dir, 'config.json'),
  JSON.stringify({
    server: { host: '127.0.0.1', port: 0 },
    store: { dataDir: './data' },
    logLevel: 'warn',
    ...(process.env.SHOPS_OPEN_MAX && { ops: { shopsOpenMax: Number(process.env.SHOPS_OPEN_MAX) } }),
    devices: [{ username: 'default-tablet', password: devicePassword, cashRegister: 'TAB-1' }],
    operators: [op],
  }),
);
// GATEWAY_NODE_FLAGS: node flags for the gateway, e.g. "--max-old-space-size=160".
const flags = [...(process.env.TRACE_GC === '1' ? ['--trace-gc'] : []), ...(process.env.GATEWAY_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean)];
const child = spawn(process.execPath, [...flags, CLI, 'serve', '--config', join(dir, 'config.json')], {
  env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'info', KITCHEN_PORT: 'off', DATABASE_URL: '' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
const url = await new Promise<string>((resolve, reject) => {
  child.stdout!.on('data', (c) => {
    out += c;
    const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
    if (m) resolve(m[1]);
  });
  child.on('exit', (code) => reject(new Error(`gateway exited ${code}: ${out}`)));
});
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const opAuth = basic(op.username, op.password);

async function call(method: string, path: string, body: unknown, auth = opAuth): Promise<number> {
  const res = await fetch(url + path, { method, headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status}`);
  return res.status;
}

async function inParallel(n: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

const rssMiB = async () => Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

const rssAtStart = await rssMiB();
const started = Date.now();
// Shop creation one at a time, as an operator would: its own latency.
const createMs: number[] = [];
for (let i = 0; i < SHOPS; i++) {
  const t = performance.now();
  await call('POST', '/api/shops', { id: `shop-${i}` });
  createMs.push(performance.now() - t);
}
const hash = await hashPassword(devicePassword);
await inParallel(SHOPS, async (i) => {
  for (let d = 0; d < DEVICES; d++) await call('PUT', `/api/shops/shop-${i}/devices/s${i}-d${d}`, { passwordHash: hash, cashRegister: `REG-${d}` });
});
const rssCreated = await rssMiB();
await inParallel(SHOPS, async (i) => {
  for (let p = 0; p < PRODUCTS; p++) await call('PUT', `/api/shops/shop-${i}/products/${p}`, { name: `Product ${p}`, price: 1 + p / 10 });
  const invoices = Array.from({ length: SALES }, (_, s) => ({
    id: 202612010000000 + s,
    date: String(1764590000000 + s * 1000),
    checkoutType: '0',
    checkoutStatus: '10',
    total: 2,
    tax: 0,
    discount: 0,
    costPrice: 0,
    givenCash: 2,
    returnedCash: 0,
    customer: { name: '', address: '', email: '' },
    positions: [{ productId: String(s % PRODUCTS), productName: 'p', posTitle: 'p', qty: 1, subtotal: 2, total: 2, tax: 0, discount: 0, costPrice: 0 }],
  }));
  await call('POST', '/invoice', { invoices }, basic(`s${i}-d0`, devicePassword));
});
const loadedSeconds = (Date.now() - started) / 1000;
await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
const shops = (await (await fetch(`${url}/api/shops`, { headers: { authorization: opAuth } })).json()) as { items: { open: boolean }[] };
const result = {
  shops: SHOPS,
  open: shops.items.filter((s) => s.open).length,
  devicesPerShop: DEVICES,
  productsPerShop: PRODUCTS,
  salesPerShop: SALES,
  rssAtStartMiB: Math.round(rssAtStart),
  rssShopsCreatedMiB: Math.round(rssCreated),
  rssAllOpenMiB: Math.round(await rssMiB()),
  createShopMs: { p50: +percentile(createMs, 0.5).toFixed(1), p99: +percentile(createMs, 0.99).toFixed(1), max: +Math.max(...createMs).toFixed(1) },
  loadSeconds: +loadedSeconds.toFixed(1),
};
console.log(JSON.stringify(result));
if (process.env.TRACE_GC === '1')
  console.log(
    out
      .split('\n')
      .filter((l) => l.includes('Mark-Compact'))
      .slice(-3)
      .join('\n'),
  );
child.kill('SIGTERM');
await new Promise((resolve) => child.on('exit', resolve));
await rm(dir, { recursive: true, force: true });
