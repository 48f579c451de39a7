import { describe, expect, it } from 'vitest';
import { Exact } from '../../src/domain/exact.js';

const sum = (xs: (number | string)[], signs: (1 | -1)[] = []) => xs.reduce((acc: Exact, x, i) => acc.add(Exact.of(x), signs[i] ?? 1), new Exact());

describe('Exact', () => {
  it.each([
    [[0.1, 0.2], '0.3'],
    [[0.271818, 0.180909], '0.452727'],
    [[1e21, 1], '1000000000000000000001'],
    [[1e-7, 0.2718181818181818], '0.2718182818181818'],
    [['1.50', '-0.5', '2e2'], '201'],
    [[-0, 0], '0'],
    [[3.99, -3.99], '0'],
  ])('sums %j exactly to %s', (xs, expected) => {
    expect(sum(xs).toString()).toBe(expected);
  });

  it('subtracts with a sign and merges accumulators without sharing them', () => {
    const a = sum([10, 2.5], [1, -1]);
    expect(a.toNumber()).toBe(7.5);
    const b = new Exact().add(a);
    b.add(Exact.of(0.25));
    expect(a.toString()).toBe('7.5');
    expect(b.toString()).toBe('7.75');
    expect(Exact.of(0.1)).toBe(Exact.of(0.1));
    expect(new Exact().isZero()).toBe(true);
  });

  it.each([NaN, Infinity, 'abc', '', '.'])('refuses %j', (x) => {
    expect(() => Exact.of(x as number)).toThrow(TypeError);
  });
});
