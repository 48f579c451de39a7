import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { BackOfficeStore } from './back-office-port.js';
import { LowdbBackOfficeStore } from './lowdb-back-office.js';
import { LowdbStore } from './lowdb-store.js';
import { MemorySalesView } from './memory-sales-view.js';
import type { SalesView } from '../domain/ports/sales-view.js';
import type { OutboxStorage } from './outbox-port.js';
import { OutboxStore } from './outbox-store.js';
import type { Store } from './port.js';
import type { AcquireOptions } from './postgres/connection.js';
import type { OutboxTable } from './postgres/outbox-table.js';

/** The adapters of one backend: sales store, back office, outbox, all committing in the same rounds. */
export interface Stores {
  kind: 'lowdb' | 'postgres';
  store: Store;
  /** The sales index, change feed and quarantine summaries the ledger asks (lowdb: in memory; PostgreSQL: SQL). */
  salesView: SalesView;
  backOffice: BackOfficeStore;
  /** Called only when something is forwarded (bridge mode, webhooks). */
  outbox(): OutboxStorage;
  /** PostgreSQL: the outbox table delivery workers claim from (this process's worker id). */
  outboxTable?(): OutboxTable;
}

/**
 * lowdb in `store.dataDir` by default; PostgreSQL with `store.postgres` (or DATABASE_URL).
 * The PostgreSQL adapters (and the pg client) are loaded only then: a lowdb gateway never
 * loads them (docs/performance.md, memory).
 */
export async function createStores(config: Config, logger?: Logger, lead?: AcquireOptions): Promise<Stores> {
  const pgConfig = config.store.postgres;
  if (pgConfig) {
    const [{ PgStore }, { PgSalesView }, { PgBackOfficeStore }, { PgOutboxStore }, { OutboxTable, workerId }] = await Promise.all([
      import('./postgres/pg-store.js'),
      import('./postgres/pg-sales-view.js'),
      import('./postgres/pg-back-office.js'),
      import('./postgres/pg-outbox.js'),
      import('./postgres/outbox-table.js'),
    ]);
    const log = logger?.child({ component: 'store' });
    const store = new PgStore(pgConfig, config.store.dataDir, (msg, err) => log?.error({ err }, msg), lead);
    return {
      kind: 'postgres',
      store,
      salesView: new PgSalesView(store),
      backOffice: new PgBackOfficeStore(store),
      outbox: () => new PgOutboxStore(store),
      outboxTable: () => new OutboxTable(store.pool, workerId()),
    };
  }
  const store = new LowdbStore(config.store.dataDir);
  return {
    kind: 'lowdb',
    store,
    salesView: new MemorySalesView(),
    backOffice: new LowdbBackOfficeStore(config.store.dataDir, store.commitQueue),
    outbox: () => new OutboxStore(config.store.dataDir, store.commitQueue),
  };
}
