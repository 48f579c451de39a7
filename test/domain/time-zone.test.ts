import { describe, expect, it } from 'vitest';
import { isTimeZone, ShopTimeZone } from '../../src/domain/time-zone.js';

describe('ShopTimeZone', () => {
  it.each([
    // zone, instant, local date, printed
    ['UTC', '2026-04-04T23:59:59.999Z', '2026-04-04', '2026-04-04 23:59 UTC'],
    ['Australia/Sydney', '2026-04-04T12:59:59.999Z', '2026-04-04', '2026-04-04 23:59 +11:00'],
    ['Australia/Sydney', '2026-04-04T13:00:00.000Z', '2026-04-05', '2026-04-05 00:00 +11:00'],
    // 03:00 AEDT becomes 02:00 AEST: the next midnight is at 14:00 UTC.
    ['Australia/Sydney', '2026-04-05T13:59:59.999Z', '2026-04-05', '2026-04-05 23:59 +10:00'],
    ['Australia/Sydney', '2026-04-05T14:00:00.000Z', '2026-04-06', '2026-04-06 00:00 +10:00'],
    ['America/Los_Angeles', '2026-03-08T07:59:59.999Z', '2026-03-07', '2026-03-07 23:59 -08:00'],
    ['America/Los_Angeles', '2026-03-08T08:00:00.000Z', '2026-03-08', '2026-03-08 00:00 -08:00'],
    ['America/Los_Angeles', '2026-03-08T10:00:00.000Z', '2026-03-08', '2026-03-08 03:00 -07:00'],
    ['America/Los_Angeles', '2026-03-09T06:59:59.999Z', '2026-03-08', '2026-03-08 23:59 -07:00'],
    ['America/Los_Angeles', '2026-03-09T07:00:00.000Z', '2026-03-09', '2026-03-09 00:00 -07:00'],
    ['Asia/Kolkata', '2026-03-08T18:29:59.999Z', '2026-03-08', '2026-03-08 23:59 +05:30'],
    ['Asia/Kolkata', '2026-03-08T18:30:00.000Z', '2026-03-09', '2026-03-09 00:00 +05:30'],
    ['Europe/London', '2026-01-15T00:00:00.000Z', '2026-01-15', '2026-01-15 00:00 +00:00'],
  ])('%s: %s is on %s, printed %s', (zone, at, date, printed) => {
    const tz = new ShopTimeZone(zone);
    expect(tz.dateOf(at)).toBe(date);
    expect(tz.dateOf(new Date(at))).toBe(date);
    expect(tz.short(at)).toBe(printed);
  });

  it('tells a local midnight, and changes in place', () => {
    const tz = new ShopTimeZone('America/Los_Angeles');
    expect(tz.startsDay(new Date('2026-03-09T07:00:00Z'))).toBe(true);
    expect(tz.startsDay(new Date('2026-03-09T08:00:00Z'))).toBe(false);
    tz.set('Australia/Sydney');
    expect(tz.dateOf('2026-03-09T07:00:00Z')).toBe('2026-03-09');
    expect(tz.startsDay(new Date('2026-03-08T13:00:00Z'))).toBe(true);
    tz.set(undefined);
    expect(tz.name).toBe('UTC');
    expect(tz.startsDay(new Date('2026-03-09T00:00:00Z'))).toBe(true);
  });

  it('shows a time of today with seconds, another day with its date', () => {
    const tz = new ShopTimeZone('Australia/Sydney');
    expect(tz.clock(new Date('2026-04-05T14:00:05Z'), new Date('2026-04-05T15:00:00Z'))).toBe('00:00:05 +10:00');
    expect(tz.clock(new Date('2026-04-05T13:00:05Z'), new Date('2026-04-05T15:00:00Z'))).toBe('2026-04-05 23:00 +10:00');
    expect(new ShopTimeZone().clock(new Date('2026-04-05T14:00:05Z'), new Date('2026-04-05T15:00:00Z'))).toBe('14:00:05 UTC');
  });

  it('knows IANA zones', () => {
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });
});
