import type { OutboxEventKind, OutboxItem } from '../store/outbox-store.js';
import { retryAfterMs } from './backoff.js';
import { classifyStatus, errorCodeOf, excerpt, UpstreamError, type HttpResult } from './upstream-client.js';

/** What one delivery attempt came to. */
export type DeliveryOutcome =
  | { verdict: 'delivered'; status: number }
  | {
      verdict: 'retry';
      error: string;
      status: number | null;
      /** Earliest next attempt (epoch ms) the other side asked for (Retry-After) or the breaker imposes. */
      notBefore: number | null;
      /** False when nothing was sent (circuit open): the wait is not the item's fault. */
      counts: boolean;
    }
  | { verdict: 'permanent'; error: string; status: number | null; response: string };

/** Somewhere sale changes go: the upstream server, or one webhook. Each has its own queue. */
export interface DeliveryTarget {
  /** "upstream" or "webhook:<url redacted>" (shown and stored: never a secret of the URL). */
  readonly name: string;
  /** Names this target's items and marks were stored under by earlier versions (the full URL): renamed at start-up. */
  readonly formerNames?: readonly string[];
  readonly retryCapMs: number;
  accepts(kind: OutboxEventKind): boolean;
  deliver(item: OutboxItem, signal: AbortSignal): Promise<DeliveryOutcome>;
  close(): void;
}

export function outcomeOfResponse(res: HttpResult, opts: { create: boolean; now: number; what: string }): DeliveryOutcome {
  const verdict = classifyStatus(res.status, { create: opts.create, errorCode: errorCodeOf(res.data) });
  const response = excerpt(res.data);
  if (verdict === 'delivered') return { verdict, status: res.status };
  if (verdict === 'retry') {
    const wait = retryAfterMs(res.headers['retry-after'], opts.now);
    return {
      verdict,
      status: res.status,
      error: `${opts.what}: HTTP ${res.status} ${response}`.trim(),
      notBefore: wait === null ? null : opts.now + wait,
      counts: true,
    };
  }
  const redirect = res.status >= 300 && res.status < 400 ? ` (redirected to ${res.headers.location ?? '?'}; fix the URL)` : '';
  return { verdict, status: res.status, error: `${opts.what}: HTTP ${res.status}${redirect} ${response}`.trim(), response };
}

/** A request that got no answer: retried later; an open circuit does not count as an attempt. */
export function outcomeOfFailure(err: unknown): DeliveryOutcome {
  if (err instanceof UpstreamError) {
    return { verdict: 'retry', status: null, error: err.message, notBefore: err.retryAt, counts: err.kind !== 'breaker_open' };
  }
  return { verdict: 'retry', status: null, error: (err as Error)?.message ?? String(err), notBefore: null, counts: true };
}
