import type { KitchenJournalEntry, KitchenOrder } from './types.js';

/**
 * Storage of kitchen orders (the port): files in the data dir or PostgreSQL. Writes join the
 * sales store's commit rounds: durable once the store's next commit() resolves.
 */
export interface KitchenStore {
  /** Every stored order, once, at start-up. */
  load(visit: (order: KitchenOrder) => void): Promise<void>;
  /** A new order, or a changed one (replaced whole). */
  put(order: KitchenOrder): Promise<void>;
  /** Appends one received message to the kitchen journal. */
  journal(entry: KitchenJournalEntry): void;
}
