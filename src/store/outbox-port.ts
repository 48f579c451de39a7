import type { OutboxItem, OutboxState } from './outbox-store.js';

/**
 * Storage of the durable outbox (the port): files in the data dir (OutboxStore) or PostgreSQL
 * (PgOutboxStore). Every change is written by the sales store's next commit round, so an item
 * enqueued with a sale change is durable in the same round as the sale.
 */
export interface OutboxStorage {
  /** The recovery marks per target; call saveState() after changing them. */
  readonly state: OutboxState;
  /** Every stored item (pending work and dead letters). */
  load(): Promise<OutboxItem[]>;
  add(item: OutboxItem): void;
  /** The item changed in memory (attempts, dead-lettered, retried): written at the next commit. */
  update(item: OutboxItem): void;
  remove(item: OutboxItem): void;
  /** True once a commit round that began after the item was added has completed. */
  isWritten(item: OutboxItem): boolean;
  saveState(): void;
  /** Called once per target before its first item is added. */
  prepare(target: string): Promise<void>;
}
