import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { openGateway, seedCatalogue } from '../../src/gateway.js';
import { catalogue, prng, tabshopInvoice, type CatalogueFile } from './workload.js';

export interface BenchDevice {
  username: string;
  password: string;
  cashRegister: string;
}

/** `count` tablets, each its own cash register (tablet-01 → TAB-01). */
export function benchDevices(count: number): BenchDevice[] {
  return Array.from({ length: count }, (_, i) => {
    const n = String(i + 1).padStart(2, '0');
    return { username: `tablet-${n}`, password: `bench-pw-${n}`, cashRegister: `TAB-${n}` };
  });
}

export const BENCH_ADMIN = { username: 'admin', password: 'bench-admin' };

/**
 * A config file for a gateway on 127.0.0.1 (ephemeral port) over `dir`/data, logging at info like
 * a default install; on the PostgreSQL database at `postgresUrl` when given.
 */
export async function writeBenchConfig(dir: string, devices: BenchDevice[], postgresUrl?: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'config.json');
  await writeFile(
    path,
    JSON.stringify(
      {
        server: { host: '127.0.0.1', port: 0 },
        store: { dataDir: './data', ...(postgresUrl && { postgres: { url: postgresUrl } }) },
        logLevel: 'info',
        devices,
        admins: [BENCH_ADMIN],
      },
      null,
      2,
    ),
  );
  return path;
}

/**
 * Fills the data dir through the real gateway code (catalogue, then `sales` invoices pushed in
 * big batches through the ledger, spread over registers and days), then closes it so a server
 * process can take it over. Returns the catalogue.
 */
/**
 * Opens a gateway on the store of `configPath` once and closes it: what a first start does once
 * (on PostgreSQL, deriving stock_levels from sales written behind its back, migrations/0012, and
 * writing the back office's rows of those sales, migrations/0011) is then done, so that the bench
 * measures an ordinary start.
 */
export async function openOnce(configPath: string): Promise<void> {
  const { config } = loadConfig({ file: configPath, cwd: process.cwd(), env: {} });
  const gateway = await openGateway(config, pino({ level: 'silent' }));
  await gateway.close();
}

export async function seedDataDir(configPath: string, opts: { products: number; sales: number; registers?: number; days?: number }): Promise<CatalogueFile> {
  const { config } = loadConfig({ file: configPath, cwd: process.cwd(), env: {} });
  const gateway = await openGateway(config, pino({ level: 'silent' }));
  const cat = catalogue(opts.products);
  try {
    await seedCatalogue(gateway.catalog, gateway.ledger, cat);
    await gateway.store.commit();
    const registers = config.devices.slice(0, opts.registers ?? 4);
    const days = opts.days ?? 90;
    const perDay = Math.ceil(opts.sales / days);
    const productIds = cat.products.map((p) => p.identifier);
    const rnd = prng(7);
    const start = Date.UTC(2026, 0, 1, 8);
    let seq = 0;
    for (let day = 0; day < days && seq < opts.sales; day++) {
      const at = new Date(start + day * 86_400_000);
      for (const device of registers) {
        const count = Math.min(Math.ceil(perDay / registers.length), opts.sales - seq);
        const invoices = Array.from({ length: count }, (_, i) =>
          tabshopInvoice({
            seq: 1_000_000_000 + seq + i,
            products: productIds,
            date: at.getTime() + i * 1000,
            rnd,
          }),
        );
        seq += count;
        if (count === 0) continue;
        await gateway.ledger.ingestInvoices(invoices, { device: device.username, cashRegisterName: device.cashRegister, at });
        await gateway.store.commit();
      }
    }
    return cat;
  } finally {
    await gateway.close();
  }
}
