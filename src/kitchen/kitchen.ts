import type { Logger } from 'pino';
import type { GatewayEvents } from '../events.js';
import { decodeMessage, parseOrder } from './message.js';
import type { KitchenOrders } from './orders.js';
import { NotAnOrderError, viewOf, type KitchenOrder, type KitchenOrderView, type KitchenState, type RejectCode } from './types.js';

/** A message as the listener read it off one connection. */
export interface ReceivedMessage {
  bytes: Buffer;
  source: string;
  at: Date;
  /** Set when the connection did not end normally (too large, too slow, shutdown): stored as rejected. */
  problem?: { code: Exclude<RejectCode, 'invalid'>; reason: string; truncated?: boolean };
}

/** What the live screen is told: an order that is new or changed (by its seq, the event id). */
export interface KitchenChange {
  seq: number;
  order: KitchenOrderView;
}

export interface KitchenDeps {
  orders: KitchenOrders;
  events: GatewayEvents;
  logger: Logger;
  now: () => Date;
  /** How many done orders the screen's Recall list shows. */
  recall: number;
  /** Webhook targets that want `kitchen.order` (names `webhook:<url>`). */
  hookTargets: string[];
}

export interface OrderQuery {
  state: KitchenState | 'all';
  from?: string;
  to?: string;
  firstResult: number;
  maxResults: number;
}

/** Bytes of a rejected message kept in its record (and shown by the API); the journal has them all. */
export const RAW_KEPT = 4096;

/**
 * The kitchen display: every message received on the kitchen port is stored (an order `open`,
 * anything else `rejected`), orders are marked done and reopened, and the live screens are told
 * about every change once it is durable, in change order (seq), so that a screen reconnecting
 * with its last seq misses nothing and sees nothing twice. Where the orders live, and how the
 * changes of other processes reach this one's screens, is the port's business (KitchenOrders).
 */
export class Kitchen {
  private readonly newOrderListeners = new Set<(order: KitchenOrder) => void>();
  private readonly streamEnds = new Set<() => void>();
  private readonly log: Logger;

  constructor(private readonly deps: KitchenDeps) {
    this.log = deps.logger.child({ component: 'kitchen' });
  }

  open(): Promise<void> {
    return this.deps.orders.open();
  }

  /** Orders whose webhook delivery was not finished before the last stop. */
  undelivered(): Promise<KitchenOrder[]> {
    return this.deps.orders.undelivered();
  }

  /** Journals and stores one message; resolves once both are durable (or, on a storage failure, once that is logged). */
  async receive(msg: ReceivedMessage): Promise<KitchenOrder> {
    const at = msg.at.toISOString();
    const fields: Omit<KitchenOrder, 'id' | 'seq'> = { receivedAt: at, source: msg.source, state: 'rejected', table: null, positions: [] };
    // The journal keeps every byte; the record keeps the first RAW_KEPT (records stay small in chunks and memory).
    const kept = msg.bytes.subarray(0, RAW_KEPT);
    const rejectWith = (code: RejectCode, reason: string, truncated: boolean) => {
      fields.reject = { code, reason, bytes: msg.bytes.length, raw: kept.toString('base64'), truncated: truncated || kept.length < msg.bytes.length };
    };
    const { text, encoding } = decodeMessage(msg.bytes);
    // A cut connection (no clean end) that still delivered one whole valid JSON order loses nothing by it.
    const parsed = !msg.problem || msg.problem.code === 'interrupted' ? parseOrder(text) : null;
    if (parsed?.ok) {
      fields.state = 'open';
      fields.table = parsed.table;
      fields.positions = parsed.positions;
      fields.encoding = encoding;
      if (this.deps.hookTargets.length > 0) fields.pendingHooks = [...this.deps.hookTargets];
    } else if (msg.problem) {
      rejectWith(msg.problem.code, msg.problem.reason, msg.problem.truncated ?? false);
    } else {
      fields.encoding = encoding;
      rejectWith('invalid', parsed!.ok ? '' : parsed!.reason, false);
    }
    const order = await this.deps.orders.add(fields, { at, source: msg.source, bytes: msg.bytes.length, raw: msg.bytes.toString('base64') });
    const { id } = order;
    if (order.state === 'open') {
      this.log.info(
        { event: 'kitchen.order', id, table: order.table, positions: order.positions.length, source: msg.source },
        `kitchen order ${id} for ${order.table}`,
      );
      this.deps.events.emit('kitchen.message', { outcome: 'received', source: msg.source });
      for (const l of this.newOrderListeners) l(order);
    } else {
      this.log.warn(
        { event: 'kitchen.rejected', id, code: order.reject!.code, reason: order.reject!.reason, bytes: msg.bytes.length, source: msg.source },
        `kitchen message ${id} rejected: ${order.reject!.reason}`,
      );
      this.deps.events.emit('kitchen.message', { outcome: 'rejected', reason: order.reject!.code, source: msg.source });
    }
    return order;
  }

  /** Marks an order done (done again: unchanged); null when there is no such order. */
  async markDone(id: string): Promise<KitchenOrderView | null> {
    return this.setState(id, 'done');
  }

  async reopen(id: string): Promise<KitchenOrderView | null> {
    return this.setState(id, 'open');
  }

  private async setState(id: string, state: 'open' | 'done'): Promise<KitchenOrderView | null> {
    // Decided on the order as stored now (another process may have changed it a moment ago).
    const changed = await this.deps.orders.change(id, (current) => {
      if (current.state === 'rejected')
        throw new NotAnOrderError(`kitchen message ${id} was rejected (${current.reject?.reason ?? 'not an order'}); it cannot be marked ${state}`);
      if (current.state === state) return null;
      const next: KitchenOrder = { ...current, state };
      if (state === 'done') next.doneAt = this.deps.now().toISOString();
      else delete next.doneAt;
      return { order: next, shown: true };
    });
    if (!changed) return null;
    if (changed.changed)
      this.log.info({ event: `kitchen.${state === 'done' ? 'done' : 'reopened'}`, id }, `kitchen order ${id} ${state === 'done' ? 'done' : 'reopened'}`);
    return viewOf(changed.order);
  }

  /** Webhook delivery finished (delivered or given up) for `target`. */
  async hookFinished(id: string, target: string): Promise<void> {
    // Not a change the screens need to see: same seq.
    await this.deps.orders.change(id, (current) =>
      current.pendingHooks?.includes(target) ? { order: { ...current, pendingHooks: current.pendingHooks.filter((t) => t !== target) }, shown: false } : null,
    );
  }

  /** The latest record of an order. */
  get(id: string): Promise<KitchenOrder | undefined> {
    return this.deps.orders.get(id);
  }

  async view(id: string): Promise<KitchenOrderView | undefined> {
    const order = await this.get(id);
    return order && viewOf(order);
  }

  /** Newest first. `from` inclusive, `to` exclusive (received time). */
  async list(q: OrderQuery): Promise<{ items: KitchenOrderView[]; total: number }> {
    const { items, total } = await this.deps.orders.list(q);
    return { items: items.map(viewOf), total };
  }

  /**
   * What a screen needs, oldest change first: after `since` (a reconnecting screen's last event
   * id) every durable change of an order; with no `since` (or one this database never gave:
   * `reset`), the open orders and the last done ones.
   * Subscribe first, then call this: together they miss nothing and repeat nothing.
   */
  changes(since: number | null): Promise<{ reset: boolean; changes: KitchenChange[] }> {
    return this.deps.orders.changes(since, this.deps.recall);
  }

  subscribe(listener: (change: KitchenChange) => void): () => void {
    return this.deps.orders.subscribe(listener);
  }

  onNewOrder(listener: (order: KitchenOrder) => void): () => void {
    this.newOrderListeners.add(listener);
    return () => this.newOrderListeners.delete(listener);
  }

  /** Live streams end themselves when the gateway stops (otherwise the HTTP server waits for them). */
  onStreamsEnd(end: () => void): void {
    this.streamEnds.add(end);
  }

  offStreamsEnd(end: () => void): void {
    this.streamEnds.delete(end);
  }

  endStreams(): void {
    for (const end of [...this.streamEnds]) end();
    this.streamEnds.clear();
  }

  async stop(): Promise<void> {
    this.endStreams();
    await this.deps.orders.stop();
  }
}
