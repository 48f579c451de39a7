import type { KitchenChange, OrderQuery } from './kitchen.js';
import type { KitchenJournalEntry, KitchenOrder } from './types.js';

/** A change decided by `KitchenOrders.change`: the new record; `shown`: the screens see it (it takes a new seq). */
export interface OrderChange {
  order: KitchenOrder;
  shown: boolean;
}

/**
 * The kitchen's orders and their live changes (the port). lowdb: every order indexed in memory,
 * one process per data dir. PostgreSQL: queries, decisions in transactions, changes of every
 * process announced by NOTIFY: any number of processes on one database.
 */
export interface KitchenOrders {
  open(): Promise<void>;
  /**
   * Stores a new order (its id and seq are given here) with the message's journal entry; resolves
   * once both are durable and the screens were told.
   */
  add(order: Omit<KitchenOrder, 'id' | 'seq'>, journal: Omit<KitchenJournalEntry, 'orderId'>): Promise<KitchenOrder>;
  /**
   * Reads, changes and writes one order, one decision at a time for that order (across
   * processes); resolves once the change is durable. `next` null: unchanged. Resolves null when
   * there is no such order.
   */
  change(id: string, next: (current: KitchenOrder) => OrderChange | null): Promise<{ order: KitchenOrder; changed: boolean } | null>;
  get(id: string): Promise<KitchenOrder | undefined>;
  /** Newest first. */
  list(q: OrderQuery): Promise<{ items: KitchenOrder[]; total: number }>;
  /**
   * What a screen needs, oldest change first: the durable changes after `since`, or (reset: no
   * `since`, or one this database never gave) the open orders and the last `recall` done ones.
   */
  changes(since: number | null, recall: number): Promise<{ reset: boolean; changes: KitchenChange[] }>;
  /** Orders still owed to a webhook, oldest first. */
  undelivered(): Promise<KitchenOrder[]>;
  /** Every durable change shown on the screens, once, in seq order (made by this process or, on PostgreSQL, any other). */
  subscribe(listener: (change: KitchenChange) => void): () => void;
  stop(): Promise<void>;
}
