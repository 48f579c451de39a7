import { describe, expect, it } from 'vitest';
import { Decimal, decimalKey, fractionToPercent, isNumeric, percentToFraction, sumDecimals, toDecimal, toNumber } from '../../src/translate/decimal.js';

describe('isNumeric', () => {
  it.each([0, 1, -2.5, 1e21, 0.1, '1', '-2.50', '+3', '1e3', '1E-3', '.5', '5.', '0', '-0', '201409200100001', '0.271818'])('%j is numeric', (x) => {
    expect(isNumeric(x)).toBe(true);
  });

  it.each([
    '',
    ' 1',
    '1 ',
    '0x10',
    'NaN',
    'Infinity',
    '-Infinity',
    '1,5',
    '1.2.3',
    'e3',
    '.',
    '-',
    '1e',
    '1e999',
    '١٢',
    NaN,
    Infinity,
    -Infinity,
    null,
    undefined,
    true,
    {},
    [],
    [1],
  ])('%j is not numeric', (x) => {
    expect(isNumeric(x)).toBe(false);
  });
});

describe('toDecimal', () => {
  it('converts numbers and numeric strings exactly', () => {
    expect(toDecimal('3.19').equals(new Decimal('3.19'))).toBe(true);
    expect(toDecimal(0.1).toString()).toBe('0.1');
    expect(toDecimal('123456789012345678901234567890.5').toFixed()).toBe('123456789012345678901234567890.5');
  });

  it.each(['', 'abc', '0x10', NaN, null, undefined])('throws on %j', (x) => {
    expect(() => toDecimal(x)).toThrow(/not a number or numeric string/);
  });
});

describe('decimalKey', () => {
  it.each([
    [[1, '1', '1.0', 1.0, '1.000', '1e0', '+1', '10e-1', '.1e1'], '1'],
    [[0, '0', '-0', -0, '0.00', '.0'], '0'],
    [[3.19, '3.19', '3.190', '319e-2'], '3.19'],
    [[201409200100001, '201409200100001'], '201409200100001'],
    [[-2.5, '-2.50'], '-2.5'],
    [[1000, '1e3', '1000.0'], '1000'],
  ])('%j → %s', (values, key) => {
    for (const x of values) expect(decimalKey(x), JSON.stringify(x)).toBe(key);
  });

  it('tells different values apart', () => {
    expect(decimalKey('0.1')).not.toBe(decimalKey('0.10000000000000001'));
    expect(decimalKey('1')).not.toBe(decimalKey('-1'));
  });
});

describe('toNumber', () => {
  it.each([
    ['3.19', 3.19],
    ['6.380', 6.38],
    [6.38, 6.38],
    ['0.271818', 0.271818],
    ['-0', 0],
    [-0, 0],
    ['1e3', 1000],
    ['201409200100001', 201409200100001],
    ['0.5', 0.5],
    ['-10.00', -10],
  ])('%j → %j', (x, n) => {
    expect(toNumber(x)).toBe(n);
    expect(Object.is(toNumber(x), n)).toBe(true);
  });

  it('accepts a Decimal', () => {
    expect(toNumber(new Decimal('0.1').plus('0.2'))).toBe(0.3);
  });
});

describe('sumDecimals', () => {
  it('sums in decimal, never in float', () => {
    expect(toNumber(sumDecimals([0.1, 0.2]))).toBe(0.3);
    expect(toNumber(sumDecimals(['0.3', 0.6]))).toBe(0.9);
    expect(toNumber(sumDecimals([3.19, '3.19']))).toBe(6.38);
    expect(toNumber(sumDecimals(['5.90', '3.20', '3.80', '-10.00']))).toBe(2.9);
    expect(toNumber(sumDecimals(Array.from({ length: 10 }, () => 0.1)))).toBe(1);
  });

  it('sums nothing to 0 and refuses non-numeric items', () => {
    expect(toNumber(sumDecimals([]))).toBe(0);
    expect(() => sumDecimals([1, 'x'])).toThrow(/not a number/);
  });
});

describe('percent ⇄ fraction', () => {
  it.each([
    [0.1, 10],
    [0.2, 20],
    [0, 0],
    [0.07, 7],
    [0.077, 7.7],
    [0.055, 5.5],
    [0.19, 19],
    [0.333, 33.3],
    [1, 100],
    ['0.1000', 10],
  ])('fraction %j ⇄ %j percent', (fraction, percent) => {
    expect(fractionToPercent(fraction)).toBe(percent);
    expect(percentToFraction(percent)).toBe(Number(fraction));
  });

  it('fractionToPercent(0.1) === 10 and percentToFraction(10) === 0.1', () => {
    expect(fractionToPercent(0.1)).toBe(10);
    expect(percentToFraction(10)).toBe(0.1);
  });
});

describe('fast paths of decimalKey and toNumber', () => {
  // Content keys stored with every sale were built with decimal.js: the fast paths must give the same strings and numbers.
  const slowKey = (x: number | string) => toDecimal(x).toString();
  const slowNumber = (x: number | string) => {
    const n = toDecimal(x).toNumber();
    return n === 0 ? 0 : n;
  };
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const numbers: number[] = [
    0,
    -0,
    1,
    -1,
    0.1,
    0.1 + 0.2,
    1e21,
    1e-7,
    -1e-7,
    1.5e-7,
    1e20,
    5e-324,
    2 ** 53 + 2,
    Number.MAX_VALUE,
    -Number.MIN_VALUE,
    123456789012345680000,
    9.999999999999999e20,
  ];
  for (let i = 0; i < 3000; i++) {
    const scale = 10 ** Math.floor(rnd() * 40 - 20);
    numbers.push((rnd() - 0.5) * scale, Math.round((rnd() - 0.5) * 1e6) / 100, Math.floor(rnd() * 1e15));
  }
  const strings: string[] = [
    '0',
    '-0',
    '+0',
    '00',
    '007',
    '1',
    '-1',
    '10',
    '12345678901234567890',
    '123456789012345678901',
    '-12345678901234567890',
    '1.0',
    '1.50',
    '.5',
    '5.',
    '1e3',
    '1E-3',
    '0.0000001',
    '1e21',
    '-0.000001',
    '201409200100001',
    '1772000000000',
  ];
  for (const n of numbers) strings.push(String(n), n.toFixed(Math.floor(rnd() * 8)));

  it('decimalKey: same string as decimal.js for numbers and numeric strings', () => {
    for (const x of [...numbers, ...strings]) expect(decimalKey(x), String(x)).toBe(slowKey(x));
  });

  it('toNumber: same number as decimal.js (never -0)', () => {
    for (const x of [...numbers, ...strings]) expect(Object.is(toNumber(x), slowNumber(x)), String(x)).toBe(true);
  });

  it('still refuses what is not numeric', () => {
    for (const x of [NaN, Infinity, '', 'abc', '0x10', ' 1']) {
      expect(() => decimalKey(x)).toThrow(/not a number/);
      expect(() => toNumber(x)).toThrow(/not a number/);
    }
  });
});
