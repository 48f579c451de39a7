import { statfs } from 'node:fs/promises';
import type { DeadLetter, ForwardingStatus, OutboxTargetState } from '../forward/status.js';
import type { Store } from '../store/port.js';
import { safeTarget, safeText } from './safe-target.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'standalone';

export interface Check {
  status: CheckStatus;
  message: string;
  [detail: string]: unknown;
}

export interface Readiness {
  /** ready: all ok; degraded: ready with warnings; not_ready: a check fails (HTTP 503). */
  status: 'ready' | 'degraded' | 'not_ready';
  failing: string[];
  warnings: string[];
  checks: { store: Check; disk: Check; upstream: Check; outbox: Check };
}

export interface ReadinessThresholds {
  diskLowFreeBytes: number;
  diskLowFreePercent: number;
  outboxMaxAgeMs: number;
}

export function storeCheck(writable: boolean, kind: Store['kind'] = 'lowdb'): Check {
  if (kind === 'postgres') {
    return writable
      ? { status: 'ok', message: 'the database answers and the last write succeeded' }
      : { status: 'fail', message: 'the database does not answer (or the last write failed, or the store lock was lost); pushes are refused until it does' };
  }
  return writable
    ? { status: 'ok', message: 'the data dir is writable' }
    : { status: 'fail', message: 'the data dir is not writable (or the last write failed); pushes are refused until it is' };
}

const MiB = 1024 * 1024;
const size = (bytes: number) => (bytes >= 1024 * MiB ? `${(bytes / (1024 * MiB)).toFixed(1)} GiB` : `${Math.round(bytes / MiB)} MiB`);

/** Low disk is a warning: the store still works, but someone should make room before it does not. */
export function diskCheck(space: { freeBytes: number; totalBytes: number } | { error: string }, t: ReadinessThresholds): Check {
  if ('error' in space) return { status: 'warn', message: `cannot read the free space of the data dir: ${space.error}` };
  const freePercent = space.totalBytes > 0 ? (100 * space.freeBytes) / space.totalBytes : 0;
  const details = { freeBytes: space.freeBytes, totalBytes: space.totalBytes, freePercent: Math.round(freePercent * 10) / 10 };
  const low = space.freeBytes < t.diskLowFreeBytes || freePercent < t.diskLowFreePercent;
  return {
    status: low ? 'warn' : 'ok',
    message: `${size(space.freeBytes)} free (${details.freePercent} %)${low ? `: below ${size(t.diskLowFreeBytes)} or ${t.diskLowFreePercent} %, make room` : ''}`,
    ...details,
  };
}

/** Bridge mode: upstream reachable, or at least a catalogue cached so tablets can keep selling. */
export function upstreamCheck(state: ReturnType<ForwardingStatus['upstream']> | undefined): Check {
  if (!state || state.mode === 'standalone') return { status: 'standalone', message: 'no upstream: this gateway is the system of record' };
  const details = {
    reachable: state.reachable,
    breaker: state.breaker,
    lastSyncAt: state.lastSyncAt,
    catalogueCached: state.catalogueCached,
    ...(state.lastSyncError ? { lastSyncError: safeText(state.lastSyncError) } : {}),
  };
  if (state.reachable !== false && state.breaker !== 'open') {
    // Tablets get no articles until a first sync: not ready, like `home`.
    return state.catalogueCached
      ? { status: 'ok', message: 'upstream reachable', ...details }
      : { status: 'fail', message: 'no catalogue synced from upstream yet', ...details };
  }
  const why = state.breaker === 'open' ? 'upstream unreachable (circuit breaker open)' : 'upstream unreachable';
  return state.catalogueCached
    ? { status: 'warn', message: `${why}; serving the cached catalogue, sales wait in the outbox`, ...details }
    : { status: 'fail', message: `${why} and no catalogue cached: tablets get no articles`, ...details };
}

/** Every outbox target drains: its oldest item is younger than the threshold. Dead letters need a person, so they warn. */
export function outboxCheck(targets: OutboxTargetState[] | undefined, deadLetters: DeadLetter[] | undefined, maxAgeMs: number): Check {
  if (!targets) return { status: 'standalone', message: 'nothing is forwarded' };
  const stuck = targets.filter((t) => t.oldestAgeMs !== null && t.oldestAgeMs > maxAgeMs);
  const details = {
    targets: targets.map((t) => ({
      target: safeTarget(t.target),
      depth: t.depth,
      oldestAgeMs: t.oldestAgeMs,
      lastError: t.lastError === null ? null : safeText(t.lastError),
    })),
    deadLetters: deadLetters?.length ?? 0,
  };
  if (stuck.length > 0) {
    const what = stuck
      .map(
        (t) => `${safeTarget(t.target)}: ${t.depth} waiting, oldest ${Math.round(t.oldestAgeMs! / 1000)} s${t.lastError ? ` (${safeText(t.lastError)})` : ''}`,
      )
      .join('; ');
    return { status: 'fail', message: `outbox not draining (older than ${Math.round(maxAgeMs / 1000)} s): ${what}`, ...details };
  }
  if (details.deadLetters > 0)
    return { status: 'warn', message: `${details.deadLetters} dead letter(s) need attention (retry or dismiss from /status)`, ...details };
  const depth = targets.reduce((n, t) => n + t.depth, 0);
  return { status: 'ok', message: depth === 0 ? 'outbox empty' : `${depth} waiting, draining`, ...details };
}

export function summariseReadiness(checks: Readiness['checks']): Readiness {
  const names = Object.keys(checks) as (keyof Readiness['checks'])[];
  const failing = names.filter((n) => checks[n].status === 'fail');
  const warnings = names.filter((n) => checks[n].status === 'warn');
  return { status: failing.length ? 'not_ready' : warnings.length ? 'degraded' : 'ready', failing, warnings, checks };
}

export async function freeSpace(dir: string): Promise<{ freeBytes: number; totalBytes: number } | { error: string }> {
  try {
    const s = await statfs(dir);
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
}

export async function checkReadiness(deps: { store: Store; forwarding?: ForwardingStatus }, t: ReadinessThresholds): Promise<Readiness> {
  const [writable, space] = await Promise.all([deps.store.probeWritable(), freeSpace(deps.store.dataDir)]);
  const fwd = deps.forwarding;
  return summariseReadiness({
    store: storeCheck(writable, deps.store.kind),
    disk: diskCheck(space, t),
    upstream: upstreamCheck(fwd?.upstream()),
    outbox: outboxCheck(fwd?.targets(), fwd?.deadLetters(), t.outboxMaxAgeMs),
  });
}
