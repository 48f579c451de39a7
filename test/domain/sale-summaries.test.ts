import { describe, expect, it } from 'vitest';
import { SaleSummaries } from '../../src/domain/sale-summaries.js';

describe('SaleSummaries', () => {
  it('gives back every summary exactly as set, across growth, odd times and days included', () => {
    const summaries = new SaleSummaries();
    const expected = new Map<number, ReturnType<SaleSummaries['get']>>();
    for (let n = 0; n < 3000; n++) {
      const s = {
        total: n % 7 === 0 ? -0.1 * n : 1.05 * n,
        vat: n / 3,
        lines: n % 5,
        firstSeq: 1e12 + n,
        receivedAt:
          n % 11 === 0 ? '2026-11-30T10:00:00Z' : n % 13 === 0 ? '+020000-01-01T00:00:00.000Z' : new Date(Date.UTC(2026, 0, 1) + n * 7_777_777).toISOString(),
        dayId: n % 3 === 0 ? null : `R:${1 + (n % 17)}`,
      };
      summaries.set(n, s);
      expected.set(n, s);
    }
    summaries.set(5, { ...expected.get(5)!, receivedAt: 'odd', dayId: null });
    expected.set(5, { ...expected.get(5)!, receivedAt: 'odd', dayId: null });
    summaries.set(11, { ...expected.get(11)!, receivedAt: '2026-01-01T00:00:00.000Z' });
    expected.set(11, { ...expected.get(11)!, receivedAt: '2026-01-01T00:00:00.000Z' });
    for (const [slot, s] of expected) {
      expect(summaries.get(slot)).toEqual(s);
      expect(summaries.dayIdOf(slot)).toBe(s!.dayId);
      expect(summaries.firstSeqOf(slot)).toBe(s!.firstSeq);
    }
    expect(summaries.get(3000)).toBeUndefined();
    expect(summaries.get(5000)).toBeUndefined();
    expect(summaries.dayIdOf(5000)).toBeUndefined();
    expect(summaries.firstSeqOf(5000)).toBeUndefined();
  });

  it('a slot between summaries set has none', () => {
    const summaries = new SaleSummaries();
    summaries.set(10, { total: 1, vat: 0, lines: 0, firstSeq: 1, receivedAt: '2026-01-01T00:00:00.000Z', dayId: null });
    expect(summaries.get(10)).toMatchObject({ lines: 0 });
    expect(summaries.get(3)).toBeUndefined();
  });
});
