export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  failures: number;
  /** How long the circuit stays open before one probe request is let through. */
  cooldownMs: number;
  now?: () => number;
  onChange?: (state: BreakerState, failures: number) => void;
}

/**
 * Circuit breaker: after `failures` consecutive failures the circuit opens and calls fail fast
 * for `cooldownMs`; then one probe goes through (half-open): success closes it, failure opens
 * it again. Keeps a dead upstream from tying up the outbox worker and the catalogue poll.
 */
export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private consecutive = 0;
  private openedAt = 0;
  private probing = false;
  private readonly now: () => number;

  constructor(private readonly opts: BreakerOptions) {
    this.now = opts.now ?? Date.now;
  }

  get current(): BreakerState {
    if (this.state === 'open' && this.now() - this.openedAt >= this.opts.cooldownMs) return 'half-open';
    return this.state;
  }

  get failures(): number {
    return this.consecutive;
  }

  /** When an open circuit lets the next probe through (epoch ms); null when closed. */
  get retryAt(): number | null {
    return this.state === 'closed' ? null : this.openedAt + this.opts.cooldownMs;
  }

  /** True when a call may go out now; a half-open circuit admits one probe at a time. */
  tryAcquire(): boolean {
    const state = this.current;
    if (state === 'closed') return true;
    if (state === 'open' || this.probing) return false;
    if (this.state !== 'half-open') this.set('half-open');
    this.probing = true;
    return true;
  }

  success(): void {
    this.probing = false;
    this.consecutive = 0;
    if (this.state !== 'closed') this.set('closed');
  }

  failure(): void {
    this.probing = false;
    this.consecutive++;
    if (this.state === 'half-open' || (this.state === 'closed' && this.consecutive >= this.opts.failures)) {
      this.openedAt = this.now();
      this.set('open');
    }
  }

  /** A call that ended without telling anything about upstream's health (e.g. aborted at shutdown). */
  release(): void {
    this.probing = false;
  }

  private set(state: BreakerState): void {
    this.state = state;
    this.opts.onChange?.(state, this.consecutive);
  }
}
