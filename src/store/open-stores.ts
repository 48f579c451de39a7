import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { RuntimeSettingsStore } from '../domain/ports/runtime-settings.js';
import type { BackOfficeStore } from './back-office-port.js';
import { LowdbBackOfficeStore } from './lowdb-back-office.js';
import { LowdbRuntimeSettingsStore, readSettingsFile, SETTINGS_FILE } from './lowdb-settings.js';
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
  /** Devices created and low-stock thresholds set in the back office; read once the store is open. */
  settings: RuntimeSettingsStore;
  /** PostgreSQL: adds what an admin-settings.json in the data dir holds and the database does not yet. */
  importSettingsFile?(): Promise<void>;
}

/**
 * lowdb in `store.dataDir` by default; PostgreSQL with `store.postgres` (or DATABASE_URL).
 * The PostgreSQL adapters (and the pg client) are loaded only then: a lowdb gateway never
 * loads them (docs/performance.md, memory).
 */
export async function createStores(config: Config, logger?: Logger, lead?: AcquireOptions): Promise<Stores> {
  const pgConfig = config.store.postgres;
  if (pgConfig) {
    const [{ PgStore }, { PgSalesView }, { PgBackOfficeStore }, { PgOutboxStore }, { OutboxTable, workerId }, { PgRuntimeSettingsStore }] = await Promise.all([
      import('./postgres/pg-store.js'),
      import('./postgres/pg-sales-view.js'),
      import('./postgres/pg-back-office.js'),
      import('./postgres/pg-outbox.js'),
      import('./postgres/outbox-table.js'),
      import('./postgres/pg-runtime-settings.js'),
    ]);
    const log = logger?.child({ component: 'store' });
    const store = new PgStore(pgConfig, config.store.dataDir, (msg, err) => log?.error({ err }, msg), lead);
    const settings = new PgRuntimeSettingsStore(store.pool, pgConfig.url, log);
    return {
      kind: 'postgres',
      store,
      salesView: new PgSalesView(store),
      backOffice: new PgBackOfficeStore(store),
      outbox: () => new PgOutboxStore(store),
      outboxTable: () => new OutboxTable(store.pool, workerId()),
      settings,
      async importSettingsFile() {
        const file = await readSettingsFile(config.store.dataDir);
        if (!file) return;
        const n = await settings.importFile(file);
        if (n.devices + n.lowStock > 0)
          log?.info(
            { devices: n.devices, lowStockThresholds: n.lowStock, file: SETTINGS_FILE },
            `imported ${n.devices} back-office devices and ${n.lowStock} low-stock thresholds from ${SETTINGS_FILE} into the database`,
          );
        if (n.skipped.length) log?.warn({ skipped: n.skipped, file: SETTINGS_FILE }, `${SETTINGS_FILE}: entries that cannot be stored were not imported`);
      },
    };
  }
  const store = new LowdbStore(config.store.dataDir);
  return {
    kind: 'lowdb',
    store,
    salesView: new MemorySalesView(),
    backOffice: new LowdbBackOfficeStore(config.store.dataDir, store.commitQueue),
    outbox: () => new OutboxStore(config.store.dataDir, store.commitQueue),
    settings: new LowdbRuntimeSettingsStore(config.store.dataDir),
  };
}
