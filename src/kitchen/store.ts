import type { KitchenJournalEntry, KitchenOrder, KitchenState } from './types.js';

/** What the kitchen of a data dir keeps in memory of every order (the records themselves are read on demand). */
export interface KitchenIndexEntry {
  id: string;
  seq: number;
  receivedAt: string;
  state: KitchenState;
}

/** Open orders and those still owed to a webhook: kept in memory whole. */
export const isPinned = (o: KitchenOrder) => o.state === 'open' || (o.pendingHooks?.length ?? 0) > 0;

/**
 * Storage of the kitchen orders of a data dir, under MemoryKitchenOrders (PostgreSQL has its own
 * KitchenOrders, pg-kitchen-orders.ts). Writes join the data dir's group commit: durable once the
 * unit of work's next durable() resolves.
 */
export interface KitchenStore {
  /**
   * Every stored order once, at start-up: its index entry, and the whole record at least for
   * pinned orders (isPinned); null when the store did not read it.
   */
  load(visit: (entry: KitchenIndexEntry, order: KitchenOrder | null) => void): Promise<void>;
  /** The latest record, committed or not. */
  get(id: string): Promise<KitchenOrder | undefined>;
  /** A new order, or a changed one (replaced whole). */
  put(order: KitchenOrder): Promise<void>;
  /** Appends one received message to the kitchen journal. */
  journal(entry: KitchenJournalEntry): void;
}

export const indexEntryOf = (o: KitchenOrder): KitchenIndexEntry => ({ id: o.id, seq: o.seq, receivedAt: o.receivedAt, state: o.state });
