import type { Logger } from 'pino';
import type { UnitOfWork } from '../domain/ports/unit-of-work.js';
import type { KitchenChange, OrderQuery } from './kitchen.js';
import type { KitchenOrders, OrderChange } from './orders.js';
import { indexEntryOf, isPinned, type KitchenIndexEntry, type KitchenStore } from './store.js';
import { viewOf, type KitchenJournalEntry, type KitchenOrder } from './types.js';

const COMMIT_RETRY_MS = 1000;
/** Records of done and rejected orders kept in memory (most recently used); the rest is read from the store. */
const RECORDS_KEPT = 500;

/**
 * The orders of a data dir (lowdb, one process): every order indexed in memory, records of the
 * pinned ones and the most recently used others; changes are published to the live screens
 * once the data dir's group commit made them durable, in seq order.
 */
export class MemoryKitchenOrders implements KitchenOrders {
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
  private retryTimer: NodeJS.Timeout | null = null;
  private changing: Promise<unknown> = Promise.resolve();
  /** Seqs of changes handed to the store but not yet queued by it. */
  private readonly putting = new Set<number>();

  constructor(
    private readonly store: KitchenStore,
    /** The gateway's unit of work (its durable()): resolves once everything changed before the call is durable. */
    private readonly uow: Pick<UnitOfWork, 'durable'>,
    private readonly log: Logger,
  ) {}

  async open(): Promise<void> {
    await this.store.load((entry, order) => {
      this.index.set(entry.id, entry);
      if (order && isPinned(order)) this.records.set(order.id, order);
      this.lastId = Math.max(this.lastId, Number(entry.id));
      this.lastSeq = Math.max(this.lastSeq, entry.seq);
    });
    this.durableSeq = this.lastSeq;
  }

  async add(fields: Omit<KitchenOrder, 'id' | 'seq'>, journal: Omit<KitchenJournalEntry, 'orderId'>): Promise<KitchenOrder> {
    const order: KitchenOrder = { id: String(++this.lastId), seq: ++this.lastSeq, ...fields };
    this.store.journal({ ...journal, orderId: order.id });
    await this.stage(order);
    await this.persist();
    return order;
  }

  change(id: string, next: (current: KitchenOrder) => OrderChange | null): Promise<{ order: KitchenOrder; changed: boolean } | null> {
    // One change at a time (the chef's Done and a webhook's delivery must not overwrite each other).
    const run = this.changing.then(async () => {
      const current = await this.get(id);
      if (!current) return null;
      const decided = next(current);
      if (!decided) return { order: current, changed: false };
      const order = decided.shown ? { ...decided.order, seq: ++this.lastSeq } : decided.order;
      await this.stage(order);
      return { order, changed: true, shown: decided.shown };
    });
    this.changing = run.catch(() => undefined);
    return run.then(async (result) => {
      if (!result?.changed) return result;
      if (result.shown) await this.persist();
      else await this.uow.durable();
      return { order: result.order, changed: true };
    });
  }

  /** The latest record of an order (read from the store when not in memory). */
  async get(id: string): Promise<KitchenOrder | undefined> {
    if (!this.index.has(id)) return undefined;
    const cached = this.records.get(id);
    if (cached) return cached;
    const stored = await this.store.get(id);
    // A change may have been made meanwhile: the record in memory, if any, is newer.
    const now = this.records.get(id);
    if (now) return now;
    if (stored) this.remember(stored);
    return stored;
  }

  async list(q: OrderQuery): Promise<{ items: KitchenOrder[]; total: number }> {
    const matching = [...this.index.values()]
      .filter((o) => (q.state === 'all' || o.state === q.state) && (!q.from || o.receivedAt >= q.from) && (!q.to || o.receivedAt < q.to))
      .sort((a, b) => Number(b.id) - Number(a.id));
    const page = matching.slice(q.firstResult, q.firstResult + q.maxResults);
    const items = await Promise.all(page.map((e) => this.get(e.id)));
    return { items: items.filter((o): o is KitchenOrder => o !== undefined), total: matching.length };
  }

  async changes(since: number | null, recall: number): Promise<{ reset: boolean; changes: KitchenChange[] }> {
    // Everything up to here, no further: a change made while the records are read is published
    // after this call, so a stream subscribed before it gets that one live, in order.
    const upTo = this.durableSeq;
    const shown = [...this.index.values()].filter((o) => o.state !== 'rejected' && o.seq <= upTo);
    const reset = since === null || since > upTo;
    let picked: KitchenIndexEntry[];
    if (!reset) picked = shown.filter((o) => o.seq > since!);
    else {
      // A first connection, or an id from another database: the whole current picture.
      const done = shown
        .filter((o) => o.state === 'done')
        .sort((a, b) => b.seq - a.seq)
        .slice(0, recall);
      picked = [...shown.filter((o) => o.state === 'open'), ...done];
    }
    const orders = await Promise.all(picked.map((e) => this.get(e.id)));
    const changes = orders
      .filter((o): o is KitchenOrder => o !== undefined && o.seq <= upTo)
      .sort((a, b) => a.seq - b.seq)
      .map((o) => ({ seq: o.seq, order: viewOf(o) }));
    return { reset, changes };
  }

  async undelivered(): Promise<KitchenOrder[]> {
    return [...this.records.values()].filter((o) => (o.pendingHooks?.length ?? 0) > 0).sort((a, b) => Number(a.id) - Number(b.id));
  }

  subscribe(listener: (change: KitchenChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
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

  /** In memory and queued for the store's next commit. */
  private async stage(order: KitchenOrder): Promise<void> {
    const previous = this.index.get(order.id);
    this.index.set(order.id, indexEntryOf(order));
    this.remember(order);
    if (previous?.seq !== order.seq) this.unpublished.set(order.seq, order);
    this.putting.add(order.seq);
    try {
      await this.store.put(order);
    } finally {
      this.putting.delete(order.seq);
    }
  }

  /** Makes the changes durable; on failure keeps trying in the background (the changes stay queued in the store). */
  private async persist(): Promise<void> {
    // durable() covers what reached the store before it: not a change still on its way there.
    const upTo = this.putting.size > 0 ? Math.min(...this.putting) - 1 : this.lastSeq;
    try {
      await this.uow.durable();
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
      publishTo(this.listeners, { seq, order: viewOf(order) });
    }
  }
}

/** Tells every live screen; a broken one must not stop the others. */
export function publishTo(listeners: Iterable<(change: KitchenChange) => void>, change: KitchenChange): void {
  for (const l of listeners) {
    try {
      l(change);
    } catch {
      /* a broken screen must not stop the others */
    }
  }
}
