import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type BreakerState } from '../../src/forward/breaker.js';

function breaker(failures = 3, cooldownMs = 1_000) {
  let now = 0;
  const changes: BreakerState[] = [];
  const b = new CircuitBreaker({ failures, cooldownMs, now: () => now, onChange: (s) => changes.push(s) });
  return { b, changes, advance: (ms: number) => (now += ms) };
}

describe('circuit breaker', () => {
  it('opens after N consecutive failures and fails fast during the cool-down', () => {
    const { b, changes } = breaker(3);
    for (let i = 0; i < 2; i++) {
      expect(b.tryAcquire()).toBe(true);
      b.failure();
    }
    expect(b.current).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
    b.failure();
    expect(b.current).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    expect(b.retryAt).toBe(1_000);
    expect(changes).toEqual(['open']);
  });

  it('a success resets the count: failures must be consecutive', () => {
    const { b } = breaker(3);
    b.failure();
    b.failure();
    b.success();
    b.failure();
    b.failure();
    expect(b.current).toBe('closed');
  });

  it('lets one probe through after the cool-down; success closes it', () => {
    const { b, changes, advance } = breaker(1, 1_000);
    b.failure();
    advance(999);
    expect(b.tryAcquire()).toBe(false);
    advance(1);
    expect(b.current).toBe('half-open');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false); // only one probe at a time
    b.success();
    expect(b.current).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
    expect(changes).toEqual(['open', 'half-open', 'closed']);
  });

  it('a failed probe opens it again for another cool-down', () => {
    const { b, advance } = breaker(2, 500);
    b.failure();
    b.failure();
    advance(500);
    expect(b.tryAcquire()).toBe(true);
    b.failure();
    expect(b.current).toBe('open');
    advance(499);
    expect(b.tryAcquire()).toBe(false);
    advance(1);
    expect(b.tryAcquire()).toBe(true);
  });

  it('an aborted probe frees the slot without a verdict', () => {
    const { b, advance } = breaker(1, 100);
    b.failure();
    advance(100);
    expect(b.tryAcquire()).toBe(true);
    b.release();
    expect(b.tryAcquire()).toBe(true);
  });
});
