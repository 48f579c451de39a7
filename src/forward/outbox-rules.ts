import type { Logger } from 'pino';
import { isReversed, type SaleStatus } from '../domain/types.js';
import type { GatewayEvents } from '../events.js';
import type { KitchenOrderView } from '../kitchen/types.js';
import { safeText } from '../ops/safe-target.js';
import { eventName, type OutboxItem, type SaleEventKind } from '../store/outbox-store.js';
import type { SaleRecord } from '../store/records.js';
import { nextDelay } from './backoff.js';
import type { DeliveryOutcome } from './delivery.js';
import type { DeadLetter, OutboxTargetState, RegisterOutboxState } from './status.js';

/**
 * The outbox's rules, written once for both ways of keeping it: the in-memory queues over files
 * (Outbox) and the claimed PostgreSQL table (TableOutbox).
 */

/** What a sale change means to a receiver: its first change creates it; a change into refunded/cancelled reverses it. */
export function changeKind(previous: SaleStatus | null, status: SaleStatus): SaleEventKind {
  if (previous === null) return 'created';
  if (isReversed(status) && !isReversed(previous)) return 'reversed';
  return 'updated';
}

export const itemKey = (identifier: string, seq: number) => `${identifier}@${seq}`;

/** The item of a sale's latest change for one target. */
export function saleChangeItem(target: string, record: SaleRecord, previous: SaleRecord | undefined, enqueuedAt: string): OutboxItem {
  const change = record.history[record.history.length - 1];
  return {
    key: itemKey(record.sale.identifier, change.seq),
    target,
    identifier: record.sale.identifier,
    cashRegisterName: record.sale.cashRegisterName,
    seq: change.seq,
    version: record.sale.version ?? record.history.length,
    kind: changeKind(previous?.sale.status ?? null, record.sale.status),
    previousStatus: previous?.sale.status ?? null,
    changedAt: change.at,
    sale: structuredClone(record.sale),
    enqueuedAt,
    attempts: 0,
    lastError: null,
    nextAttemptAt: null,
  };
}

export interface QuarantineAdded {
  id: string;
  code: string;
  reason: string;
  cashRegisterName?: string;
  device?: string;
  at: string;
}

/** A quarantine.added event for one target; `seq`: after every sale change stored so far (per register, events go out in the order they happened). */
export function quarantineItem(target: string, q: QuarantineAdded, seq: number, enqueuedAt: string): OutboxItem {
  return {
    key: `${q.id}@quarantine`,
    target,
    identifier: q.id,
    cashRegisterName: q.cashRegisterName ?? '',
    seq,
    version: 1,
    kind: 'quarantine.added',
    previousStatus: null,
    changedAt: q.at,
    quarantine: { id: q.id, register: q.cashRegisterName ?? null, device: q.device ?? null, code: q.code, reason: q.reason, receivedAt: q.at },
    enqueuedAt,
    attempts: 0,
    lastError: null,
    nextAttemptAt: null,
  };
}

/** A kitchen order a webhook refused for good, as that webhook's dead letter. */
export function kitchenDeadLetterItem(
  target: string,
  order: KitchenOrderView,
  dead: NonNullable<OutboxItem['dead']>,
  attempts: number,
  seq: number,
  enqueuedAt: string,
): OutboxItem {
  const key = `kitchen:${order.id}`;
  return {
    key,
    target,
    identifier: key,
    cashRegisterName: '',
    seq,
    version: 1,
    kind: 'kitchen.order',
    previousStatus: null,
    changedAt: order.receivedAt,
    order,
    enqueuedAt,
    attempts,
    lastError: safeText(dead.error),
    nextAttemptAt: null,
    dead: { ...dead, error: safeText(dead.error) },
  };
}

export type Settled = { verdict: 'delivered' } | { verdict: 'retry'; delayMs: number; counts: boolean } | { verdict: 'dead' };

/**
 * Applies one attempt's outcome to the item: delivered; or one more attempt (unless nothing was
 * sent), the error, and the next attempt after the backoff (never sooner than upstream asked);
 * or a dead letter with the refusal. Errors are made safe to keep and show first.
 */
export function settleItem(item: OutboxItem, outcome: DeliveryOutcome, opts: { now: Date; retryCapMs: number; random: () => number }): Settled {
  if (outcome.verdict === 'delivered') return { verdict: 'delivered' };
  // An HTTP client's message may quote the URL with its credentials or token: never kept or shown.
  const error = safeText(outcome.error);
  item.attempts++;
  item.lastError = error;
  if (outcome.verdict === 'retry') {
    if (!outcome.counts) item.attempts--;
    const retryAfter = outcome.notBefore === null ? null : outcome.notBefore - opts.now.getTime();
    const delayMs = nextDelay(Math.max(item.attempts, 1), opts.retryCapMs, retryAfter, opts.random);
    item.nextAttemptAt = new Date(opts.now.getTime() + delayMs).toISOString();
    return { verdict: 'retry', delayMs, counts: outcome.counts };
  }
  item.nextAttemptAt = null;
  item.dead = { at: opts.now.toISOString(), error, status: outcome.status, response: outcome.response };
  return { verdict: 'dead' };
}

/** The events and log lines of a settled attempt. */
export function announceSettled(
  deps: { logger: Logger; events?: GatewayEvents },
  target: string,
  item: OutboxItem,
  settled: Settled,
  status: number | null,
): void {
  const { logger, events } = deps;
  if (settled.verdict === 'delivered') {
    events?.emit('outbox.delivered', { target, identifier: item.identifier, attempts: item.attempts + 1 });
    logger.debug({ target, key: item.key, status }, 'outbox: delivered');
  } else if (settled.verdict === 'retry') {
    events?.emit('outbox.retry', {
      target,
      identifier: item.identifier,
      attempts: item.attempts,
      error: item.lastError!,
      nextAttemptAt: new Date(item.nextAttemptAt!),
    });
    const loud = settled.counts && (item.attempts === 1 || item.attempts % 20 === 0);
    logger[loud ? 'warn' : 'debug'](
      { target, key: item.key, attempts: item.attempts, error: item.lastError, retryInMs: settled.delayMs },
      'outbox: delivery failed, will retry',
    );
  } else {
    events?.emit('outbox.deadletter', { target, identifier: item.identifier, attempts: item.attempts, error: item.lastError! });
    logger.warn(
      { target, key: item.key, status, error: item.lastError },
      'outbox: refused for good, moved to the dead letters (retry: POST /deadletters/{identifier}/retry, or /dismiss with a reason)',
    );
  }
}

/** A dead letter back in the queue: from scratch, optionally to be sent as a change (PUT). */
export function resetForRetry(item: OutboxItem, method?: 'PUT'): void {
  delete item.dead;
  delete item.dismissed;
  if (method === 'PUT') item.method = 'PUT';
  item.attempts = 0;
  item.lastError = null;
  item.nextAttemptAt = null;
}

/** Whether a dead letter is the one a retry or dismissal names: by sale (identifier) or by change (key). */
export const matchesLetter = (item: Pick<OutboxItem, 'identifier' | 'key'>, match: string) => item.identifier === match || item.key === match;

export function deadLetterOf(item: OutboxItem): DeadLetter {
  const letter: DeadLetter = {
    identifier: item.identifier,
    target: item.target,
    sale: item.sale,
    attempts: item.attempts,
    lastError: item.dead!.error,
    at: item.dead!.at,
    key: item.key,
    event: eventName(item.kind),
    status: item.dead!.status,
    response: item.dead!.response,
    state: item.dismissed ? 'dismissed' : 'open',
  };
  if (item.order) letter.order = item.order;
  if (item.dismissed) Object.assign(letter, { resolvedAt: item.dismissed.at, resolvedBy: item.dismissed.by, resolution: item.dismissed.reason });
  return letter;
}

export const byDeadLetterTime = (a: DeadLetter, b: DeadLetter) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0);

/** One register's queue as the figures see it: its pending items, its head (oldest change), its open dead letters. */
export interface RegisterQueue {
  register: string;
  depth: number;
  head: OutboxItem | undefined;
  deadLetters: number;
}

/** A target's figures (API, status page, metrics) from its registers' queues. */
export function targetState(target: string, queues: Iterable<RegisterQueue>, deadLetters: number, now: number): OutboxTargetState {
  const registers: Record<string, RegisterOutboxState> = {};
  let depth = 0;
  let oldest: number | null = null;
  let head: OutboxItem | null = null;
  const nextAttempts: string[] = [];
  for (const { register, depth: n, head: first, deadLetters: dead } of queues) {
    if (first?.nextAttemptAt) nextAttempts.push(first.nextAttemptAt);
    if (n === 0 && dead === 0) continue;
    const age = first ? now - Date.parse(first.changedAt) : null;
    registers[register] = {
      depth: n,
      oldestAgeMs: age,
      deadLetters: dead,
      attempts: first?.attempts ?? 0,
      lastError: first?.lastError ?? null,
      nextAttemptAt: first?.nextAttemptAt ?? null,
    };
    depth += n;
    if (age !== null && (oldest === null || age > oldest)) oldest = age;
    if (first && (head === null || first.attempts > head.attempts)) head = first;
  }
  return {
    target,
    depth,
    oldestAgeMs: oldest,
    deadLetters,
    attempts: head?.attempts ?? 0,
    lastError: head?.lastError ?? null,
    nextAttemptAt: nextAttempts.sort()[0] ?? null,
    registers,
  };
}

/** A sleep that ends early when woken (new work, a retry request, or stop); a wake while nobody sleeps ends the next sleep at once. */
export class Waker {
  private resolve: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private woken = false;

  wait(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.resolve = resolve;
      if (Number.isFinite(ms)) this.timer = setTimeout(() => this.wake(), Math.max(0, ms));
    });
  }

  wake(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const resolve = this.resolve;
    this.resolve = null;
    if (resolve) resolve();
    else this.woken = true;
  }
}
