import { figuresFromJson } from '../figures-json.js';
import { Figures } from '../reports.js';
import type { BackOfficeRefresh } from '../ports/back-office-store.js';
import { mergePresence } from './presence.js';
import { parseDayId, type Registers, type RegisterState } from './registers.js';

/**
 * Rows another process wrote (PostgreSQL, several processes on one database), applied to this
 * process's register state: each row is the register, day or movement as stored now, so it
 * replaces what this process held. With `full`, what this process held is dropped first (its
 * failed writes were dropped). Runs between units of work, never inside one.
 */
export function applyRefresh(registers: Registers, r: BackOfficeRefresh): void {
  const touched = new Set<RegisterState>();
  if (r.full) {
    for (const reg of registers.all()) {
      reg.saleChanges = 0;
      reg.saleDevices.clear();
      reg.closed.clear();
      reg.lastClosed = null;
      reg.open = null;
      reg.lastDayNo = 0;
      reg.movementCount = 0;
      touched.add(reg);
    }
  }
  for (const row of r.registers) {
    const reg = registers.register(row.cashRegisterName);
    reg.saleChanges = row.saleChanges;
    for (const device of row.devices) registers.soldBy(reg, device);
    touched.add(reg);
  }
  for (const day of r.closedDays) {
    const reg = registers.register(day.cashRegisterName);
    reg.closed.set(day.dayNo, day);
    if (!reg.lastClosed || reg.lastClosed.dayNo < day.dayNo) reg.lastClosed = day;
    if (reg.open?.dayNo === day.dayNo) reg.open = null;
    reg.lastDayNo = Math.max(reg.lastDayNo, day.dayNo);
    touched.add(reg);
  }
  for (const row of r.days) {
    const reg = registers.register(row.cashRegisterName);
    touched.add(reg);
    reg.lastDayNo = Math.max(reg.lastDayNo, row.dayNo);
    if (row.closed || reg.closed.has(row.dayNo) || row.dayNo < reg.lastDayNo) continue;
    const movements = reg.open?.dayId === row.dayId ? reg.open.movements : [];
    reg.open = { dayNo: row.dayNo, dayId: row.dayId, openedAt: row.openedAt, figures: figuresFromJson(row.figures), movements };
  }
  for (const m of r.movements) {
    const reg = registers.register(m.cashRegisterName);
    touched.add(reg);
    const n = Number(m.id.slice(m.id.lastIndexOf(':') + 1));
    if (Number.isSafeInteger(n)) reg.movementCount = Math.max(reg.movementCount, n);
    const day = parseDayId(m.dayId);
    if (day) reg.lastDayNo = Math.max(reg.lastDayNo, day.dayNo);
    if (reg.closed.has(day?.dayNo ?? -1)) continue;
    if (!reg.open || reg.open.dayId !== m.dayId) {
      // A day opened by a cash movement (no figures row yet): the register's latest day.
      if (!day || day.dayNo < reg.lastDayNo) continue;
      reg.open = { dayNo: day.dayNo, dayId: m.dayId, openedAt: m.at, figures: new Figures(), movements: [] };
    }
    if (!reg.open.movements.some((x) => x.id === m.id)) {
      reg.open.movements.push(m);
      reg.open.movements.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    }
  }
  if (r.presence) mergePresence(registers, r.presence);
  // The version counts sale changes, closed days and cash movements (as at start-up).
  for (const reg of touched) reg.version = reg.saleChanges + reg.closed.size + reg.movementCount;
}
