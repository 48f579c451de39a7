import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { openGateway, type Gateway } from '../../src/gateway.js';
import { catalogue, prng, tabshopInvoice } from './workload.js';

/** A gateway opened in this process on a lowdb data dir under `root`, one register, nothing served. */
export async function openInProcess(root: string): Promise<Gateway> {
  await writeFile(
    join(root, 'config.json'),
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0 },
      store: { dataDir: './data' },
      devices: [{ username: 't', password: 'p', cashRegister: 'TAB-1' }],
      admins: [],
    }),
  );
  const { config } = loadConfig({ file: join(root, 'config.json'), cwd: root, env: {} });
  return openGateway(config, pino({ level: 'silent' }));
}

/**
 * What the push route does below HTTP, for `n` one-invoice pushes numbered from `first`: the body
 * parsed, optionally journaled as received, ingested, in commit rounds of 32 as concurrent tablets share them.
 */
export function inProcessPusher(g: Gateway, opts: { journal?: boolean } = {}): (n: number, first: number) => Promise<void> {
  const products = catalogue(100).products.map((p) => p.identifier);
  const rnd = prng(7);
  // The pushes join one unit of work; durable() every 32 gives the commit rounds of 32 that concurrent tablets share.
  const round = (work: () => Promise<void>) => g.uow.transact(work);
  return (n, first) =>
    round(async () => {
      const pending: Promise<unknown>[] = [];
      for (let seq = first; seq < first + n; seq++) {
        const text = JSON.stringify({ invoices: [tabshopInvoice({ seq, products, date: Date.UTC(2026, 5, 1, 12) + seq * 1000, rnd })] });
        const at = new Date();
        if (opts.journal) {
          g.store.journal({
            at: at.toISOString(),
            device: 't',
            cashRegisterName: 'TAB-1',
            method: 'POST',
            path: '/invoice',
            requestId: String(seq),
            contentType: 'application/x-www-form-urlencoded',
            body: text,
          });
        }
        const parsed = JSON.parse(text) as { invoices: unknown[] };
        pending.push(g.ledger.ingestInvoices(parsed.invoices, { device: 't', cashRegisterName: 'TAB-1', at, adopt: true }));
        if (pending.length === 32) {
          await Promise.all(pending.splice(0));
          await g.uow.durable();
        }
      }
      await Promise.all(pending);
    });
}
