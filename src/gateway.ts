import { readFile } from 'node:fs/promises';
import { configWarnings } from './config/warnings.js';
import type { Logger } from 'pino';
import { Accounts } from './auth/accounts.js';
import { LoginThrottle } from './auth/throttle.js';
import type { Config } from './config/load.js';
import { Catalog, type Collection } from './domain/catalog.js';
import { SalesLedger } from './domain/ledger.js';
import { modificationProblem, quarantineItemProblem, saleRecordProblem, type UnloadableRecord } from './domain/record-check.js';
import { createStores } from './store/open-stores.js';
import type { Store } from './domain/ports/store.js';
import type { UnitOfWork } from './domain/ports/unit-of-work.js';
import { StoreUnitOfWork } from './domain/unit-of-work.js';
import type { LeaseTimings } from './store/postgres/connection.js';
import { TabShopViews } from './tabshop/views.js';
import { GatewayEvents } from './events.js';
import type { ForwardingStatus } from './forward/status.js';
import { attachEventLog } from './ops/event-log.js';
import { Forwarding } from './forward/forwarding.js';
import { BackOffice } from './domain/back-office.js';
import { ShopTimeZone } from './domain/time-zone.js';
import { RuntimeSettings } from './admin/runtime-settings.js';
import { openKitchen, type KitchenService } from './kitchen/open.js';

/** Everything createApp needs, wired from the config; the CLI and the tests build one of these. */
export interface Gateway {
  config: Config;
  store: Store;
  /** Every change a request makes runs in its transact: durable together before the answer. */
  uow: UnitOfWork;
  catalog: Catalog;
  ledger: SalesLedger;
  views: TabShopViews;
  accounts: Accounts;
  throttle: LoginThrottle;
  logger: Logger;
  events: GatewayEvents;
  /** Registrations, days, reports, cash balance, stats (srv4pos use cases 3, 4). */
  backOffice: BackOffice;
  /** Devices created and low-stock thresholds set in the back office (admin-settings.json in the data dir, or the database). */
  adminSettings: RuntimeSettings;
  /** Bridge mode and webhooks; absent in a standalone gateway without webhooks. */
  forwarding?: ForwardingStatus;
  /** The kitchen display (config `kitchen`); its TCP listener is started by whoever serves (src/kitchen/listener.ts). */
  kitchen?: KitchenService;
  now: () => Date;
  startedAt: Date;
  close(): Promise<void>;
}

const DEMO_CATALOGUE = new URL('../fixtures/demo/catalogue.json', import.meta.url);

export interface OpenOptions {
  now?: () => Date;
  /** PostgreSQL: the write lease's timings (tests shorten them). */
  lease?: Partial<LeaseTimings>;
}

export async function openGateway(config: Config, logger: Logger, opts: OpenOptions = {}): Promise<Gateway> {
  const { now = () => new Date(), lease } = opts;
  const stores = await createStores(config, logger, lease);
  const store = stores.store;
  const uow = new StoreUnitOfWork(store);
  const catalog = new Catalog(store, now, uow);
  // Shared with other processes (PostgreSQL): what they changed reaches this one's catalogue.
  store.onRefresh?.((r) => catalog.refreshed(r));
  const events = new GatewayEvents();
  const ledger = new SalesLedger(store, stores.salesView, catalog, events, uow);
  // Loading never fails on a record: what cannot be loaded is set aside, into the quarantine.
  const unloadable: UnloadableRecord[] = [];
  const setAside = (r: UnloadableRecord) => unloadable.push(r);
  const backOffice = new BackOffice({
    salesStore: store,
    store: stores.backOffice,
    uow,
    ledger,
    catalog,
    events,
    currency: config.currency,
    timeZone: new ShopTimeZone(config.timeZone),
    devices: config.devices,
    now,
    logger,
    setAside,
  });
  ledger.use(backOffice.hooks);
  store.onRefresh?.((r) => ledger.refreshed(r));
  // PostgreSQL holds the quantities (stock_levels): its sales are not replayed into the stock at start.
  const saleLoading = { stock: store.storedStock === undefined };
  await store.open({
    onSale: (r) => {
      const problem = saleRecordProblem(r);
      const about = { what: 'sale', id: r?.sale?.identifier, cashRegisterName: r?.sale?.cashRegisterName, raw: r };
      if (problem) return void setAside({ ...about, reason: problem });
      try {
        ledger.loadSale(r, saleLoading);
        backOffice.loadSale(r);
      } catch (err) {
        // Last resort (the checks above cover what loading relies on): the gateway starts all the same.
        setAside({ ...about, reason: `loading it failed: ${(err as Error).message}` });
      }
    },
    onQuarantine: (q) => {
      const problem = quarantineItemProblem(q);
      if (problem) logger.error({ item: (q as { id?: unknown } | null)?.id, reason: problem }, 'a stored quarantine item could not be loaded; skipped');
      else ledger.loadQuarantine(q);
    },
    onModification: (m) => {
      const problem = modificationProblem(m);
      if (problem)
        logger.error({ version: (m as { version?: unknown } | null)?.version, reason: problem }, 'a stored articles change could not be loaded; skipped');
      else catalog.loadModification(m);
    },
  });
  unloadable.push(...catalog.takeUnloadableStockLevels());
  catalog.finishLoading();
  try {
    await ledger.finishLoading();
    if (store.storedStock) await startStoredStock(store, uow, ledger, catalog, logger);
    await backOffice.open();
    if (unloadable.length > 0) await uow.transact(() => quarantineUnloadable(ledger, unloadable, logger, now()));
  } catch (err) {
    await store.close();
    throw err;
  }
  // In bridge mode the catalogue is upstream's: no demo articles.
  if (config.store.seedDemo && !config.upstream && catalog.version === 0 && (await ledger.saleCount()) === 0) {
    await seedCatalogue(catalog, ledger, JSON.parse(await readFile(DEMO_CATALOGUE, 'utf8')));
    logger.info({ products: catalog.all('products').length }, `loaded the demo catalogue into an empty ${store.kind === 'postgres' ? 'database' : 'data dir'}`);
  }
  attachEventLog(events, logger);
  for (const w of configWarnings(config)) logger.warn(w.fields, w.message);
  let forwarding: Forwarding | undefined;
  try {
    forwarding = await Forwarding.open({ config, store, outboxStore: stores.outbox, outboxTable: stores.outboxTable, catalog, ledger, events, logger, now });
  } catch (err) {
    await store.close();
    throw err;
  }
  forwarding?.start();
  let kitchen: KitchenService | undefined;
  try {
    const deadLetters = forwarding && ((...args: Parameters<Forwarding['kitchenDeadLetter']>) => forwarding!.kitchenDeadLetter(...args));
    kitchen = await openKitchen({ config, stores, uow, events, logger, now, deadLetters });
  } catch (err) {
    await forwarding?.stop();
    await store.close();
    throw err;
  }
  const accounts = new Accounts(config.devices, config.admins, config.kitchen?.accounts);
  let adminSettings: RuntimeSettings;
  try {
    await stores.importSettingsFile?.();
    adminSettings = await RuntimeSettings.open(stores.settings, accounts, logger);
  } catch (err) {
    await kitchen?.stop();
    await forwarding?.stop();
    await store.close();
    throw err;
  }
  return {
    config,
    store,
    uow,
    catalog,
    ledger,
    logger,
    now,
    events,
    forwarding,
    backOffice,
    kitchen,
    views: new TabShopViews(catalog),
    accounts,
    adminSettings,
    throttle: new LoginThrottle(),
    startedAt: now(),
    close: async () => {
      await kitchen?.stop();
      await forwarding?.stop();
      backOffice.savePresence();
      await adminSettings.close();
      await store.close();
    },
  };
}

/**
 * PostgreSQL: the catalogue's quantities are the table's (no sale replayed); a table that cannot be
 * trusted is derived from the stored sales once. Then the table follows every change.
 */
async function startStoredStock(store: Store, uow: UnitOfWork, ledger: SalesLedger, catalog: Catalog, logger: Logger): Promise<void> {
  let replayed = 0;
  const stored = await store.storedStock!((r) => {
    replayed++;
    if (saleRecordProblem(r)) return;
    try {
      ledger.replayStock(r);
    } catch {
      // As at load: a record that cannot be loaded moves no stock (the load sets it aside).
    }
  });
  if (stored) catalog.loadStoredQuantities(stored);
  else logger.info({ sales: replayed }, 'derived the central stock (stock_levels) from the stored sales once');
  store.followStock?.(catalog);
  // Written with the next commit round. Now if the write lease is free; a process that cannot take
  // it at start (another holds it, a previous version's leader during a rolling upgrade) serves
  // anyway, and its first unit of work writes it (or finds the table rewritten by another process).
  await uow.durable().catch((err: Error) => logger.warn({ err: err.message }, 'the central stock table could not be written at start; the next write does'));
}

async function quarantineUnloadable(ledger: SalesLedger, records: UnloadableRecord[], logger: Logger, at: Date): Promise<void> {
  for (const r of records) {
    const added = await ledger.setAside(r, at);
    logger.error(
      { what: r.what, id: r.id, register: r.cashRegisterName, reason: r.reason, quarantined: added ? 'now' : 'before' },
      `a stored ${r.what} could not be loaded: it is set aside in the quarantine (unloadable_record) and not used`,
    );
  }
}

interface CatalogueFile {
  taxes?: unknown[];
  discounts?: unknown[];
  categories?: { identifier: string; parent?: string | null }[];
  products?: unknown[];
  commodities?: unknown[];
  stock?: { product: string; quantity: number }[];
}

/** Loads a srv4pos-shaped catalogue file (one unit of work); parents before children, products before commodities. */
export function seedCatalogue(catalog: Catalog, ledger: SalesLedger, file: CatalogueFile): Promise<void> {
  const put = async (collection: Collection, items: unknown[] = []) => {
    for (const item of items as { identifier: string }[]) await catalog.replace(collection, item.identifier, item);
  };
  return catalog.transact(async () => {
    await put('taxes', file.taxes);
    await put('discounts', file.discounts);
    await put('categories', parentsFirst(file.categories ?? []));
    await put('products', file.products);
    await put('commodities', file.commodities);
    for (const s of file.stock ?? []) await catalog.setStock(s.product, s.quantity, ledger.salesSeq);
  });
}

function parentsFirst<T extends { identifier: string; parent?: string | null }>(items: T[]): T[] {
  const byId = new Map(items.map((c) => [c.identifier, c]));
  const depth = (c: T, seen = 0): number => (c.parent && byId.has(c.parent) && seen < items.length ? 1 + depth(byId.get(c.parent)!, seen + 1) : 0);
  return [...items].sort((a, b) => depth(a) - depth(b));
}
