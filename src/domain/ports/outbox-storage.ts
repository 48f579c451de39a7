import type { KitchenOrderView } from '../../kitchen/types.js';
import type { Sale, SaleStatus } from '../types.js';

export type SaleEventKind = 'created' | 'reversed' | 'updated';

/**
 * What an outbox item carries: a sale change (sale.<kind>), or a new quarantine item (webhooks
 * only), or a kitchen order a webhook refused for good (kept as its dead letter; see Outbox.addKitchenDeadLetter).
 */
export type OutboxEventKind = SaleEventKind | 'quarantine.added' | 'kitchen.order';

/** The event name receivers see: sale.created, sale.reversed, sale.updated, quarantine.added, kitchen.order. */
export const eventName = (kind: OutboxEventKind) => (kind === 'quarantine.added' || kind === 'kitchen.order' ? kind : `sale.${kind}`);

/** A quarantine item as announced to webhooks: never its raw payload. */
export interface QuarantineEvent {
  id: string;
  register: string | null;
  device: string | null;
  code: string;
  reason: string;
  receivedAt: string;
}

/** One sale change waiting for (or refused by) one delivery target. */
export interface OutboxItem {
  /** `<identifier>@<seq>` (a quarantine event: `<quarantine id>@quarantine`): unique per target, stable across restarts. */
  key: string;
  target: string;
  identifier: string;
  cashRegisterName: string;
  /** The ledger's change sequence number (SaleRecord.history[].seq). */
  seq: number;
  /** The sale's version after this change (1 = created). */
  version: number;
  kind: OutboxEventKind;
  previousStatus: SaleStatus | null;
  /** When the change was stored. */
  changedAt: string;
  /** The sale as it was after this change (absent for a quarantine event). */
  sale?: Sale;
  /** For kind quarantine.added: what the event says. */
  quarantine?: QuarantineEvent;
  /** For kind kitchen.order: the order as the event carries it. */
  order?: KitchenOrderView;
  enqueuedAt: string;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  /** Rebuilt at start-up from the stored sale (its outbox entry was lost in a crash). */
  recovered?: boolean;
  /** Set when the target refused it for good: a dead letter, kept until retried. */
  dead?: { at: string; error: string; status: number | null; response: string };
  /** A dead letter an admin dismissed (kept, no longer needing attention), with the reason. */
  dismissed?: { at: string; by: string; reason: string };
  /** Send it as a change (PUT) even if it is the sale's first: a retry that overwrites what upstream holds (a collision). */
  method?: 'PUT';
}

/**
 * Per target, what start-up recovery may assume: every change with seq ≤ baseline, and every
 * change of register r with seq ≤ registers[r], was delivered, dead-lettered, irrelevant, or is
 * still in the stored queue.
 */
export interface TargetMark {
  baseline: number;
  registers: Record<string, number>;
}

export interface OutboxState {
  targets: Record<string, TargetMark>;
}

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
