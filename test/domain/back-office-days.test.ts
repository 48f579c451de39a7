import { describe, expect, it } from 'vitest';
import { carryBefore, daySummary, overlapping, type DaySummary } from '../../src/domain/back-office/days.js';
import { parseDayId } from '../../src/domain/back-office/registers.js';
import { Figures, Money, dayReport } from '../../src/domain/reports.js';
import type { ClosedDay } from '../../src/store/back-office-port.js';

const money = new Money('EUR');

/** A real Z report that leaves `cash` in the drawer and `grandTotal` (no sales: it carries what it got). */
function closedDay(dayNo: number, cash: number, grandTotal: number): ClosedDay {
  const meta = { dayId: `R:${dayNo}`, cashRegisterName: 'R', dayNo, openedAt: `2026-01-0${dayNo}T08:00:00.000Z`, closedAt: `2026-01-0${dayNo}T20:00:00.000Z` };
  return { ...meta, closedBy: 'admin', report: dayReport(meta, new Figures(), [], { cash, grandTotal }, money) };
}

function register(closed: ClosedDay[], lastClosed: number | null) {
  return { closed: new Map(closed.map((d) => [d.dayNo, d])), lastClosed: closed.find((d) => d.dayNo === lastClosed) ?? null };
}

describe('parseDayId', () => {
  it.each([
    ['TAB-1:1', { register: 'TAB-1', dayNo: 1 }],
    ['TAB-1:42', { register: 'TAB-1', dayNo: 42 }],
    ['Shop:TAB:7', { register: 'Shop:TAB', dayNo: 7 }],
    ['TAB-1:999999999', { register: 'TAB-1', dayNo: 999_999_999 }],
    ['TAB-1:1000000000', null],
    ['TAB-1:0', null],
    ['TAB-1:01', null],
    ['TAB-1:-1', null],
    ['TAB-1:1a', null],
    ['TAB-1:', null],
    [':1', null],
    ['TAB-1', null],
    ['', null],
  ])('%j → %j', (dayId, expected) => {
    expect(parseDayId(dayId)).toEqual(expected);
  });
});

describe('carryBefore', () => {
  const d1 = closedDay(1, 10, 100);
  const d2 = closedDay(2, 20, 250);
  const d4 = closedDay(4, 40, 400);
  it.each([
    ['no day closed yet', [], null, 1, { cash: 0, grandTotal: 0 }],
    ['the day after the last closed one', [d1, d2], 2, 3, { cash: 20, grandTotal: 250 }],
    ['a later day, a day number skipped', [d1, d2], 2, 5, { cash: 20, grandTotal: 250 }],
    ['a day before the last closed one: the latest closed before it', [d1, d2, d4], 4, 3, { cash: 20, grandTotal: 250 }],
    ['the last closed day itself: the one closed before it', [d1, d2, d4], 4, 4, { cash: 20, grandTotal: 250 }],
    ['the first day: nothing before it', [d1, d2], 2, 1, { cash: 0, grandTotal: 0 }],
  ] as [string, ClosedDay[], number | null, number, { cash: number; grandTotal: number }][])('%s', (_, closed, last, dayNo, expected) => {
    expect(carryBefore(register(closed, last), dayNo)).toEqual(expected);
  });
});

describe('overlapping', () => {
  const day = (dayId: string, openedAt: string, closedAt: string | null): DaySummary => ({
    dayId,
    cashRegisterName: dayId.split(':')[0],
    dayNo: Number(dayId.split(':')[1]),
    status: closedAt === null ? 'open' : 'closed',
    openedAt,
    closedAt,
    saleCount: 0,
    refundCount: 0,
    cancelCount: 0,
    gross: 0,
  });
  const days = [
    day('B:2', '2026-01-02T08:00:00.000Z', null),
    day('A:1', '2026-01-01T08:00:00.000Z', '2026-01-01T20:00:00.000Z'),
    day('B:1', '2026-01-01T08:00:00.000Z', '2026-01-02T07:00:00.000Z'),
    day('A:2', '2026-01-03T08:00:00.000Z', null),
  ];
  it.each([
    ['no range: all, by opening time then day id', {}, ['A:1', 'B:1', 'B:2', 'A:2']],
    ['from: days closed before it are left out, open days stay', { from: '2026-01-02T00:00:00.000Z' }, ['B:1', 'B:2', 'A:2']],
    ['from equal to a close: that day overlaps', { from: '2026-01-01T20:00:00.000Z' }, ['A:1', 'B:1', 'B:2', 'A:2']],
    ['to: days opened at or after it are left out', { to: '2026-01-02T08:00:00.000Z' }, ['A:1', 'B:1']],
    ['from and to', { from: '2026-01-01T21:00:00.000Z', to: '2026-01-03T00:00:00.000Z' }, ['B:1', 'B:2']],
    ['an empty range', { from: '2026-02-01T00:00:00.000Z', to: '2026-01-01T00:00:00.000Z' }, []],
  ] as [string, { from?: string; to?: string }, string[]][])('%s', (_, range, expected) => {
    expect(overlapping(days, range).map((d) => d.dayId)).toEqual(expected);
  });
});

describe('daySummary', () => {
  it('takes the day, its counts and gross from the report, with the status given', () => {
    const z = closedDay(3, 5, 50).report;
    expect(daySummary(z, 'closed')).toEqual({
      dayId: 'R:3',
      cashRegisterName: 'R',
      dayNo: 3,
      status: 'closed',
      openedAt: z.openedAt,
      closedAt: z.closedAt,
      saleCount: 0,
      refundCount: 0,
      cancelCount: 0,
      gross: 0,
    });
  });
});
