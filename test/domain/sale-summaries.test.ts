import { describe, expect, it } from 'vitest';
import { SaleSummaries } from '../../src/domain/sale-summaries.js';

describe('SaleSummaries', () => {
  it('gives back every summary exactly as set, across growth, odd times and days included', () => {
    const slots = new Map<string, number>();
    const summaries = new SaleSummaries((id) => slots.get(id));
    const expected = new Map<string, ReturnType<SaleSummaries['get']>>();
    for (let n = 0; n < 3000; n++) {
      const id = `R:${n}`;
      slots.set(id, n);
      const s = {
        total: n % 7 === 0 ? -0.1 * n : 1.05 * n, vat: n / 3, lines: n % 5, firstSeq: 1e12 + n,
        receivedAt: n % 11 === 0 ? '2026-11-30T10:00:00Z' : n % 13 === 0 ? '+020000-01-01T00:00:00.000Z' : new Date(Date.UTC(2026, 0, 1) + n * 7_777_777).toISOString(),
        dayId: n % 3 === 0 ? null : `R:${1 + (n % 17)}`,
      };
      summaries.set(id, s);
      expected.set(id, s);
    }
    summaries.set('R:5', { ...expected.get('R:5')!, receivedAt: 'odd', dayId: null });
    expected.set('R:5', { ...expected.get('R:5')!, receivedAt: 'odd', dayId: null });
    for (const [id, s] of expected) {
      expect(summaries.get(id)).toEqual(s);
      expect(summaries.firstSeqOf(id)).toBe(s!.firstSeq);
    }
    expect(summaries.get('R:unknown')).toBeUndefined();
    slots.set('R:new', 5000);
    expect(summaries.get('R:new')).toBeUndefined();
    expect(() => summaries.set('R:none', expected.get('R:1')!)).toThrow();
  });
});
