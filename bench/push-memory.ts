/**
 * Live heap while a gateway only takes pushes (in-process, lowdb, commit rounds of 32):
 * `node --expose-gc --import tsx bench/push-memory.ts` (STEPS of 20,000 one-invoice pushes, default 6;
 * IDLE_MS between steps, default 0). The heap after a forced GC must stay flat as sales are added
 * beyond the per-sale index (docs/performance.md, "Memory while taking pushes").
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config/load.js';
import { openGateway } from '../src/gateway.js';
import { catalogue, prng, tabshopInvoice } from './lib/workload.js';
const root = await mkdtemp(join(tmpdir(), 'push-memory-'));
await writeFile(join(root, 'config.json'), JSON.stringify({ server: { host: '127.0.0.1', port: 0 }, store: { dataDir: './data' }, devices: [{ username: 't', password: 'p', cashRegister: 'TAB-1' }], admins: [] }));
const { config } = loadConfig({ file: join(root, 'config.json'), cwd: root, env: {} });
const g = await openGateway(config, pino({ level: 'silent' }));
const products = catalogue(100).products.map((p) => p.identifier);
const rnd = prng(7);
let seq = 0;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc --import tsx bench/push-memory.ts');
for (let step = 0; step < Number(process.env.STEPS ?? 6); step++) {
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < 20000; i++) {
    const parsed = JSON.parse(JSON.stringify({ invoices: [tabshopInvoice({ seq: seq++, products, date: Date.UTC(2026, 5, 1, 12) + seq * 1000, rnd })] }));
    pending.push(g.ledger.ingestInvoices(parsed.invoices, { device: 't', cashRegisterName: 'TAB-1', at: new Date(), adopt: true }));
    if (pending.length === 32) { await Promise.all(pending.splice(0)); await g.store.commit(); }
  }
  await Promise.all(pending); await g.store.commit();
  await new Promise((r) => setTimeout(r, Number(process.env.IDLE_MS ?? 0)));
  gc(); gc();
  const m = process.memoryUsage();
  console.log(`${seq} sales: heapUsed ${(m.heapUsed / 2 ** 20).toFixed(1)} MB, rss ${(m.rss / 2 ** 20).toFixed(0)} MB, external ${(m.external / 2 ** 20).toFixed(1)} MB, arrayBuffers ${(m.arrayBuffers / 2 ** 20).toFixed(1)} MB`);
}
await g.close();
await rm(root, { recursive: true, force: true });
