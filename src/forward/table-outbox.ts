import type { Logger } from 'pino';
import type { SalesLedger } from '../domain/ledger.js';
import type { Sale } from '../domain/types.js';
import type { GatewayEvents } from '../events.js';
import type { KitchenOrderView } from '../kitchen/types.js';
import type { OutboxStorage } from '../store/outbox-port.js';
import type { OutboxItem } from '../store/outbox-store.js';
import type { ClaimedItem, OutboxTable, OutboxTableSummary } from '../store/postgres/outbox-table.js';
import type { SaleRecord } from '../store/records.js';
import type { DeliveryOutcome, DeliveryTarget } from './delivery.js';
import {
  announceSettled, byDeadLetterTime, changeKind, deadLetterOf, kitchenDeadLetterItem, matchesLetter, quarantineItem,
  resetForRetry, saleChangeItem, settleItem, targetState, Waker, type QuarantineAdded,
} from './outbox-rules.js';
import type { DeadLetter, DeadLetterState, OutboxTargetState } from './status.js';

export interface TableOutboxDeps {
  /** Where new items go: the PostgreSQL outbox storage, in the sales store's commit rounds (durable with their sale). */
  store: OutboxStorage;
  /** Claims, settlements, dead letters and figures: straight on the table. */
  table: OutboxTable;
  ledger: SalesLedger;
  commit: () => Promise<void>;
  logger: Logger;
  events?: GatewayEvents;
  now?: () => Date;
  random?: () => number;
  /** How long a claim is this worker's: longer than a delivery can take (the targets' timeouts). */
  leaseMs: number;
  /** Items claimed at once per target (register heads, delivered side by side). */
  batch?: number;
  /** How often an idle worker looks for items other processes stored, and the figures are read again. */
  pollMs?: number;
}

interface Worker {
  target: DeliveryTarget;
  waker: Waker;
  running: Promise<void> | null;
  inFlight: Set<AbortController>;
}

const DURABLE_POLL_MS = 10;
const DURABLE_NUDGE_MS = 200;
const MIN_WAIT_MS = 10;

/**
 * The outbox on PostgreSQL: the table is the queue, and any process may deliver from it. A
 * worker per target claims the heads of the registers (FOR UPDATE SKIP LOCKED, with a lease),
 * delivers them, then deletes, reschedules or dead-letters each one only while the claim is still
 * its own: every item is with one worker at a time, and a killed worker's claims expire. Items
 * are added with their sale change in the store's commit round, so only durable ones are claimed.
 * The figures (API, status, metrics) are a snapshot of the table, read again after every change
 * made here and every pollMs; `refresh()` reads it at once.
 */
export class TableOutbox {
  private readonly workers = new Map<string, Worker>();
  /** Items added here whose commit round has not completed yet. */
  private readonly unwritten = new Map<OutboxItem, number>();
  private snapshot: { summary: OutboxTableSummary[]; dead: OutboxItem[] } = { summary: [], dead: [] };
  private refreshes = 0;
  private refreshTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  private readonly now: () => Date;
  private readonly random: () => number;
  private readonly batch: number;
  private readonly pollMs: number;

  constructor(private readonly deps: TableOutboxDeps) {
    this.now = deps.now ?? (() => new Date());
    this.random = deps.random ?? Math.random;
    this.batch = deps.batch ?? 16;
    this.pollMs = deps.pollMs ?? 1_000;
  }

  async open(targets: DeliveryTarget[]): Promise<{ loaded: number; dropped: number; recovered: number }> {
    const { table, logger } = this.deps;
    for (const target of targets) {
      this.workers.set(target.name, { target, waker: new Waker(), running: null, inFlight: new Set() });
      await this.deps.store.prepare(target.name);
    }
    for (const t of targets) for (const former of t.formerNames ?? []) await table.rename(former, t.name);
    for (const [target, items] of await table.orphans(targets.map((t) => t.name))) {
      logger.warn({ target, items }, 'the outbox holds items for a target that is no longer configured; they are kept in the database');
    }
    await this.refresh();
    const loaded = this.snapshot.summary.filter((s) => this.workers.has(s.target)).reduce((n, s) => n + s.depth, 0);
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
    const items = [...this.workers.values()].filter((w) => w.target.accepts(kind)).map((w) => saleChangeItem(w.target.name, record, previous, now));
    return () => {
      for (const item of items) this.add(item);
    };
  }

  onQuarantineAdded(q: QuarantineAdded): void {
    const now = this.now().toISOString();
    for (const w of this.workers.values()) {
      if (w.target.accepts('quarantine.added')) this.add(quarantineItem(w.target.name, q, this.deps.ledger.salesSeq, now));
    }
  }

  /** A kitchen order a webhook refused for good, kept as its dead letter (see Outbox.addKitchenDeadLetter). */
  async addKitchenDeadLetter(target: string, order: KitchenOrderView, dead: NonNullable<OutboxItem['dead']>, attempts: number): Promise<boolean> {
    if (!this.workers.has(target)) return false;
    const item = kitchenDeadLetterItem(target, order, dead, attempts, this.deps.ledger.salesSeq, this.now().toISOString());
    if ((await this.deps.table.deadLettersMatching(item.key, target)).length > 0) return true;
    this.deps.store.add(item);
    await this.deps.commit();
    this.deps.events?.emit('outbox.deadletter', { target, identifier: item.key, attempts, error: item.dead!.error });
    await this.refresh();
    return true;
  }

  start(): void {
    for (const w of this.workers.values()) w.running ??= this.run(w);
    this.refreshTimer ??= setInterval(() => void this.refresh().catch(() => undefined), this.pollMs);
    this.refreshTimer.unref();
  }

  /** Lets the current deliveries finish (up to graceMs, then aborts them and gives their claims back), stops the workers. */
  async stop(graceMs = 2_000): Promise<void> {
    this.stopping = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = null;
    for (const w of this.workers.values()) w.waker.wake();
    const abort = setTimeout(() => { for (const w of this.workers.values()) for (const c of w.inFlight) c.abort(); }, graceMs);
    await Promise.all([...this.workers.values()].map((w) => w.running));
    clearTimeout(abort);
    for (const w of this.workers.values()) w.target.close();
    await this.deps.commit().catch((err) => this.deps.logger.error({ err }, 'outbox: could not write its items while stopping'));
  }

  /** Reads the figures and dead letters from the table again (a request that shows them awaits this first). */
  async refresh(): Promise<void> {
    const n = ++this.refreshes;
    const [summary, dead] = await Promise.all([this.deps.table.summary(), this.deps.table.deadLetters()]);
    // A slower earlier read never replaces a later one.
    if (n === this.refreshes) this.snapshot = { summary, dead };
  }

  targets(): OutboxTargetState[] {
    const now = this.now().getTime();
    return [...this.workers.keys()].map((name) => {
      const queues = this.snapshot.summary.filter((s) => s.target === name);
      return targetState(name, queues, queues.reduce((n, s) => n + s.deadLetters, 0), now);
    });
  }

  deadLetters(state: DeadLetterState | 'all' = 'open'): DeadLetter[] {
    return this.snapshot.dead
      .filter((i) => this.workers.has(i.target) && (state === 'all' || (state === 'dismissed') === (i.dismissed !== undefined)))
      .map(deadLetterOf).sort(byDeadLetterTime);
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
      const w = this.workers.get(row.item.target);
      if (!w) continue;
      resetForRetry(row.item, opts.method);
      if (await this.deps.table.requeue(row, row.item)) n++;
      w.waker.wake();
    }
    await this.refresh();
    return n;
  }

  /** Moves the open dead letters of a sale or change to the dismissed ones, with the reason; how many. */
  async dismissDeadLetters(match: string, reason: string, by: string, target?: string): Promise<number> {
    let n = 0;
    const at = this.now().toISOString();
    for (const row of await this.deps.table.deadLettersMatching(match, target, { openOnly: true })) {
      if (!this.workers.has(row.item.target)) continue;
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
    this.workers.get(item.target)?.waker.wake();
  }

  private async run(w: Worker): Promise<void> {
    const { table, logger } = this.deps;
    let failing = false;
    while (!this.stopping) {
      let claimed: ClaimedItem[];
      try {
        claimed = await table.claim(w.target.name, this.batch, this.deps.leaseMs);
        if (claimed.length === 0) await w.waker.wait(await this.idleMs(w));
        failing = false;
      } catch (err) {
        if (!failing) logger.warn({ err, target: w.target.name }, 'outbox: cannot claim items (database unreachable?); trying again');
        failing = true;
        await w.waker.wait(this.pollMs);
        continue;
      }
      // Heads of different registers: side by side, each within its lease.
      await Promise.all(claimed.map((c) => this.deliver(w, c)));
      if (claimed.length > 0) void this.refresh().catch(() => undefined);
    }
  }

  /** How long an idle worker sleeps: shortly while an item added here is on its way to the table, else until the next head is due. */
  private async idleMs(w: Worker): Promise<number> {
    for (const [item, at] of this.unwritten) {
      if (this.deps.store.isWritten(item)) this.unwritten.delete(item);
      // Normally the request that added it commits; nudge in case nobody does.
      else if (Date.now() - at > DURABLE_NUDGE_MS) void this.deps.commit().catch(() => undefined);
    }
    if ([...this.unwritten.keys()].some((i) => i.target === w.target.name)) return DURABLE_POLL_MS;
    const wait = await this.deps.table.waitMs(w.target.name);
    return wait === null ? this.pollMs : Math.min(Math.max(wait, MIN_WAIT_MS), this.pollMs);
  }

  private async deliver(w: Worker, claim: ClaimedItem): Promise<void> {
    const { table, logger } = this.deps;
    const { item } = claim;
    const target = w.target.name;
    const controller = new AbortController();
    w.inFlight.add(controller);
    let outcome: DeliveryOutcome;
    try {
      outcome = await w.target.deliver(item, controller.signal);
    } catch (err) {
      outcome = { verdict: 'retry', status: null, error: (err as Error)?.message ?? String(err), notBefore: null, counts: true };
    } finally {
      w.inFlight.delete(controller);
    }
    try {
      if (controller.signal.aborted && outcome.verdict !== 'delivered') {
        await table.release(claim);
        return;
      }
      const settled = settleItem(item, outcome, { now: this.now(), retryCapMs: w.target.retryCapMs, random: this.random });
      const held = settled.verdict === 'delivered' ? await table.delivered(claim)
        : settled.verdict === 'dead' ? await table.deadLettered(claim, item) : await table.attempted(claim, item);
      if (!held) {
        logger.warn({ target, key: item.key, verdict: settled.verdict }, 'outbox: the claim expired before the attempt was recorded; the worker that holds the item now settles it');
        return;
      }
      announceSettled(this.deps, target, item, settled, outcome.status);
    } catch (err) {
      // The lease runs out and the item is claimed again: at least once, never lost.
      logger.warn({ err, target, key: item.key }, 'outbox: could not record a delivery attempt; the item is attempted again once its claim expires');
    }
  }
}
