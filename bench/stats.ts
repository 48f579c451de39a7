/**
 * Stats benchmark (not part of npm test): a year of a busy shop (default 150,000 sales over two
 * registers, refunds, cancels, daily float and close) is generated through the real ledger into a
 * temp data dir; the gateway is then restarted (rebuilding every aggregate from the stored sales)
 * and one-month queries are timed over HTTP.
 *
 *   npx tsx bench/stats.ts [--sales 150000] [--days 365] [--runs 20] [--keep] [--reuse DIR]
 *   (node --expose-gc --import tsx bench/stats.ts … reports the heap after a full GC)
 *
 * --keep leaves the generated dir in place; --reuse DIR times the queries on such a dir again.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/load.js';
import { openGateway, type Gateway } from '../src/gateway.js';
import { createLogger } from '../src/logger.js';
import { startServer } from '../src/server.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SALES = arg('sales', 150_000);
const DAYS = arg('days', 365);
const RUNS = arg('runs', 20);
const KEEP = process.argv.includes('--keep');
const REUSE = process.argv.includes('--reuse') ? process.argv[process.argv.indexOf('--reuse') + 1] : undefined;
const START = Date.parse('2026-01-01T00:00:00Z');
const DAY_MS = 86_400_000;
const REGISTERS = ['SHOP', 'BAR'];
const DEVICES = [
  { username: 'shop-1', password: 'x', cashRegister: 'SHOP' },
  { username: 'shop-2', password: 'x', cashRegister: 'SHOP' },
  { username: 'bar-1', password: 'x', cashRegister: 'BAR' },
  { username: 'bar-2', password: 'x', cashRegister: 'BAR' },
];

// A small deterministic PRNG, so every run generates the same year.
let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];

const PRODUCTS = Array.from({ length: 60 }, (_, i) => ({
  identifier: String(100 + i),
  name: `Product ${i}`,
  priceCents: 150 + Math.floor(rand() * 1200),
  tax: i % 3 === 0 ? '2' : '1',
  category: `c${i % 8}`,
}));
const RATE: Record<string, number> = { 1: 10, 2: 20 };

function position(p: (typeof PRODUCTS)[number], qty: number) {
  const totalCents = p.priceCents * qty;
  const rate = RATE[p.tax];
  const vatCents = Math.round((totalCents * rate) / (100 + rate));
  return {
    productId: p.identifier,
    productName: p.name,
    posTitle: p.name,
    qty,
    subtotal: totalCents / 100,
    discount: 0,
    total: totalCents / 100,
    tax: vatCents / 100,
    costPrice: Math.round(totalCents * 0.3) / 100,
  };
}

function invoiceAt(id: string, at: number, status = '10') {
  const positions = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => position(pick(PRODUCTS), 1 + Math.floor(rand() * 3)));
  const cents = (k: 'total' | 'tax' | 'costPrice') => positions.reduce((s, p) => s + Math.round(p[k] * 100), 0) / 100;
  return {
    id,
    date: String(at),
    checkoutType: rand() < 0.55 ? '0' : '2',
    checkoutStatus: status,
    total: cents('total'),
    tax: cents('tax'),
    discount: 0,
    costPrice: cents('costPrice'),
    customer: { name: '', address: '', email: '' },
    positions,
  };
}

async function open(dir: string, now: () => Date): Promise<Gateway> {
  const configPath = join(dir, 'config.json');
  await writeFile(
    configPath,
    JSON.stringify({ store: { dataDir: './data' }, devices: DEVICES, admins: [{ username: 'admin', password: 'admin' }], logLevel: 'warn' }),
  );
  const { config } = loadConfig({ file: configPath, cwd: dir, env: {} });
  return openGateway(config, createLogger('warn'), { now });
}

async function generate(dir: string): Promise<void> {
  let clock = START;
  const gw = await open(dir, () => new Date(clock));
  const put = (c: 'taxes' | 'categories' | 'products' | 'commodities', id: string, body: object) => gw.catalog.replace(c, id, body as never);
  await put('taxes', '1', { name: 'Reduced', vat: 10 });
  await put('taxes', '2', { name: 'Standard', vat: 20 });
  for (let c = 0; c < 8; c++) await put('categories', `c${c}`, { name: `Category ${c}` });
  for (const p of PRODUCTS) {
    await put('products', p.identifier, { name: p.name, price: p.priceCents / 100, tax: p.tax });
    await put('commodities', `${p.identifier}.${p.category}`, { product: p.identifier, category: p.category });
  }
  await gw.store.commit();
  const perDay = Math.ceil(SALES / DAYS);
  let made = 0;
  const t0 = performance.now();
  for (let day = 0; day < DAYS && made < SALES; day++) {
    const dayStart = START + day * DAY_MS + 8 * 3_600_000;
    clock = dayStart;
    for (const r of REGISTERS) await gw.backOffice.moveCash(r, 'deposit', 150, 'float', 'admin');
    const today = Math.min(perDay, SALES - made);
    const batch = 50;
    const pushed: { device: (typeof DEVICES)[number]; invoice: ReturnType<typeof invoiceAt> }[] = [];
    for (let i = 0; i < today; i += batch) {
      const device = DEVICES[(i / batch) % DEVICES.length];
      clock = dayStart + Math.floor((i / today) * 12 * 3_600_000);
      const invoices = Array.from({ length: Math.min(batch, today - i) }, (_, k) => invoiceAt(`${day}${String(i + k).padStart(5, '0')}`, clock - 1000));
      await gw.ledger.ingestInvoices(invoices, { device: device.username, cashRegisterName: device.cashRegister, at: new Date(clock) });
      await gw.store.commit();
      for (const invoice of invoices) pushed.push({ device, invoice });
    }
    // About 2 % refunded and 1 % cancelled, some of them the next morning (after the close).
    const reversals = pushed.filter(() => rand() < 0.03);
    clock = dayStart + 12.5 * 3_600_000;
    for (const { device, invoice } of reversals.slice(0, Math.ceil(reversals.length / 2))) {
      await gw.ledger.ingestInvoices([{ ...invoice, checkoutStatus: rand() < 0.66 ? '11' : '12' }], {
        device: device.username,
        cashRegisterName: device.cashRegister,
        at: new Date(clock),
      });
    }
    await gw.store.commit();
    clock = dayStart + 13 * 3_600_000;
    for (const r of REGISTERS) await gw.backOffice.moveCash(r, 'withdraw', 100, 'bank', 'admin');
    for (const r of REGISTERS) await gw.backOffice.closeDay(r, 'admin');
    await gw.store.commit();
    clock = dayStart + DAY_MS - 3_600_000;
    for (const { device, invoice } of reversals.slice(Math.ceil(reversals.length / 2))) {
      await gw.ledger.ingestInvoices([{ ...invoice, checkoutStatus: '11' }], {
        device: device.username,
        cashRegisterName: device.cashRegister,
        at: new Date(clock),
      });
    }
    await gw.store.commit();
    made += today;
    if (day % 30 === 29) console.log(`  day ${day + 1}: ${made} sales, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  await gw.close();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const dir = REUSE ?? (await mkdtemp(join(tmpdir(), 'tsg-bench-stats-')));
  let t = performance.now();
  if (!REUSE) {
    console.log(`generating ${SALES} sales over ${DAYS} days into ${dir}`);
    await generate(dir);
    console.log(`generated in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }

  t = performance.now();
  const gw = await open(dir, () => new Date(START + DAYS * DAY_MS));
  const startup = performance.now() - t;
  (globalThis as { gc?: () => void }).gc?.();
  const mem = process.memoryUsage();
  const server = await startServer(gw, '127.0.0.1', 0);
  const auth = `Basic ${Buffer.from('admin:admin').toString('base64')}`;
  const month = 'from=2026-06-01&to=2026-07-01';
  const queries: [string, string, string?][] = [
    ['products, one month', `/api/products/stats?${month}`],
    ['products, one month, one register', `/api/products/stats?${month}&cashRegisterName=SHOP`],
    ['categories, one month', `/api/categories/stats?${month}`],
    ['registrations, one month', `/api/registrations/stats?${month}`],
    ['sales, one month (first 100)', `/api/sales/stats?${month}`],
    ['sales, one month, CSV (all rows)', `/api/sales/stats?${month}`, 'text/csv'],
    ['products, whole year', '/api/products/stats'],
    ['days, one month', `/api/days?from=2026-06-01T00:00:00Z&to=2026-07-01T00:00:00Z`],
  ];
  console.log(
    `\nrestart with ${gw.ledger.saleCount} sales: ${(startup / 1000).toFixed(1)} s (aggregates rebuilt from the stored sales); heap ${(mem.heapUsed / 2 ** 20).toFixed(0)} MB, rss ${(mem.rss / 2 ** 20).toFixed(0)} MB\n`,
  );
  // The HTTP stack's own first request (routing, auth) is not a stats figure.
  await fetch(`${server.url}/api/version`, { headers: { authorization: auth } });
  console.log('query'.padEnd(40), ' first ms', 'median ms', '  max ms', ' rows');
  for (const [name, path, accept] of queries) {
    const times: number[] = [];
    let rows = 0;
    for (let i = 0; i < RUNS; i++) {
      const q0 = performance.now();
      const res = await fetch(server.url + path, { headers: { authorization: auth, accept: accept ?? 'application/json' } });
      const body = await res.text();
      times.push(performance.now() - q0);
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body.slice(0, 200)}`);
      rows = accept === 'text/csv' ? body.split('\r\n').length - 2 : JSON.parse(body).total;
    }
    console.log(
      name.padEnd(40),
      times[0].toFixed(1).padStart(9),
      median(times).toFixed(1).padStart(9),
      Math.max(...times)
        .toFixed(1)
        .padStart(8),
      String(rows).padStart(5),
    );
  }
  await server.stop(1000);
  if (!KEEP && !REUSE) await rm(dir, { recursive: true, force: true });
  else console.log(`\nkept ${dir}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
