import { describe, expect, it } from 'vitest';
import { backoffDelay, nextDelay, retryAfterMs } from '../../src/forward/backoff.js';

describe('backoff with full jitter', () => {
  it.each([
    // attempt, cap, random, expected
    [1, 30_000, 0.999999, 499],
    [2, 30_000, 0.999999, 999],
    [4, 30_000, 0.5, 2000],
    [7, 30_000, 0.999999, 29_999],
    [50, 30_000, 0.999999, 29_999],
    [3, 30_000, 0, 0],
    [10, 200, 0.5, 100],
  ])('attempt %i, cap %i, random %f → %i ms', (attempt, cap, random, expected) => {
    expect(backoffDelay(attempt, cap, () => random)).toBe(expected);
  });

  it('never waits less than Retry-After, never more than the cap', () => {
    expect(nextDelay(1, 30_000, 5_000, () => 0)).toBe(5_000);
    expect(nextDelay(1, 30_000, 120_000, () => 0)).toBe(30_000);
    expect(nextDelay(3, 30_000, null, () => 0.5)).toBe(1_000);
  });

  it.each([
    ['3', 3_000],
    ['0', 0],
    [' 12 ', 12_000],
    ['Wed, 21 Oct 2015 07:28:10 GMT', 10_000],
    ['soon', null],
    ['', null],
    [undefined, null],
  ])('Retry-After %j → %j ms', (header, expected) => {
    expect(retryAfterMs(header, Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(expected);
  });
});
