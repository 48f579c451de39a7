export const BACKOFF_BASE_MS = 500;

/**
 * Exponential backoff with full jitter: a random delay in [0, min(cap, base·2^(attempt-1))].
 * `attempt` counts failed attempts so far (1 after the first failure).
 */
export function backoffDelay(attempt: number, capMs: number, random: () => number = Math.random, baseMs = BACKOFF_BASE_MS): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const ceiling = Math.min(capMs, baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}

/** Retry-After as seconds or an HTTP date, in ms from now; null when absent or unreadable. */
export function retryAfterMs(header: unknown, now: number): number | null {
  if (typeof header !== 'string' || header.trim() === '') return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The next attempt: the jittered backoff, but never sooner than upstream asked (Retry-After), and never beyond the cap. */
export function nextDelay(attempt: number, capMs: number, retryAfter: number | null, random: () => number = Math.random): number {
  const jittered = backoffDelay(attempt, capMs, random);
  return retryAfter === null ? jittered : Math.min(capMs, Math.max(jittered, retryAfter));
}
