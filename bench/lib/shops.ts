import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashPassword } from '../../src/config/password.js';
import { basicAuth } from './push-load.js';
import { BENCH_ADMIN, type BenchDevice } from './seed.js';
import { prng, tabshopInvoice } from './workload.js';

export const BENCH_OPERATOR = { username: 'operator', password: 'bench-operator' };

export interface ShopsWorkload {
  shops: number;
  productsPerShop: number;
  devicesPerShop: number;
  salesPerShop: number;
}

/** The shop ids and their devices (usernames unique across the deployment, as the gateway requires). */
export function shopPlan(w: ShopsWorkload): { id: string; devices: BenchDevice[] }[] {
  return Array.from({ length: w.shops }, (_, i) => {
    const id = `shop-${String(i + 1).padStart(4, '0')}`;
    const devices = Array.from({ length: w.devicesPerShop }, (_, d) => ({
      username: `${id}-tab-${d + 1}`,
      password: `pw-${id}-${d + 1}`,
      cashRegister: `TAB-${d + 1}`,
    }));
    return { id, devices };
  });
}

export const shopProducts = (n: number) => Array.from({ length: n }, (_, i) => `p${i + 1}`);

/** A deployment config with an operator (and shop `default` as today's top-level keys). */
export async function writeShopsConfig(dir: string, devices: BenchDevice[], postgresUrl?: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'config.json');
  const config = {
    server: { host: '127.0.0.1', port: 0 },
    store: { dataDir: './data', ...(postgresUrl && { postgres: { url: postgresUrl } }) },
    logLevel: 'info',
    devices,
    admins: [BENCH_ADMIN],
    operators: [BENCH_OPERATOR],
  };
  await writeFile(path, JSON.stringify(config, null, 2));
  return path;
}

/** Runs `task` over `items`, `concurrency` at a time. */
export async function eachLimited<T>(items: T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await task(items[i], i);
      }
    }),
  );
}

async function call(url: string, method: string, body: string | undefined, auth: string, contentType = 'application/json'): Promise<void> {
  const res = await fetch(url, { method, body, headers: { authorization: auth, 'content-type': contentType } });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 300)}`);
}

/**
 * Creates every shop through the management API (timing each POST /api/shops), its devices and
 * its products (one CSV import each, with stock), then pushes `salesPerShop` sales per shop
 * through its own devices. Returns the creation times in ms.
 */
export async function populateShops(url: string, w: ShopsWorkload, log: (m: string) => void): Promise<number[]> {
  const plan = shopPlan(w);
  const operator = basicAuth(BENCH_OPERATOR);
  const passwordHashes = new Map<string, string>();
  for (const d of plan[0].devices) passwordHashes.set(d.cashRegister, await hashPassword(`shared-${d.cashRegister}`));
  const products = shopProducts(w.productsPerShop);
  const csv = `id,title,price,stockqty\n${products.map((p, i) => `${p},Product ${p},${(i % 9) + 1}.50,100000`).join('\n')}\n`;
  const createMs: number[] = [];
  log(`shops: creating ${w.shops} shops (API), their devices and products`);
  await eachLimited(plan, 4, async (shop) => {
    const t0 = performance.now();
    await call(`${url}/api/shops`, 'POST', JSON.stringify({ id: shop.id, name: `Shop ${shop.id}` }), operator);
    createMs.push(performance.now() - t0);
    for (const d of shop.devices) {
      const body = JSON.stringify({ passwordHash: passwordHashes.get(d.cashRegister), cashRegister: d.cashRegister });
      await call(`${url}/api/shops/${shop.id}/devices/${d.username}`, 'PUT', body, operator);
      d.password = `shared-${d.cashRegister}`;
    }
    await call(`${url}/api/shops/${shop.id}/products/import`, 'POST', csv, operator, 'text/csv');
  });
  log(`shops: pushing ${w.salesPerShop} sales into each shop`);
  const perDevice = Math.ceil(w.salesPerShop / w.devicesPerShop);
  await eachLimited(plan, 8, async (shop, s) => {
    const rnd = prng(1000 + s);
    for (const [k, d] of shop.devices.entries()) {
      const invoices = Array.from({ length: perDevice }, (_, i) =>
        tabshopInvoice({ seq: 1 + k * perDevice + i, products, date: Date.UTC(2026, 5, 1, 12) + i * 60_000, rnd }),
      );
      await call(`${url}/invoice`, 'POST', JSON.stringify({ invoices }), basicAuth(d), 'application/x-www-form-urlencoded');
    }
  });
  return createMs;
}

/** Every shop's devices, for a push load spread over the shops (passwords as populateShops set them). */
export function shopDevices(w: ShopsWorkload): BenchDevice[] {
  return shopPlan(w).flatMap((s) => s.devices.map((d) => ({ ...d, password: `shared-${d.cashRegister}` })));
}
