import { describe, expect, it } from 'vitest';
import { Figures, Money, footprintKey, minorUnitDigits, summarise, vatRateOf } from '../../src/domain/reports.js';
import { computeFixture, fixtureDays } from './fixture-day.js';

describe('fixture days (hand-computed figures)', () => {
  it.each(fixtureDays())('%s', (_name, fx) => {
    const { earlier, day } = computeFixture(fx);
    if (fx.earlierExpected) expect(earlier).toMatchObject(fx.earlierExpected);
    expect(day).toMatchObject(fx.expected);
    // The printed report adds up: VAT total = Σ rates, net = gross − VAT, payments = gross.
    const vatSum = day.vatRates.reduce((s, r) => s + Math.round(r.vat * 100), 0);
    expect(vatSum).toBe(Math.round(day.vatTotal * 100));
    expect(Math.round(day.net * 100)).toBe(Math.round(day.gross * 100) - vatSum);
    expect(Object.values(day.payments).reduce((s, p) => s + Math.round(p * 100), 0)).toBe(Math.round(day.gross * 100));
    // ... and says so itself.
    for (const r of [earlier, day]) expect(r.arithmetic!.filter((c) => !c.holds)).toEqual([]);
  });
});

describe('vatRateOf', () => {
  it.each([
    ['catalogue rate wins over amounts', { vat: 0.5, total: 5.5 }, 20, [10, 20], '20'],
    ['derived and exact', { vat: 0.5, total: 5.5 }, undefined, [10, 20], '10'],
    ['derived 9.99998 % snaps to 10', { vat: 0.271818, total: 2.99 }, undefined, [5.5, 10, 20], '10'],
    ['derived 10.02 % (amounts in cents) shows the catalogue rate 10', { vat: 0.45, total: 4.94 }, undefined, [20, 10], '10'],
    ['within 0.05 points: 19.95 % shows 20', { vat: 0.1995, total: 1.1995 }, undefined, [10, 20], '20'],
    ['further than 0.05 points from every rate: derived, 2 decimals', { vat: 0.075, total: 1.075 }, undefined, [5.5, 10], '7.5'],
    ['10.1 % is no catalogue rate', { vat: 0.101, total: 1.101 }, undefined, [10, 20], '10.1'],
    ['a tie within reach goes to the lower rate', { vat: 0.1, total: 1.1 }, undefined, [9.95, 10.05], '9.95'],
    ['no VAT is 0 %, not snapped', { vat: 0, total: 4 }, undefined, [10, 20], '0'],
    ['string-like decimals', { vat: 0.1, total: 1.1 }, undefined, [10], '10'],
    ['no configured rates: derived, 2 decimals', { vat: 1, total: 4 }, undefined, [], '33.33'],
    ['catalogue rate as a decimal key', { vat: 0, total: 1 }, 5.5, [], '5.5'],
  ])('%s', (_name, line, productRate, configured, expected) => {
    expect(vatRateOf(line, productRate, configured)).toBe(expected);
  });
});

describe('summarise', () => {
  const facts = (rate: string) => () => ({ vatRate: rate, category: '/' });
  const fp = (total: number, vat: number, method = 'cash') => ({
    total,
    vat,
    discount: 0,
    costPrice: 0,
    payments: [{ method, amount: total }],
    lines: [{ product: 'p', name: 'p', quantity: 1, total, vat, discount: 0, costPrice: 0 }],
  });

  it('rounds half-even once per rate, after exact sums', () => {
    const f = new Figures();
    for (const vat of [0.0625, 0.0625]) f.apply({ before: null, after: { status: 'completed', footprint: fp(1, vat) }, factsOf: facts('10') });
    for (const vat of [0.0675, 0.0675]) f.apply({ before: null, after: { status: 'completed', footprint: fp(1, vat) }, factsOf: facts('20') });
    const s = summarise(f, new Money('EUR'));
    expect(s.vat).toEqual({ 10: 0.12, 20: 0.14 });
    expect(s.vatTotal).toBe(0.26);
    expect(s.net).toBe(3.74);
  });

  it('counts a sale reversed the same day as a sale and a reversal, with no amount', () => {
    const f = new Figures();
    const sale = { status: 'completed' as const, footprint: fp(3, 0.3) };
    f.apply({ before: null, after: sale, factsOf: facts('10') });
    f.apply({ before: sale, after: { ...sale, status: 'cancelled' }, factsOf: facts('10') });
    const s = summarise(f, new Money('EUR'));
    expect(s).toMatchObject({ saleCount: 1, cancelCount: 1, refundCount: 0, cancelTotal: 3, gross: 0, vatTotal: 0, payments: {} });
  });

  it('uses the currency minor unit (JPY has none, KWD three)', () => {
    expect(minorUnitDigits('JPY')).toBe(0);
    expect(minorUnitDigits('KWD')).toBe(3);
    expect(minorUnitDigits('EUR')).toBe(2);
    expect(minorUnitDigits('nope')).toBe(2);
    const f = new Figures();
    f.apply({ before: null, after: { status: 'completed', footprint: fp(1000.5, 90.5) }, factsOf: facts('10') });
    expect(summarise(f, new Money('JPY'))).toMatchObject({ gross: 1000, vatTotal: 90 });
  });
});

describe('footprintKey', () => {
  it('ignores names and line order, not amounts or payment methods', () => {
    const base = {
      total: 2,
      vat: 0.2,
      discount: 0,
      costPrice: 0,
      payments: [{ method: 'cash', amount: 2 }],
      lines: [
        { product: 'a', name: 'A', quantity: 1, total: 1, vat: 0.1, discount: 0, costPrice: 0 },
        { product: 'b', name: 'B', quantity: 1, total: 1, vat: 0.1, discount: 0, costPrice: 0 },
      ],
    };
    const key = footprintKey(base);
    expect(footprintKey({ ...base, lines: [...base.lines].reverse().map((l) => ({ ...l, name: 'x' })) })).toBe(key);
    expect(footprintKey({ ...base, total: 2.0 })).toBe(key);
    expect(footprintKey({ ...base, payments: [{ method: 'card', amount: 2 }] })).not.toBe(key);
    expect(footprintKey({ ...base, vat: 0.21 })).not.toBe(key);
  });
});
