import type { Sale } from '../domain/types.js';
import type { KitchenOrderView } from '../kitchen/types.js';
import type { OutboxItem } from '../store/outbox-store.js';
import type { OutboxTable, OutboxTableSummary } from '../store/postgres/outbox-table.js';
import type { SaleRecord } from '../store/records.js';
import { ClaimWorkers } from './claim-workers.js';
import type { OutboxDeps } from './outbox.js';
import type { DeliveryTarget } from './delivery.js';
import {
  byDeadLetterTime,
  changeKind,
  deadLetterOf,
  kitchenDeadLetterItem,
  matchesLetter,
  quarantineItem,
  resetForRetry,
  saleChangeItem,
  targetState,
  type QuarantineAdded,
} from './outbox-rules.js';
import type { DeadLetter, DeadLetterState, OutboxTargetState } from './status.js';

/** The file outbox's dependencies (`store`: where new items go, in the sales store's commit rounds), plus the table's. */
export interface TableOutboxDeps extends OutboxDeps {
  /** Claims, settlements, dead letters and figures: straight on the table. */
  table: OutboxTable;
  /** How long a claim is this process's: longer than a delivery can take (the targets' timeouts). */
  leaseMs: number;
  batch?: number;
  /** How often idle workers look for items other processes stored, and the figures are read again. */
  pollMs?: number;
  /** The database to LISTEN on for items other processes add (see ClaimWorkersDeps.notifyUrl). */
  notifyUrl?: string;
}

const DURABLE_POLL_MS = 10;
const DURABLE_NUDGE_MS = 200;
const REFRESH_SOON_MS = 50;

/**
 * The outbox on PostgreSQL: the table is the queue, and any process may deliver from it
 * (ClaimWorkers: claims with a lease, settlements only while the claim is held). Items are added
 * with their sale change in the store's commit round, so only durable ones are ever claimed.
 * The figures (API, status, metrics) are a snapshot of the table, read again after every change
 * made here and every pollMs; `refresh()` reads it at once.
 */
export class TableOutbox {
  private readonly targetsByName = new Map<string, DeliveryTarget>();
  private workers: ClaimWorkers | null = null;
  /** Items added here whose commit round has not completed yet. */
  private readonly unwritten = new Map<OutboxItem, number>();
  private snapshot: { summary: OutboxTableSummary[]; dead: OutboxItem[] } = { summary: [], dead: [] };
  private refreshes = 0;
  private refreshTimer: NodeJS.Timeout | null = null;
  private nudgedAt = 0;
  private soon: NodeJS.Timeout | null = null;
  private readonly now: () => Date;
  private readonly pollMs: number;

  constructor(private readonly deps: TableOutboxDeps) {
    this.now = deps.now ?? (() => new Date());
    this.pollMs = deps.pollMs ?? 1_000;
  }

  async open(targets: DeliveryTarget[]): Promise<{ loaded: number; dropped: number; recovered: number }> {
    const { table, logger } = this.deps;
    for (const target of targets) {
      this.targetsByName.set(target.name, target);
      await this.deps.store.prepare(target.name);
    }
    this.workers = new ClaimWorkers(targets, {
      ...this.deps,
      pollMs: this.pollMs,
      pendingHere: (target) => this.pendingHere(target),
      onSettled: () => this.refreshSoon(),
    });
    for (const t of targets) for (const former of t.formerNames ?? []) await table.rename(former, t.name);
    for (const [target, items] of await table.orphans(targets.map((t) => t.name))) {
      logger.warn({ target, items }, 'the outbox holds items for a target that is no longer configured; they are kept in the database');
    }
    await this.refresh();
    const loaded = this.snapshot.summary.filter((s) => this.targetsByName.has(s.target)).reduce((n, s) => n + s.depth, 0);
    return { loaded, dropped: 0, recovered: 0 };
  }

  /** Both steps at once (a ledger's afterStore hook, for tests that wire the outbox by hand). */
  onSaleStored(record: SaleRecord, previous: SaleRecord | undefined): void {
    this.prepareSaleStored(record, previous)();
  }

  /** The ledger's prepare hook: the items are built now and added once the sale change is stored, before its commit. */
  prepareSaleStored(record: SaleRecord, previous: SaleRecord | undefined): () => void {
    const kind = changeKind(previous?.sale.status ?? null, record.sale.status);
    const now = this.now().toISOString();
    const items = [...this.targetsByName.values()].filter((t) => t.accepts(kind)).map((t) => saleChangeItem(t.name, record, previous, now));
    return () => {
      for (const item of items) this.add(item);
    };
  }

  onQuarantineAdded(q: QuarantineAdded): void {
    const now = this.now().toISOString();
    for (const t of this.targetsByName.values()) {
      if (t.accepts('quarantine.added')) this.add(quarantineItem(t.name, q, this.deps.ledger.salesSeq, now));
    }
  }

  /** A kitchen order a webhook refused for good, kept as its dead letter (see Outbox.addKitchenDeadLetter). */
  async addKitchenDeadLetter(target: string, order: KitchenOrderView, dead: NonNullable<OutboxItem['dead']>, attempts: number): Promise<boolean> {
    if (!this.targetsByName.has(target)) return false;
    const item = kitchenDeadLetterItem(target, order, dead, attempts, this.deps.ledger.salesSeq, this.now().toISOString());
    if ((await this.deps.table.deadLettersMatching(item.key, target)).length > 0) return true;
    this.deps.store.add(item);
    await this.deps.commit();
    this.deps.events?.emit('outbox.deadletter', { target, identifier: item.key, attempts, error: item.dead!.error });
    await this.refresh();
    return true;
  }

  start(): void {
    this.workers?.start();
    this.refreshTimer ??= setInterval(() => void this.refresh().catch(() => undefined), this.pollMs);
    this.refreshTimer.unref();
  }

  /** Lets the current deliveries finish (up to graceMs, then aborts them and gives their claims back), stops the workers. */
  async stop(graceMs = 2_000): Promise<void> {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = null;
    if (this.soon) clearTimeout(this.soon);
    this.soon = null;
    await this.workers?.stop(graceMs);
    for (const t of this.targetsByName.values()) t.close();
    await this.deps.commit().catch((err) => this.deps.logger.error({ err }, 'outbox: could not write its items while stopping'));
  }

  /** Reads the figures and dead letters from the table again (a request that shows them awaits this first). */
  async refresh(): Promise<void> {
    const n = ++this.refreshes;
    const [summary, dead] = await Promise.all([this.deps.table.summary(), this.deps.table.deadLetters()]);
    // A slower earlier read never replaces a later one.
    if (n === this.refreshes) this.snapshot = { summary, dead };
  }

  /** After deliveries: one read of the figures for all that settle within a moment. */
  private refreshSoon(): void {
    this.soon ??= setTimeout(() => {
      this.soon = null;
      void this.refresh().catch(() => undefined);
    }, REFRESH_SOON_MS);
    this.soon.unref();
  }

  targets(): OutboxTargetState[] {
    const now = this.now().getTime();
    return [...this.targetsByName.keys()].map((name) => {
      const queues = this.snapshot.summary.filter((s) => s.target === name);
      return targetState(
        name,
        queues,
        queues.reduce((n, s) => n + s.deadLetters, 0),
        now,
      );
    });
  }

  deadLetters(state: DeadLetterState | 'all' = 'open'): DeadLetter[] {
    return this.snapshot.dead
      .filter((i) => this.targetsByName.has(i.target) && (state === 'all' || (state === 'dismissed') === (i.dismissed !== undefined)))
      .map(deadLetterOf)
      .sort(byDeadLetterTime);
  }

  hasDismissed(match: string): boolean {
    return this.snapshot.dead.some((i) => i.dismissed !== undefined && matchesLetter(i, match));
  }

  /** The sale changes upstream has not acknowledged: in the table, or added here and not committed yet. */
  async saleItemsOf(target: string): Promise<(OutboxItem & { sale: Sale })[]> {
    const local = [...this.unwritten.keys()].filter((i) => i.target === target);
    const stored = await this.deps.table.saleItems(target);
    return [...local, ...stored].filter((i): i is OutboxItem & { sale: Sale } => i.sale !== undefined);
  }

  /** Puts the dead letters (open or dismissed) of a sale or change back in their queues; how many. */
  async retryDeadLetters(match: string, target?: string, opts: { method?: 'PUT' } = {}): Promise<number> {
    let n = 0;
    for (const row of await this.deps.table.deadLettersMatching(match, target)) {
      if (!this.targetsByName.has(row.item.target)) continue;
      resetForRetry(row.item, opts.method);
      if (await this.deps.table.requeue(row, row.item)) n++;
      this.workers?.wake(row.item.target);
    }
    await this.refresh();
    return n;
  }

  /** Moves the open dead letters of a sale or change to the dismissed ones, with the reason; how many. */
  async dismissDeadLetters(match: string, reason: string, by: string, target?: string): Promise<number> {
    let n = 0;
    const at = this.now().toISOString();
    for (const row of await this.deps.table.deadLettersMatching(match, target, { openOnly: true })) {
      if (!this.targetsByName.has(row.item.target)) continue;
      row.item.dismissed = { at, by, reason };
      if (await this.deps.table.dismiss(row, row.item)) n++;
    }
    await this.refresh();
    return n;
  }

  // ---- internals ----

  private add(item: OutboxItem): void {
    this.deps.store.add(item);
    this.unwritten.set(item, Date.now());
    this.workers?.wake(item.target);
  }

  /** While an item added here is not committed yet, its target's worker looks again shortly (the item is not in the table yet). */
  private pendingHere(target: string): number | null {
    let stale = false;
    for (const [item, at] of this.unwritten) {
      if (this.deps.store.isWritten(item)) this.unwritten.delete(item);
      else if (Date.now() - at > DURABLE_NUDGE_MS) stale = true;
    }
    // Normally the request that added it commits; nudge (now and then) in case nobody does.
    if (stale && Date.now() - this.nudgedAt > DURABLE_NUDGE_MS) {
      this.nudgedAt = Date.now();
      void this.deps.commit().catch(() => undefined);
    }
    return [...this.unwritten.keys()].some((i) => i.target === target) ? DURABLE_POLL_MS : null;
  }
}
