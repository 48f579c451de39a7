import type { Logger } from 'pino';
import type { UnitOfWork } from '../domain/ports/unit-of-work.js';
import type { GatewayEvents } from '../events.js';
import { decodeMessage, parseOrder } from './message.js';
import { indexEntryOf, isPinned, type KitchenIndexEntry, type KitchenStore } from './store.js';
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
  store: KitchenStore;
  /** The gateway's unit of work (its durable()): resolves once everything changed before the call is durable. */
  uow: Pick<UnitOfWork, 'durable'>;
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

const COMMIT_RETRY_MS = 1000;
/** Bytes of a rejected message kept in its record (and shown by the API); the journal has them all. */
export const RAW_KEPT = 4096;
/** Records of done and rejected orders kept in memory (most recently used); the rest is read from the store. */
const RECORDS_KEPT = 500;

/**
 * The kitchen display: every message received on the kitchen port is stored (an order `open`,
 * anything else `rejected`), orders are marked done and reopened, and the live screens are told
 * about every change once it is durable, in change order (seq), so that a screen reconnecting
 * with its last seq misses nothing and sees nothing twice.
 */
export class Kitchen {
  /** Every order, compactly: what filtering, paging and the live screens' catch-up need. */
  private readonly index = new Map<string, KitchenIndexEntry>();
  /** Whole records: every pinned one (open, owed to a webhook), plus the most recently used others. */
  private readonly records = new Map<string, KitchenOrder>();
  private lastId = 0;
  private lastSeq = 0;
  /** Changes made but not yet known durable, by seq. */
  private readonly unpublished = new Map<number, KitchenOrder>();
  private durableSeq = 0;
  private readonly listeners = new Set<(change: KitchenChange) => void>();
  private readonly newOrderListeners = new Set<(order: KitchenOrder) => void>();
  private retryTimer: NodeJS.Timeout | null = null;
  private changing: Promise<unknown> = Promise.resolve();
  /** Seqs of changes handed to the store but not yet queued by it. */
  private readonly putting = new Set<number>();
  private readonly streamEnds = new Set<() => void>();
  private readonly log: Logger;

  constructor(private readonly deps: KitchenDeps) {
    this.log = deps.logger.child({ component: 'kitchen' });
  }

  async open(): Promise<void> {
    await this.deps.store.load((entry, order) => {
      this.index.set(entry.id, entry);
      if (order && isPinned(order)) this.records.set(order.id, order);
      this.lastId = Math.max(this.lastId, Number(entry.id));
      this.lastSeq = Math.max(this.lastSeq, entry.seq);
    });
    this.durableSeq = this.lastSeq;
  }

  get size(): number {
    return this.index.size;
  }

  /** Orders whose webhook delivery was not finished before the last stop. */
  undelivered(): KitchenOrder[] {
    return [...this.records.values()].filter((o) => (o.pendingHooks?.length ?? 0) > 0).sort((a, b) => Number(a.id) - Number(b.id));
  }

  /** Journals and stores one message; resolves once both are durable (or, on a storage failure, once that is logged). */
  async receive(msg: ReceivedMessage): Promise<KitchenOrder> {
    const id = String(++this.lastId);
    const at = msg.at.toISOString();
    const order: KitchenOrder = { id, seq: ++this.lastSeq, receivedAt: at, source: msg.source, state: 'rejected', table: null, positions: [] };
    // The journal keeps every byte; the record keeps the first RAW_KEPT (records stay small in chunks and memory).
    const kept = msg.bytes.subarray(0, RAW_KEPT);
    const rejectWith = (code: RejectCode, reason: string, truncated: boolean) => {
      order.reject = { code, reason, bytes: msg.bytes.length, raw: kept.toString('base64'), truncated: truncated || kept.length < msg.bytes.length };
    };
    const { text, encoding } = decodeMessage(msg.bytes);
    // A cut connection (no clean end) that still delivered one whole valid JSON order loses nothing by it.
    const parsed = !msg.problem || msg.problem.code === 'interrupted' ? parseOrder(text) : null;
    if (parsed?.ok) {
      order.state = 'open';
      order.table = parsed.table;
      order.positions = parsed.positions;
      order.encoding = encoding;
      if (this.deps.hookTargets.length > 0) order.pendingHooks = [...this.deps.hookTargets];
    } else if (msg.problem) {
      rejectWith(msg.problem.code, msg.problem.reason, msg.problem.truncated ?? false);
    } else {
      order.encoding = encoding;
      rejectWith('invalid', parsed!.ok ? '' : parsed!.reason, false);
    }
    this.deps.store.journal({ at, source: msg.source, orderId: id, bytes: msg.bytes.length, raw: msg.bytes.toString('base64') });
    await this.save(order);
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
    const changed = await this.change(id, (current) => {
      if (current.state === 'rejected')
        throw new NotAnOrderError(`kitchen message ${id} was rejected (${current.reject?.reason ?? 'not an order'}); it cannot be marked ${state}`);
      if (current.state === state) return null;
      const next: KitchenOrder = { ...current, state, seq: ++this.lastSeq };
      if (state === 'done') next.doneAt = this.deps.now().toISOString();
      else delete next.doneAt;
      return next;
    });
    if (!changed) return null;
    if (changed.changed) {
      await this.persist();
      this.log.info({ event: `kitchen.${state === 'done' ? 'done' : 'reopened'}`, id }, `kitchen order ${id} ${state === 'done' ? 'done' : 'reopened'}`);
    }
    return viewOf(changed.order);
  }

  /** Webhook delivery finished (delivered or given up) for `target`. */
  async hookFinished(id: string, target: string): Promise<void> {
    // Not a change the screens need to see: same seq.
    const changed = await this.change(id, (current) =>
      current.pendingHooks?.includes(target) ? { ...current, pendingHooks: current.pendingHooks.filter((t) => t !== target) } : null,
    );
    if (changed?.changed) await this.deps.uow.durable();
  }

  /**
   * Read, change, write one order, one change at a time (the chef's Done and a webhook's
   * delivery must not overwrite each other); the caller makes it durable. null: no such order.
   */
  private change(id: string, next: (current: KitchenOrder) => KitchenOrder | null): Promise<{ order: KitchenOrder; changed: boolean } | null> {
    const run = this.changing.then(async () => {
      const current = await this.get(id);
      if (!current) return null;
      const order = next(current);
      if (!order) return { order: current, changed: false };
      await this.stage(order);
      return { order, changed: true };
    });
    this.changing = run.catch(() => undefined);
    return run;
  }

  /** The latest record of an order (read from the store when not in memory). */
  async get(id: string): Promise<KitchenOrder | undefined> {
    if (!this.index.has(id)) return undefined;
    const cached = this.records.get(id);
    if (cached) return cached;
    const stored = await this.deps.store.get(id);
    // A change may have been made meanwhile: the record in memory, if any, is newer.
    const now = this.records.get(id);
    if (now) return now;
    if (stored) this.remember(stored);
    return stored;
  }

  async view(id: string): Promise<KitchenOrderView | undefined> {
    const order = await this.get(id);
    return order && viewOf(order);
  }

  /** Newest first. `from` inclusive, `to` exclusive (received time). */
  async list(q: OrderQuery): Promise<{ items: KitchenOrderView[]; total: number }> {
    const matching = [...this.index.values()]
      .filter((o) => (q.state === 'all' || o.state === q.state) && (!q.from || o.receivedAt >= q.from) && (!q.to || o.receivedAt < q.to))
      .sort((a, b) => Number(b.id) - Number(a.id));
    const page = matching.slice(q.firstResult, q.firstResult + q.maxResults);
    const items = await Promise.all(page.map((e) => this.get(e.id)));
    return { items: items.filter((o): o is KitchenOrder => o !== undefined).map(viewOf), total: matching.length };
  }

  /**
   * What a screen needs, oldest change first: after `since` (a reconnecting screen's last event
   * id) every durable change of an order; with no `since`, the open orders and the last done ones.
   * Subscribe first, then call this: together they miss nothing and repeat nothing.
   */
  async changes(since: number | null): Promise<KitchenChange[]> {
    // Everything up to here, no further: a change made while the records are read is published
    // after this call, so a stream subscribed before it gets that one live, in order.
    const upTo = this.durableSeq;
    const shown = [...this.index.values()].filter((o) => o.state !== 'rejected' && o.seq <= upTo);
    let picked: KitchenIndexEntry[];
    if (since !== null && since <= upTo) picked = shown.filter((o) => o.seq > since);
    else {
      // A first connection, or an id from another database: the whole current picture.
      const done = shown
        .filter((o) => o.state === 'done')
        .sort((a, b) => b.seq - a.seq)
        .slice(0, this.deps.recall);
      picked = [...shown.filter((o) => o.state === 'open'), ...done];
    }
    const orders = await Promise.all(picked.map((e) => this.get(e.id)));
    return orders
      .filter((o): o is KitchenOrder => o !== undefined && o.seq <= upTo)
      .sort((a, b) => a.seq - b.seq)
      .map((o) => ({ seq: o.seq, order: viewOf(o) }));
  }

  get currentSeq(): number {
    return this.durableSeq;
  }

  subscribe(listener: (change: KitchenChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onNewOrder(listener: (order: KitchenOrder) => void): void {
    this.newOrderListeners.add(listener);
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

  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.endStreams();
    this.listeners.clear();
  }

  /** Keeps a record in memory: pinned ones always, others in a bounded most-recently-used set. */
  private remember(order: KitchenOrder): void {
    this.records.delete(order.id);
    this.records.set(order.id, order);
    let unpinned = 0;
    for (const o of this.records.values()) if (!isPinned(o)) unpinned++;
    if (unpinned <= RECORDS_KEPT) return;
    for (const [id, o] of this.records) {
      if (unpinned <= RECORDS_KEPT) return;
      if (!isPinned(o)) {
        this.records.delete(id);
        unpinned--;
      }
    }
  }

  private async save(order: KitchenOrder): Promise<void> {
    await this.stage(order);
    await this.persist();
  }

  /** In memory and queued for the store's next commit. */
  private async stage(order: KitchenOrder): Promise<void> {
    const previous = this.index.get(order.id);
    this.index.set(order.id, indexEntryOf(order));
    this.remember(order);
    if (previous?.seq !== order.seq) this.unpublished.set(order.seq, order);
    this.putting.add(order.seq);
    try {
      await this.deps.store.put(order);
    } finally {
      this.putting.delete(order.seq);
    }
  }

  /** Makes the changes durable; on failure keeps trying in the background (the changes stay queued in the store). */
  private async persist(): Promise<void> {
    // durable() covers what reached the store before it: not a change still on its way there.
    const upTo = this.putting.size > 0 ? Math.min(...this.putting) - 1 : this.lastSeq;
    try {
      await this.deps.uow.durable();
    } catch (err) {
      this.log.error({ err }, 'could not store kitchen orders; retrying');
      this.retryTimer ??= setTimeout(() => {
        this.retryTimer = null;
        void this.persist();
      }, COMMIT_RETRY_MS);
      return;
    }
    this.publish(upTo);
  }

  private publish(upTo: number): void {
    this.durableSeq = Math.max(this.durableSeq, upTo);
    const ready = [...this.unpublished.keys()].filter((s) => s <= this.durableSeq).sort((a, b) => a - b);
    for (const seq of ready) {
      const order = this.unpublished.get(seq)!;
      this.unpublished.delete(seq);
      if (order.state === 'rejected') continue;
      // A later durable change of the same order supersedes this one (the screens get that one).
      const latest = this.index.get(order.id)!.seq;
      if (latest !== seq && latest <= this.durableSeq) continue;
      const change = { seq, order: viewOf(order) };
      for (const l of this.listeners) {
        try {
          l(change);
        } catch {
          /* a broken screen must not stop the others */
        }
      }
    }
  }
}
