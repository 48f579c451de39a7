import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { UnitOfWork } from '../domain/ports/unit-of-work.js';
import type { GatewayEvents } from '../events.js';
import type { LowdbStore } from '../store/lowdb-store.js';
import type { Stores } from '../store/open-stores.js';
import type { PgStore } from '../store/postgres/pg-store.js';
import type { KitchenDuty } from './duty.js';
import type { KitchenDeadLetters } from './hooks.js';
import type { Kitchen } from './kitchen.js';
import type { KitchenOrders } from './orders.js';

/** The kitchen display of a gateway: orders, their storage, their webhooks. */
export interface KitchenService {
  kitchen: Kitchen;
  /**
   * What runs in one process only: the TCP listener (started by whoever serves) and the
   * `kitchen.order` webhooks. lowdb: always this process; PostgreSQL: the one holding the duty lock.
   */
  duty: KitchenDuty;
  /**
   * The screen's CSRF token (sent in its event stream, required on its posts). lowdb: new per
   * process start; PostgreSQL: one per database, so any process accepts a screen's posts.
   */
  screenToken: string;
  stop(): Promise<void>;
}

/** Opens the kitchen over the gateway's opened store (after its crash recovery); undefined without `kitchen` in the config. */
export async function openKitchen(deps: {
  config: Config;
  stores: Stores;
  uow: UnitOfWork;
  events: GatewayEvents;
  logger: Logger;
  now: () => Date;
  deadLetters?: KitchenDeadLetters;
  /** PostgreSQL: how often the duty lock is tried (tests shorten it). */
  dutyRetryMs?: number;
}): Promise<KitchenService | undefined> {
  const { config, stores, events, logger, now } = deps;
  if (!config.kitchen) return undefined;
  // Loaded only by a gateway with a kitchen (memory of the others stays as it was).
  const [{ Kitchen }, { hookName, KitchenHookDelivery, kitchenHooks }] = await Promise.all([import('./kitchen.js'), import('./hooks.js')]);
  let orders: KitchenOrders;
  let duty: KitchenDuty;
  let screenToken: string;
  if (stores.kind === 'postgres') {
    const [{ PgKitchenOrders, sharedScreenToken }, { PgKitchenDuty, DUTY_LOCK_FEATURE }] = await Promise.all([
      import('./pg-kitchen-orders.js'),
      import('./pg-duty.js'),
    ]);
    const url = config.store.postgres!.url;
    const { pool } = stores.store as PgStore;
    orders = new PgKitchenOrders({ pool, url, logger });
    screenToken = await sharedScreenToken(pool);
    const pgDuty = new PgKitchenDuty({ url, logger, retryMs: deps.dutyRetryMs, lockKey: pool.names.lock(DUTY_LOCK_FEATURE) });
    pgDuty.start();
    duty = pgDuty;
  } else {
    const [{ LowdbKitchenStore }, { MemoryKitchenOrders }, { SoleDuty }] = await Promise.all([
      import('./lowdb-kitchen-store.js'),
      import('./memory-orders.js'),
      import('./duty.js'),
    ]);
    orders = new MemoryKitchenOrders(new LowdbKitchenStore(config.store.dataDir, (stores.store as LowdbStore).commitQueue), deps.uow, logger);
    duty = new SoleDuty(logger);
    screenToken = randomBytes(24).toString('base64url');
  }
  const kitchen = new Kitchen({ orders, events, logger, now, recall: config.kitchen.recall, hookTargets: kitchenHooks(config.webhooks).map(hookName) });
  await kitchen.open();
  const hookLogger = logger.child({ component: 'kitchen' });
  duty.run('kitchen.order webhook delivery', async () => {
    const hooks = new KitchenHookDelivery(config.webhooks, kitchen, hookLogger, () => now().getTime(), deps.deadLetters ?? null);
    await hooks.start();
    return { close: () => hooks.stop() };
  });
  return {
    kitchen,
    duty,
    screenToken,
    // The kitchen first (streams end; on PostgreSQL a message that cannot be stored is tried once
    // more, not until the database is back), then the duties (the listener stores what is arriving).
    stop: async () => {
      await kitchen.stop();
      await duty.stop();
    },
  };
}
