/**
 * Token bucket for `--rate R/s`: take() reserves the next slot and says how long to wait for it.
 * Reservations may run the bucket below zero, so concurrent callers queue up at the rate.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst = 1,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerSec > 0)) throw new RangeError('rate must be positive');
    this.tokens = burst;
    this.last = now();
  }

  /** Milliseconds to wait before sending; 0 when a token is available now. */
  take(): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.ratePerSec) / 1000);
    this.last = t;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.ratePerSec;
  }
}

/** `--rate`: "50", "50/s" or "0.5/s". null when malformed. */
export function parseRate(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*s)?\s*$/i.exec(text);
  if (!m) return null;
  const rate = Number(m[1]);
  return rate > 0 ? rate : null;
}
