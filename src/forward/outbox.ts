import type { Logger } from 'pino';
import type { SalesLedger } from '../domain/ledger.js';
import type { Sale, SaleStatus } from '../domain/types.js';
import type { GatewayEvents } from '../events.js';
import type { OutboxStorage } from '../store/outbox-port.js';
import type { OutboxItem, TargetMark } from '../store/outbox-store.js';
import type { SaleRecord } from '../store/records.js';
import type { DeliveryOutcome, DeliveryTarget } from './delivery.js';
import type { DeadLetter, DeadLetterState, OutboxTargetState } from './status.js';
import type { KitchenOrderView } from '../kitchen/types.js';
import {
  announceSettled,
  byDeadLetterTime,
  changeKind,
  deadLetterOf,
  itemKey,
  kitchenDeadLetterItem,
  matchesLetter,
  quarantineItem,
  resetForRetry,
  saleChangeItem,
  settleItem,
  targetState,
  Waker,
  type QuarantineAdded,
} from './outbox-rules.js';

export { changeKind, itemKey } from './outbox-rules.js';

interface Queue {
  target: DeliveryTarget;
  /** Pending items per register, oldest change first: delivered strictly in this order. */
  registers: Map<string, OutboxItem[]>;
  /** Open dead letters (they need a person). */
  dead: OutboxItem[];
  /** Dead letters an admin dismissed: kept, not counted. */
  dismissed: OutboxItem[];
  keys: Set<string>;
  waker: Waker;
  running: Promise<void> | null;
  inFlight: AbortController | null;
}

export interface OutboxDeps {
  store: OutboxStorage;
  ledger: SalesLedger;
  /** The store's group commit. */
  commit: () => Promise<void>;
  logger: Logger;
  events?: GatewayEvents;
  now?: () => Date;
  random?: () => number;
}

const DURABLE_POLL_MS = 10;
const DURABLE_NUDGE_MS = 200;

/**
 * The durable outbox: one queue per target, fed by the ledger's afterStore hook so an item is
 * written in the same commit round as its sale change. A worker per target delivers in order
 * per register, only once the item is on disk, with backoff + jitter; refused items become
 * dead letters. Start-up rebuilds anything a crash lost between files from the stored sales.
 */
export class Outbox {
  private readonly queues = new Map<string, Queue>();
  private readonly awaitingCommit = new Set<OutboxItem>();
  private readonly orphans = new Map<string, number>();
  private seenSeq = 0;
  private stopping = false;
  private commitTimer: NodeJS.Timeout | null = null;
  private readonly now: () => Date;
  private readonly random: () => number;

  constructor(private readonly deps: OutboxDeps) {
    this.now = deps.now ?? (() => new Date());
    this.random = deps.random ?? Math.random;
  }

  /** Loads stored items, drops those whose sale change never became durable, re-enqueues what a crash lost. */
  async open(targets: DeliveryTarget[]): Promise<{ loaded: number; dropped: number; recovered: number }> {
    const { store, ledger } = this.deps;
    this.seenSeq = ledger.salesSeq;
    for (const target of targets) {
      this.queues.set(target.name, {
        target,
        registers: new Map(),
        dead: [],
        dismissed: [],
        keys: new Set(),
        waker: new Waker(),
        running: null,
        inFlight: null,
      });
      await store.prepare(target.name);
    }
    let loaded = 0;
    let dropped = 0;
    const renamed = await this.renameFormerTargets(targets);
    for (const item of renamed.items) {
      if (typeof item?.target !== 'string' || typeof item.identifier !== 'string' || typeof item.key !== 'string' || !Number.isSafeInteger(item.seq)) {
        // Loading never fails on a record: a damaged item stays on disk, unused.
        this.deps.logger.error({ item: typeof item?.key === 'string' ? item.key : null }, 'outbox: a stored item could not be loaded (damaged); it is skipped');
        continue;
      }
      const q = this.queues.get(item.target);
      if (!q) {
        this.orphans.set(item.target, (this.orphans.get(item.target) ?? 0) + 1);
        continue;
      }
      const entry = item.kind === 'quarantine.added' || item.kind === 'kitchen.order' ? { seq: item.seq } : await ledger.entry(item.identifier);
      if (!entry || item.seq > entry.seq || q.keys.has(item.key)) {
        store.remove(item);
        dropped++;
        continue;
      }
      this.place(q, item);
      loaded++;
    }
    for (const q of this.queues.values()) for (const list of q.registers.values()) list.sort((a, b) => a.seq - b.seq);
    let marksChanged = renamed.changed;
    for (const q of this.queues.values()) {
      const marks = store.state.targets;
      const mark = marks[q.target.name];
      if (mark) marksChanged = clampMark(mark, this.seenSeq) || marksChanged;
      else {
        // A new target starts with the sales stored from now on, not the whole history.
        marks[q.target.name] = { baseline: this.seenSeq, registers: {} };
        marksChanged = true;
      }
    }
    const recovered = await this.recover();
    if (marksChanged) store.saveState();
    if (dropped + recovered > 0 || marksChanged) await this.deps.commit();
    for (const [target, count] of this.orphans) {
      this.deps.logger.warn({ target, items: count }, 'the outbox holds items for a target that is no longer configured; they are kept on disk');
    }
    if (recovered > 0) this.deps.logger.warn({ recovered }, 'outbox: re-enqueued sale changes whose outbox entry was lost (crash between files)');
    return { loaded, dropped, recovered };
  }

  /**
   * Items and marks stored under a target's former name (earlier versions named a webhook by its
   * full URL, secrets included) move to its current name; their files are rewritten at the next commit.
   */
  private async renameFormerTargets(targets: DeliveryTarget[]): Promise<{ items: OutboxItem[]; changed: boolean }> {
    const { store } = this.deps;
    const current = new Map<string, string>();
    for (const t of targets) for (const former of t.formerNames ?? []) current.set(former, t.name);
    const items = await store.load();
    let changed = false;
    for (const item of items) {
      const name = typeof item?.target === 'string' ? current.get(item.target) : undefined;
      if (name === undefined) continue;
      store.remove(item);
      item.target = name;
      store.add(item);
      changed = true;
    }
    const marks = store.state.targets;
    for (const [former, name] of current) {
      if (!marks[former]) continue;
      marks[name] ??= marks[former];
      delete marks[former];
      changed = true;
    }
    return { items, changed };
  }

  /** Both steps at once (a ledger's afterStore hook, for tests that wire the outbox by hand). */
  onSaleStored(record: SaleRecord, previous: SaleRecord | undefined): void {
    this.prepareSaleStored(record, previous)();
  }

  /**
   * The ledger's prepare hook: builds the sale change's items before the sale is stored (a copy
   * that cannot be made fails the change while nothing is stored yet); the returned step enqueues
   * them once it is, inside the same serialised step, before its commit.
   */
  prepareSaleStored(record: SaleRecord, previous: SaleRecord | undefined): () => void {
    const change = record.history[record.history.length - 1];
    const kind = changeKind(previous?.sale.status ?? null, record.sale.status);
    const now = this.now().toISOString();
    const items: [Queue, OutboxItem][] = [];
    for (const q of this.queues.values()) {
      if (q.target.accepts(kind)) items.push([q, saleChangeItem(q.target.name, record, previous, now)]);
    }
    return () => {
      for (const [q, item] of items) {
        if (q.keys.has(item.key)) continue;
        this.place(q, item);
        this.deps.store.add(item);
        this.awaitingCommit.add(item);
        q.waker.wake();
      }
      if (change.seq > this.seenSeq) this.seenSeq = change.seq;
    };
  }

  start(): void {
    for (const q of this.queues.values()) q.running ??= this.run(q);
  }

  /** Lets the current deliveries finish (up to graceMs, then aborts them), stops the workers, writes what is pending. */
  async stop(graceMs = 2_000): Promise<void> {
    this.stopping = true;
    for (const q of this.queues.values()) q.waker.wake();
    const abort = setTimeout(() => {
      for (const q of this.queues.values()) q.inFlight?.abort();
    }, graceMs);
    await Promise.all([...this.queues.values()].map((q) => q.running));
    clearTimeout(abort);
    if (this.commitTimer) clearTimeout(this.commitTimer);
    this.commitTimer = null;
    for (const q of this.queues.values()) q.target.close();
    await this.deps.commit().catch((err) => this.deps.logger.error({ err }, 'outbox: could not write its state while stopping'));
  }

  /** Pending items and dead letters of one target. */
  itemsOf(target: string): OutboxItem[] {
    const q = this.queues.get(target);
    if (!q) return [];
    return [...[...q.registers.values()].flat(), ...q.dead, ...q.dismissed];
  }

  /** The sale changes among them (bridge-mode stock: sales upstream has not acknowledged). */
  saleItemsOf(target: string): (OutboxItem & { sale: Sale })[] {
    return this.itemsOf(target).filter((i): i is OutboxItem & { sale: Sale } => i.sale !== undefined);
  }

  /** A new quarantine item: an event for the webhooks that take quarantine.added, in the same commit round as the item. */
  onQuarantineAdded(q: QuarantineAdded): void {
    const now = this.now().toISOString();
    for (const queue of this.queues.values()) {
      if (!queue.target.accepts('quarantine.added')) continue;
      const item = quarantineItem(queue.target.name, q, this.deps.ledger.salesSeq, now);
      if (queue.keys.has(item.key)) continue;
      this.place(queue, item);
      this.deps.store.add(item);
      this.awaitingCommit.add(item);
      queue.waker.wake();
    }
  }

  /**
   * A kitchen order that a webhook refused for good. Kitchen orders go out through the kitchen's
   * own queue (stored with the orders); a refusal is kept here, as a dead letter of that webhook,
   * so it is counted, shown and retried (then sent by this outbox) like a sale event's.
   */
  async addKitchenDeadLetter(target: string, order: KitchenOrderView, dead: NonNullable<OutboxItem['dead']>, attempts: number): Promise<boolean> {
    const q = this.queues.get(target);
    if (!q) return false;
    const item = kitchenDeadLetterItem(target, order, dead, attempts, this.deps.ledger.salesSeq, this.now().toISOString());
    if (q.keys.has(item.key)) return true;
    this.place(q, item);
    this.deps.store.add(item);
    await this.deps.commit();
    this.deps.events?.emit('outbox.deadletter', { target, identifier: item.key, attempts, error: item.dead!.error });
    return true;
  }

  targets(): OutboxTargetState[] {
    const now = this.now().getTime();
    return [...this.queues.values()].map((q) =>
      targetState(
        q.target.name,
        [...q.registers].map(([register, list]) => ({
          register,
          depth: list.length,
          head: list[0],
          deadLetters: q.dead.filter((d) => d.cashRegisterName === register).length,
        })),
        q.dead.length,
        now,
      ),
    );
  }

  /** Open dead letters (the default), dismissed ones, or all; oldest first. */
  deadLetters(state: DeadLetterState | 'all' = 'open'): DeadLetter[] {
    const out: DeadLetter[] = [];
    for (const q of this.queues.values()) {
      const items = state === 'open' ? q.dead : state === 'dismissed' ? q.dismissed : [...q.dead, ...q.dismissed];
      out.push(...items.map(deadLetterOf));
    }
    return out.sort(byDeadLetterTime);
  }

  /**
   * Puts every dead letter (open or dismissed) of a sale (identifier) or of one change (key) back
   * in its queue; `method: 'PUT'` sends it as a change even if it is the sale's first. How many.
   */
  async retryDeadLetters(match: string, target?: string, opts: { method?: 'PUT' } = {}): Promise<number> {
    let n = 0;
    for (const q of this.queues.values()) {
      if (target !== undefined && q.target.name !== target) continue;
      for (const item of [...q.dead, ...q.dismissed].filter((d) => matchesLetter(d, match))) {
        const from = item.dismissed ? q.dismissed : q.dead;
        from.splice(from.indexOf(item), 1);
        resetForRetry(item, opts.method);
        insertBySeq(this.listOf(q, item.cashRegisterName), item);
        this.deps.store.update(item);
        q.waker.wake();
        n++;
      }
    }
    if (n > 0) await this.deps.commit();
    return n;
  }

  /** Moves the open dead letters of a sale (identifier) or of one change (key) to the dismissed ones, with the reason; how many. */
  async dismissDeadLetters(match: string, reason: string, by: string, target?: string): Promise<number> {
    let n = 0;
    const at = this.now().toISOString();
    for (const q of this.queues.values()) {
      if (target !== undefined && q.target.name !== target) continue;
      for (const item of q.dead.filter((d) => matchesLetter(d, match))) {
        q.dead.splice(q.dead.indexOf(item), 1);
        item.dismissed = { at, by, reason };
        q.dismissed.push(item);
        this.deps.store.update(item);
        n++;
      }
    }
    if (n > 0) await this.deps.commit();
    return n;
  }

  /** Whether a sale (identifier) or change (key) has dismissed dead letters (to tell 409 from 404). */
  hasDismissed(match: string): boolean {
    for (const q of this.queues.values()) if (q.dismissed.some((d) => matchesLetter(d, match))) return true;
    return false;
  }

  // ---- internals ----

  private async recover(): Promise<number> {
    const { ledger, store } = this.deps;
    const queues = [...this.queues.values()];
    if (queues.length === 0) return 0;
    const markOf = (q: Queue, register: string) => {
      const mark = store.state.targets[q.target.name];
      return Math.max(mark.baseline, mark.registers[register] ?? 0);
    };
    let recovered = 0;
    const now = this.now().toISOString();
    // Only sales changed after the lowest mark can have changes a queue lacks.
    const lowest = Math.min(...queues.map((q) => store.state.targets[q.target.name].baseline));
    const candidates = [];
    for await (const e of ledger.changedAfter(lowest)) if (queues.some((q) => e.seq > markOf(q, e.cashRegisterName))) candidates.push(e);
    for (const entry of candidates) {
      const record = await ledger.getSale(entry.identifier);
      if (!record) continue;
      let previous: SaleStatus | null = null;
      record.history.forEach((change, index) => {
        const kind = changeKind(previous, change.status);
        const last = index === record.history.length - 1;
        for (const q of queues) {
          const key = itemKey(record.sale.identifier, change.seq);
          if (change.seq <= markOf(q, record.sale.cashRegisterName) || q.keys.has(key) || !q.target.accepts(kind)) continue;
          const sale = last ? structuredClone(record.sale) : { ...structuredClone(record.sale), status: change.status, version: index + 1 };
          const item: OutboxItem = {
            key,
            target: q.target.name,
            identifier: record.sale.identifier,
            cashRegisterName: record.sale.cashRegisterName,
            seq: change.seq,
            version: sale.version ?? index + 1,
            kind,
            previousStatus: previous,
            changedAt: change.at,
            sale,
            enqueuedAt: now,
            attempts: 0,
            lastError: null,
            nextAttemptAt: null,
            recovered: true,
          };
          insertBySeq(this.listOf(q, item.cashRegisterName), item);
          q.keys.add(key);
          store.add(item);
          recovered++;
        }
        previous = change.status;
      });
    }
    return recovered;
  }

  private place(q: Queue, item: OutboxItem): void {
    q.keys.add(item.key);
    if (item.dismissed) q.dismissed.push(item);
    else if (item.dead) q.dead.push(item);
    else this.listOf(q, item.cashRegisterName).push(item);
  }

  private listOf(q: Queue, register: string): OutboxItem[] {
    let list = q.registers.get(register);
    if (!list) q.registers.set(register, (list = []));
    return list;
  }

  /** The head of every register whose turn it is; the oldest change first. */
  private nextReady(q: Queue): { item: OutboxItem } | { waitMs: number } {
    const now = this.now().getTime();
    let best: OutboxItem | null = null;
    let waitMs = Infinity;
    for (const list of q.registers.values()) {
      const head = list[0];
      if (!head) continue;
      const due = head.nextAttemptAt === null ? now : Date.parse(head.nextAttemptAt);
      if (due <= now) {
        if (best === null || head.seq < best.seq) best = head;
      } else waitMs = Math.min(waitMs, due - now);
    }
    return best ? { item: best } : { waitMs };
  }

  private async run(q: Queue): Promise<void> {
    while (!this.stopping) {
      const next = this.nextReady(q);
      if (!('item' in next)) {
        await q.waker.wait(next.waitMs);
        continue;
      }
      const item = next.item;
      if (this.awaitingCommit.has(item) && !(await this.untilDurable(q, item))) continue;
      const controller = new AbortController();
      q.inFlight = controller;
      let outcome: DeliveryOutcome;
      try {
        outcome = await q.target.deliver(item, controller.signal);
      } catch (err) {
        outcome = { verdict: 'retry', status: null, error: (err as Error)?.message ?? String(err), notBefore: null, counts: true };
      } finally {
        q.inFlight = null;
      }
      if (controller.signal.aborted && outcome.verdict !== 'delivered') break;
      this.settle(q, item, outcome);
    }
  }

  /** Never deliver what is not on disk yet: a sale that a crash could still lose must not reach upstream. */
  private async untilDurable(q: Queue, item: OutboxItem): Promise<boolean> {
    const started = Date.now();
    while (!this.deps.store.isWritten(item)) {
      if (this.stopping) return false;
      if (Date.now() - started < DURABLE_NUDGE_MS) {
        await q.waker.wait(DURABLE_POLL_MS);
        continue;
      }
      // Normally the push that enqueued it commits; nudge in case nobody does.
      try {
        await this.deps.commit();
      } catch {
        await q.waker.wait(1_000);
      }
    }
    this.awaitingCommit.delete(item);
    return true;
  }

  private settle(q: Queue, item: OutboxItem, outcome: DeliveryOutcome): void {
    const settled = settleItem(item, outcome, { now: this.now(), retryCapMs: q.target.retryCapMs, random: this.random });
    if (settled.verdict === 'delivered') {
      this.detach(q, item);
      this.deps.store.remove(item);
      this.updateMarks(q, item.cashRegisterName);
    } else if (settled.verdict === 'dead') {
      this.detach(q, item);
      q.keys.add(item.key);
      q.dead.push(item);
      this.deps.store.update(item);
      this.updateMarks(q, item.cashRegisterName);
    }
    announceSettled(this.deps, q.target.name, item, settled, outcome.status);
  }

  private detach(q: Queue, item: OutboxItem): void {
    const list = q.registers.get(item.cashRegisterName);
    const at = list ? list.indexOf(item) : -1;
    if (at >= 0) list!.splice(at, 1);
    q.keys.delete(item.key);
    this.awaitingCommit.delete(item);
  }

  /** Moves the recovery marks forward past what is settled, and writes them (lazily: redelivery is harmless, loss is not). */
  private updateMarks(q: Queue, register: string): void {
    const mark = this.deps.store.state.targets[q.target.name];
    const list = q.registers.get(register);
    const registerMark = list && list.length > 0 ? list[0].seq - 1 : this.seenSeq;
    mark.registers[register] = Math.max(mark.registers[register] ?? 0, registerMark);
    const heads = [...q.registers.values()].filter((l) => l.length > 0).map((l) => l[0].seq);
    mark.baseline = Math.max(mark.baseline, heads.length > 0 ? Math.min(...heads) - 1 : this.seenSeq);
    for (const [r, m] of Object.entries(mark.registers)) if (m <= mark.baseline) delete mark.registers[r];
    this.deps.store.saveState();
    this.scheduleCommit();
  }

  private scheduleCommit(): void {
    if (this.commitTimer || this.stopping) return;
    this.commitTimer = setTimeout(() => {
      this.commitTimer = null;
      this.deps.commit().catch((err) => this.deps.logger.warn({ err }, 'outbox: could not write delivered items yet; will retry with the next commit'));
    }, 50);
    this.commitTimer.unref();
  }
}

function insertBySeq(list: OutboxItem[], item: OutboxItem): void {
  let i = list.length;
  while (i > 0 && list[i - 1].seq > item.seq) i--;
  list.splice(i, 0, item);
}

/** A crash can leave marks ahead of the sales that made it to disk; never trust a mark beyond them. */
function clampMark(mark: TargetMark, seen: number): boolean {
  let changed = false;
  if (mark.baseline > seen) {
    mark.baseline = seen;
    changed = true;
  }
  for (const [r, m] of Object.entries(mark.registers)) {
    if (m > seen) {
      mark.registers[r] = seen;
      changed = true;
    }
  }
  return changed;
}
