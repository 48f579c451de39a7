import { Writable } from 'node:stream';
import { Catalog } from '../../src/domain/catalog.js';
import { SalesLedger, type PushSummary } from '../../src/domain/ledger.js';
import { GatewayEvents } from '../../src/events.js';
import type { DeliveryTarget } from '../../src/forward/delivery.js';
import { Outbox } from '../../src/forward/outbox.js';
import { HttpClient } from '../../src/forward/upstream-client.js';
import { UpstreamTarget } from '../../src/forward/upstream-target.js';
import { WebhookTarget } from '../../src/forward/webhook.js';
import { createLogger } from '../../src/logger.js';
import { MemorySalesView } from '../../src/store/memory-sales-view.js';
import { LowdbStore } from '../../src/store/lowdb-store.js';
import { OutboxStore } from '../../src/store/outbox-store.js';

export const UPSTREAM = 'http://up.test';

export interface Parts {
  store: LowdbStore;
  catalog: Catalog;
  ledger: SalesLedger;
  events: GatewayEvents;
  outbox: Outbox;
  client: HttpClient | null;
  logs: string[];
  logger: ReturnType<typeof createLogger>;
  opened: Awaited<ReturnType<Outbox['open']>>;
  push(invoices: unknown[], register?: string): Promise<PushSummary>;
  close(): Promise<void>;
}

export interface PartsOptions {
  upstream?: { timeoutMs?: number; retryCapMs?: number; breakerFailures?: number; breakerCooldownMs?: number } | false;
  webhooks?: { url: string; secret: string; events?: ('sale.created' | 'sale.reversed' | 'sale.updated')[]; retryCapMs?: number }[];
  start?: boolean;
}

/** The forwarding pieces over a real store in `dataDir`, without the HTTP app or the catalogue poll. */
export async function openParts(dataDir: string, opts: PartsOptions = {}): Promise<Parts> {
  const logs: string[] = [];
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk, _e, cb) {
        logs.push(String(chunk));
        cb();
      },
    }),
  );
  const store = new LowdbStore(dataDir);
  const catalog = new Catalog(store);
  const events = new GatewayEvents();
  const ledger = new SalesLedger(store, new MemorySalesView(), catalog, events);
  await store.open({ onSale: (r) => ledger.loadSale(r), onQuarantine: (q) => ledger.loadQuarantine(q), onModification: (m) => catalog.loadModification(m) });
  catalog.finishLoading();
  await ledger.finishLoading();
  const targets: DeliveryTarget[] = [];
  let client: HttpClient | null = null;
  if (opts.upstream !== false) {
    const up = opts.upstream ?? {};
    client = new HttpClient({
      baseUrl: `${UPSTREAM}/api/`,
      timeoutMs: up.timeoutMs ?? 1_000,
      username: 'admin',
      password: 'pw',
      breaker: { failures: up.breakerFailures ?? 1_000, cooldownMs: up.breakerCooldownMs ?? 100 },
    });
    targets.push(new UpstreamTarget(client, up.retryCapMs ?? 20));
  }
  for (const w of opts.webhooks ?? []) targets.push(new WebhookTarget({ timeoutMs: 1_000, retryCapMs: 20, ...w }));
  const outbox = new Outbox({ store: new OutboxStore(dataDir, store.commitQueue), ledger, commit: () => store.commit(), logger, events });
  const opened = await outbox.open(targets);
  ledger.use({ afterStore: (record, previous) => outbox.onSaleStored(record, previous) });
  if (opts.start !== false) outbox.start();
  return {
    store,
    catalog,
    ledger,
    events,
    outbox,
    client,
    logs,
    logger,
    opened,
    async push(invoices, register = 'TAB-1') {
      const summary = await ledger.ingestInvoices(invoices, { device: 'tablet', cashRegisterName: register, at: new Date() });
      await store.commit();
      return summary;
    },
    async close() {
      await outbox.stop(200);
      client?.close();
      await store.close();
    },
  };
}

/** Resolves once `predicate` holds (polled), or fails with `what` after `ms`. */
export async function eventually<T>(fn: () => T | Promise<T>, what: string, ms = 10_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
