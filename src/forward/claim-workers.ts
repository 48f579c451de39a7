import type { Logger } from 'pino';
import type { GatewayEvents } from '../events.js';
import type { OutboxListener } from '../store/postgres/outbox-notify.js';
import type { ClaimedItem, OutboxTable } from '../store/postgres/outbox-table.js';
import type { DeliveryOutcome, DeliveryTarget } from './delivery.js';
import { announceSettled, settleItem, Waker } from './outbox-rules.js';

export interface ClaimWorkersDeps {
  table: OutboxTable;
  /** How long a claim is this worker's: longer than a delivery can take (the targets' timeouts). */
  leaseMs: number;
  logger: Logger;
  events?: GatewayEvents;
  now?: () => Date;
  random?: () => number;
  /** Items claimed at once per target (register heads, delivered side by side). */
  batch?: number;
  /** The longest an idle worker sleeps before looking again (items other processes stored). */
  pollMs?: number;
  /** A shorter sleep (ms) while items added in this process are on their way to the table; null when there are none. */
  pendingHere?: (target: string) => number | null;
  /** A batch was settled: the figures changed. */
  onSettled?: () => void;
  /** The database to LISTEN on (one connection) for items other processes add: workers look at once instead of at the next poll. */
  notifyUrl?: string;
}

interface Worker {
  target: DeliveryTarget;
  waker: Waker;
  running: Promise<void> | null;
  inFlight: Set<AbortController>;
}

const MIN_WAIT_MS = 10;

/**
 * Delivery from the PostgreSQL outbox table, one worker per target: it claims the heads of the
 * registers (FOR UPDATE SKIP LOCKED, with a lease), delivers them, then deletes, reschedules or
 * dead-letters each one only while the claim is still its own. Any number of processes may run
 * these on one database: every item is with one worker at a time, per register in order, and a
 * killed worker's claims expire. The outbox rules (backoff, dead letters) are the file outbox's.
 */
export class ClaimWorkers {
  private readonly workers = new Map<string, Worker>();
  private stopping = false;
  private readonly now: () => Date;
  private readonly random: () => number;
  private readonly batch: number;
  private readonly pollMs: number;
  private listener: OutboxListener | null = null;
  private listenStarted = false;

  constructor(
    targets: DeliveryTarget[],
    private readonly deps: ClaimWorkersDeps,
  ) {
    for (const target of targets) this.workers.set(target.name, { target, waker: new Waker(), running: null, inFlight: new Set() });
    this.now = deps.now ?? (() => new Date());
    this.random = deps.random ?? Math.random;
    this.batch = deps.batch ?? 16;
    this.pollMs = deps.pollMs ?? 1_000;
  }

  start(): void {
    for (const w of this.workers.values()) w.running ??= this.run(w);
    if (this.deps.notifyUrl && !this.listenStarted) void this.listen(this.deps.notifyUrl);
  }

  /** Loaded on demand: a gateway that forwards nothing (or runs on lowdb) never loads the pg client. */
  private async listen(url: string): Promise<void> {
    this.listenStarted = true;
    const { OutboxListener } = await import('../store/postgres/outbox-notify.js');
    if (this.stopping) return;
    this.listener = new OutboxListener({
      url,
      channel: this.deps.table.channel,
      logger: this.deps.logger,
      onNotify: (target) => (target === null ? this.wakeAll() : this.wake(target)),
    });
    this.listener.start();
  }

  /** Whether the LISTEN connection is up (else idle workers find other processes' items by polling). */
  get listening(): boolean {
    return this.listener?.listening ?? false;
  }

  /** New work for a target (added here, or a dead letter retried): look now. */
  wake(target: string): void {
    this.workers.get(target)?.waker.wake();
  }

  private wakeAll(): void {
    for (const w of this.workers.values()) w.waker.wake();
  }

  /** Lets the current deliveries finish (up to graceMs, then aborts them and gives their claims back); stops the workers. */
  async stop(graceMs = 2_000): Promise<void> {
    this.stopping = true;
    this.wakeAll();
    const listening = this.listener?.stop();
    this.listener = null;
    const abort = setTimeout(() => {
      for (const w of this.workers.values()) for (const c of w.inFlight) c.abort();
    }, graceMs);
    await Promise.all([...this.workers.values()].map((w) => w.running));
    clearTimeout(abort);
    await listening;
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
      // Heads of different registers: side by side, each well within its lease.
      await Promise.all(claimed.map((c) => this.deliver(w, c)));
      if (claimed.length > 0) this.deps.onSettled?.();
    }
  }

  /** How long an idle worker sleeps: shortly while an item added here is on its way, else until the next head is due. */
  private async idleMs(w: Worker): Promise<number> {
    const here = this.deps.pendingHere?.(w.target.name) ?? null;
    if (here !== null) return here;
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
      const held =
        settled.verdict === 'delivered'
          ? await table.delivered(claim)
          : settled.verdict === 'dead'
            ? await table.deadLettered(claim, item)
            : await table.attempted(claim, item);
      if (!held) {
        logger.warn(
          { target, key: item.key, verdict: settled.verdict },
          'outbox: the claim expired before the attempt was recorded; the worker that holds the item now settles it',
        );
        return;
      }
      announceSettled(this.deps, target, item, settled, outcome.status);
    } catch (err) {
      // The lease runs out and the item is claimed again: at least once, never lost.
      logger.warn({ err, target, key: item.key }, 'outbox: could not record a delivery attempt; the item is attempted again once its claim expires');
    }
  }
}
