/** Replay results: counts by outcome, invoice outcomes from JSON summaries, latency percentiles. */

export interface LatencySummary {
  p50: number;
  p95: number;
  max: number;
}

/** Nearest-rank percentile of ascending values (p in 0..100). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function latencySummary(values: ArrayLike<number>): LatencySummary | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const round = (n: number) => Math.round(n * 10) / 10;
  return { p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), max: round(sorted[sorted.length - 1]) };
}

export interface InvoiceCounts {
  received: number;
  created: number;
  updated: number;
  unchanged: number;
  quarantined: number;
}

export const INVOICE_OUTCOMES = ['received', 'created', 'updated', 'unchanged', 'quarantined'] as const;

/** The gateway's JSON answer to a push, when the body is one. */
export function parsePushSummary(contentType: string | undefined, body: string): InvoiceCounts | null {
  if (!/\bjson\b/i.test(contentType ?? '')) return null;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return null;
  }
  const v = value as Record<string, unknown> | null;
  if (!v || typeof v !== 'object') return null;
  if (!INVOICE_OUTCOMES.every((k) => typeof v[k] === 'number')) return null;
  return Object.fromEntries(INVOICE_OUTCOMES.map((k) => [k, v[k]])) as unknown as InvoiceCounts;
}

export type PushOutcome =
  | { kind: 'response'; status: number; latencyMs: number; attempts: number; summary: InvoiceCounts | null }
  | { kind: 'connection_error'; code: string; message: string; attempts: number }
  | { kind: 'interrupted' };

export const isFailure = (o: PushOutcome) => (o.kind === 'response' && (o.status < 200 || o.status > 299)) || o.kind === 'connection_error';

export interface ReplaySummary {
  target: string;
  dryRun: boolean;
  /** Pushes to send (fixtures minus skipped). */
  pushes: number;
  /** Captured requests that are not invoice pushes (legacy reads): not sent. */
  skipped: number;
  /** Requests answered or given up on. */
  sent: number;
  notSent: number;
  ok: number;
  failed: number;
  /** Answers by HTTP status, e.g. {"200": 20, "500": 2}. */
  byStatus: Record<string, number>;
  /** Pushes that failed for good after retries, by error code. */
  connectionErrors: Record<string, number>;
  retries: number;
  invoices: InvoiceCounts & {
    /** Invoices in the pushes sent. */
    sent: number;
    /** Answers that carried the JSON summary (the counts above come from those). */
    summaries: number;
  };
  latencyMs: LatencySummary | null;
  durationMs: number;
  pushesPerSecond: number;
  invoicesPerSecond: number;
  interrupted: boolean;
}

export class ReplayStats {
  private readonly latencies: number[] = [];
  private readonly byStatus = new Map<number, number>();
  private readonly connectionErrors = new Map<string, number>();
  private sent = 0;
  private ok = 0;
  private failed = 0;
  private retries = 0;
  private invoicesSent = 0;
  private summaries = 0;
  private readonly invoices: InvoiceCounts = { received: 0, created: 0, updated: 0, unchanged: 0, quarantined: 0 };

  constructor(
    private readonly target: string,
    private readonly pushes: number,
    private readonly skipped = 0,
  ) {}

  get done(): number {
    return this.sent;
  }

  get failures(): number {
    return this.failed;
  }

  record(outcome: PushOutcome, invoiceCount: number): void {
    if (outcome.kind === 'interrupted') return;
    this.sent++;
    this.invoicesSent += invoiceCount;
    this.retries += outcome.attempts - 1;
    if (isFailure(outcome)) this.failed++;
    else this.ok++;
    if (outcome.kind === 'connection_error') {
      this.connectionErrors.set(outcome.code, (this.connectionErrors.get(outcome.code) ?? 0) + 1);
      return;
    }
    this.latencies.push(outcome.latencyMs);
    this.byStatus.set(outcome.status, (this.byStatus.get(outcome.status) ?? 0) + 1);
    if (outcome.summary) {
      this.summaries++;
      for (const k of INVOICE_OUTCOMES) this.invoices[k] += outcome.summary[k];
    }
  }

  summary(durationMs: number, opts: { interrupted: boolean; dryRun?: boolean }): ReplaySummary {
    const perSecond = (n: number) => (durationMs > 0 ? Math.round((n * 1000 * 10) / durationMs) / 10 : 0);
    const sortedEntries = <K extends string | number>(m: Map<K, number>) =>
      Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [String(k), v]));
    return {
      target: this.target,
      dryRun: opts.dryRun ?? false,
      pushes: this.pushes,
      skipped: this.skipped,
      sent: this.sent,
      notSent: this.pushes - this.sent,
      ok: this.ok,
      failed: this.failed,
      byStatus: sortedEntries(this.byStatus),
      connectionErrors: sortedEntries(this.connectionErrors),
      retries: this.retries,
      invoices: { sent: this.invoicesSent, summaries: this.summaries, ...this.invoices },
      latencyMs: latencySummary(this.latencies),
      durationMs: Math.round(durationMs),
      pushesPerSecond: perSecond(this.sent),
      invoicesPerSecond: perSecond(this.invoicesSent),
      interrupted: opts.interrupted,
    };
  }
}
