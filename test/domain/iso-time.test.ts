import { describe, expect, it } from 'vitest';
import { isoOfMs } from '../../src/domain/iso-time.js';

describe('isoOfMs', () => {
  it('writes what toISOString writes, for every year 0000–9999', () => {
    const first = Date.parse('0000-01-01T00:00:00.000Z');
    const last = Date.parse('9999-12-31T23:59:59.999Z');
    const samples = [
      first,
      last,
      0,
      -1,
      1,
      86_399_999,
      86_400_000,
      Date.parse('2000-02-29T12:00:00.000Z'),
      Date.parse('1900-03-01T00:00:00.000Z'),
      Date.parse('2026-12-31T23:59:59.999Z'),
    ];
    let x = 12345;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      samples.push(first + Math.floor((x / 2147483648) * (last - first)));
      samples.push(Date.parse('2026-01-01T00:00:00.000Z') + x);
    }
    for (const ms of samples) expect(isoOfMs(ms)).toBe(new Date(ms).toISOString());
  });
});
