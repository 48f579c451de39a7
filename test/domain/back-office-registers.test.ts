import { describe, expect, it } from 'vitest';
import { maxIso, mergePresence, presenceDoc } from '../../src/domain/back-office/presence.js';
import { Registers, registration } from '../../src/domain/back-office/registers.js';
import { Figures, Money, dayReport } from '../../src/domain/reports.js';
import { AppError } from '../../src/errors.js';

const T1 = '2026-01-01T10:00:00.000Z';
const T2 = '2026-01-01T11:00:00.000Z';

describe('Registers', () => {
  it('knows the configured registers and devices, and others once mentioned (never configured by it)', () => {
    const registers = new Registers([
      { username: 'tab-b', cashRegister: 'B' },
      { username: 'tab-a', cashRegister: 'A' },
      { username: 'tab-a2', cashRegister: 'A' },
    ]);
    expect(registers.names()).toEqual(['B', 'A']);
    const c = registers.register('C');
    registers.device(c, 'stray');
    expect(registers.register('C')).toBe(c);
    expect(registers.registrations().map((r) => [r.cashRegisterName, r.configured, r.devices.map((d) => [d.username, d.configured])])).toEqual([
      [
        'A',
        true,
        [
          ['tab-a', true],
          ['tab-a2', true],
        ],
      ],
      ['B', true, [['tab-b', true]]],
      ['C', false, [['stray', false]]],
    ]);
    registers.register('C', true);
    registers.register('C');
    expect(registers.known('C').configured).toBe(true);
  });

  it('answers 404 not_found for a register it does not know, without making it', () => {
    const registers = new Registers([]);
    expect(() => registers.known('X')).toThrow(AppError);
    expect(() => registers.known('X')).toThrow(/cash register X not found/);
    expect(registers.get('X')).toBeUndefined();
    expect(registers.names()).toEqual([]);
  });

  it('sorts registrations and devices as identifiers sort (numbers first, by value)', () => {
    const registers = new Registers(['10', '9', 'b', 'a'].map((r) => ({ username: `d${r}`, cashRegister: r })));
    for (const u of ['d10', 'd2', 'x']) registers.device(registers.register('9'), u);
    expect(registers.registrations().map((r) => r.cashRegisterName)).toEqual(['9', '10', 'a', 'b']);
    expect(registration(registers.known('9')).devices.map((d) => d.username)).toEqual(['d10', 'd2', 'd9', 'x']);
  });

  it('a registration shows the open day and the last closed one', () => {
    const registers = new Registers([{ username: 'tab', cashRegister: 'R' }]);
    const reg = registers.known('R');
    expect(registration(reg)).toEqual({
      cashRegisterName: 'R',
      configured: true,
      devices: [{ username: 'tab', configured: true, lastSeenAt: null, lastPushAt: null }],
      lastSeenAt: null,
      lastPushAt: null,
      version: 0,
      currentDayId: null,
      lastClosedDayId: null,
    });
    reg.open = { dayNo: 3, dayId: 'R:3', openedAt: T2, figures: new Figures(), movements: [] };
    const meta = { dayId: 'R:2', cashRegisterName: 'R', dayNo: 2, openedAt: T1, closedAt: T2 };
    reg.lastClosed = { ...meta, closedBy: 'admin', report: dayReport(meta, new Figures(), [], { cash: 0, grandTotal: 0 }, new Money('EUR')) };
    reg.version = 7;
    expect(registration(reg)).toMatchObject({ version: 7, currentDayId: 'R:3', lastClosedDayId: 'R:2' });
  });
});

describe('maxIso', () => {
  it.each([
    [null, null, null],
    [T1, null, T1],
    [null, T1, T1],
    [T1, T2, T2],
    [T2, T1, T2],
    [T1, T1, T1],
  ])('max(%s, %s) = %s', (a, b, expected) => {
    expect(maxIso(a, b)).toBe(expected);
  });
});

describe('presence', () => {
  it('merges stored times into known registers and devices (later wins), ignores unknown ones, and writes back what it knows', () => {
    const registers = new Registers([{ username: 'tab', cashRegister: 'R' }]);
    const reg = registers.known('R');
    reg.lastSeenAt = T2;
    mergePresence(registers, {
      registers: {
        R: { lastSeenAt: T1, lastPushAt: T1, devices: { tab: { lastSeenAt: T2, lastPushAt: null }, gone: { lastSeenAt: T2, lastPushAt: T2 } } },
        Left: { lastSeenAt: T2, lastPushAt: T2, devices: {} },
      },
    });
    expect(registers.names()).toEqual(['R']);
    expect(presenceDoc(registers)).toEqual({
      registers: { R: { lastSeenAt: T2, lastPushAt: T1, devices: { tab: { lastSeenAt: T2, lastPushAt: null } } } },
    });
  });
});
