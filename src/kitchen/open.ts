import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { UnitOfWork } from '../domain/ports/unit-of-work.js';
import type { GatewayEvents } from '../events.js';
import type { LowdbStore } from '../store/lowdb-store.js';
import type { Stores } from '../store/open-stores.js';
import type { PgStore } from '../store/postgres/pg-store.js';
import type { KitchenDeadLetters, KitchenHookDelivery } from './hooks.js';
import type { Kitchen } from './kitchen.js';
import type { KitchenStore } from './store.js';

/** The kitchen display of a gateway: orders, their storage, their webhooks. */
export interface KitchenService {
  kitchen: Kitchen;
  hooks: KitchenHookDelivery;
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
}): Promise<KitchenService | undefined> {
  const { config, stores, events, logger, now } = deps;
  if (!config.kitchen) return undefined;
  // Loaded only by a gateway with a kitchen (memory of the others stays as it was).
  const [{ Kitchen }, { hookName, KitchenHookDelivery, kitchenHooks }] = await Promise.all([import('./kitchen.js'), import('./hooks.js')]);
  let store: KitchenStore;
  if (stores.kind === 'postgres') {
    const { PgKitchenStore } = await import('./pg-kitchen-store.js');
    store = new PgKitchenStore(stores.store as PgStore);
  } else {
    const { LowdbKitchenStore } = await import('./lowdb-kitchen-store.js');
    store = new LowdbKitchenStore(config.store.dataDir, (stores.store as LowdbStore).commitQueue);
  }
  const kitchen = new Kitchen({
    store,
    uow: deps.uow,
    events,
    logger,
    now,
    recall: config.kitchen.recall,
    hookTargets: kitchenHooks(config.webhooks).map(hookName),
  });
  await kitchen.open();
  const hooks = new KitchenHookDelivery(config.webhooks, kitchen, logger.child({ component: 'kitchen' }), () => now().getTime(), deps.deadLetters ?? null);
  hooks.start();
  return {
    kitchen,
    hooks,
    stop: async () => {
      kitchen.endStreams();
      await hooks.stop();
      kitchen.stop();
    },
  };
}
