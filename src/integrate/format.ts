import type { ReplaySummary } from './stats.js';
import { formatRate } from './progress.js';

export const num = (n: number) => n.toLocaleString('en-US');

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

const ms = (n: number) => `${n >= 10 ? Math.round(n) : n} ms`;

const counts = (m: Record<string, number>) =>
  Object.entries(m)
    .map(([k, v]) => `${k} ×${num(v)}`)
    .join(' · ');

/** A replay's outcome in one line: what a script or a person checks first. */
export function replayVerdict(s: ReplaySummary): string {
  const failed = s.failed > 0 ? `${num(s.failed)} of ${num(s.sent)} pushes failed (${counts(failures(s))})` : '';
  if (s.interrupted) return `INTERRUPTED: ${num(s.notSent)} of ${num(s.pushes)} pushes not sent${failed ? `; ${failed}` : ''}`;
  if (failed) return `FAILED: ${failed}`;
  if (s.dryRun) return `DRY RUN: ${num(s.pushes)} pushes (${num(s.invoices.sent)} invoices) would be sent to ${s.target}`;
  return `OK: all ${num(s.sent)} pushes answered 2xx`;
}

function failures(s: ReplaySummary): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [status, n] of Object.entries(s.byStatus)) if (!/^2\d\d$/.test(status)) out[status] = n;
  return { ...out, ...s.connectionErrors };
}

export function formatReplaySummary(s: ReplaySummary): string {
  const lines = [`${s.dryRun ? 'Dry run for' : 'Replay to'} ${s.target}${s.dryRun ? '' : ` in ${formatDuration(s.durationMs)}`}`];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(9)} ${text}`);
  if (s.dryRun) {
    row('pushes', `${num(s.pushes)}${s.skipped ? ` (${num(s.skipped)} captured non-push requests skipped)` : ''}`);
    row('invoices', num(s.invoices.sent));
  } else {
    row(
      'pushes',
      `${num(s.sent)} sent of ${num(s.pushes)} · ${num(s.ok)} answered 2xx · ${num(s.failed)} failed${s.skipped ? ` · ${num(s.skipped)} skipped (not pushes)` : ''}`,
    );
    if (Object.keys(s.byStatus).length) row('answers', counts(s.byStatus));
    if (Object.keys(s.connectionErrors).length) row('errors', `${counts(s.connectionErrors)} (connection failed after retries)`);
    if (s.retries) row('retries', num(s.retries));
    const inv = s.invoices;
    row(
      'invoices',
      `${num(inv.sent)} sent`
        + (inv.summaries
          ? ` · received ${num(inv.received)} · created ${num(inv.created)} · updated ${num(inv.updated)} · unchanged ${num(inv.unchanged)} · quarantined ${num(inv.quarantined)}`
          : ' (the target sent no JSON summary)'),
    );
    if (s.latencyMs) row('latency', `p50 ${ms(s.latencyMs.p50)} · p95 ${ms(s.latencyMs.p95)} · max ${ms(s.latencyMs.max)}`);
    row('rate', `${formatRate(s.pushesPerSecond)} pushes/s · ${formatRate(s.invoicesPerSecond)} invoices/s`);
  }
  lines.push(replayVerdict(s));
  return lines.join('\n');
}
