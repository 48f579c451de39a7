import { AppError, notFound } from '../../errors.js';
import type { BackOfficeStore, ClosedDay, DayFiguresRow } from '../ports/back-office-store.js';
import { figuresToJson } from '../figures-json.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';
import type { SalesLedger } from '../ledger.js';
import { Figures, dayReport, type Carry, type DayReport, type Money } from '../reports.js';
import { parseDayId, type DayState, type RegisterState, type Registers } from './registers.js';

export interface DaySummary {
  dayId: string;
  cashRegisterName: string;
  dayNo: number;
  status: 'open' | 'closed';
  openedAt: string;
  closedAt: string | null;
  saleCount: number;
  refundCount: number;
  cancelCount: number;
  gross: number;
}

export interface DaysOptions {
  registers: Registers;
  ledger: SalesLedger;
  uow: UnitOfWork;
  store: BackOfficeStore;
  money: Money;
  now: () => Date;
  /** After a day is closed: presence is written along with it. */
  savePresence: () => void;
}

/**
 * Register days: a day opens with the register's first sale or balance change and closes on
 * request; an open day answers an X report (live), a closed one its Z report (frozen when closed).
 */
export class Days {
  constructor(private readonly opts: DaysOptions) {}

  /** The register's open day, opened now when there is none. */
  openDay(reg: RegisterState, at: Date): DayState {
    if (reg.open) return reg.open;
    const dayNo = ++reg.lastDayNo;
    reg.open = { dayNo, dayId: `${reg.name}:${dayNo}`, openedAt: at.toISOString(), figures: new Figures(), movements: [] };
    return reg.open;
  }

  isClosed(dayId: string): boolean {
    const parsed = parseDayId(dayId);
    return parsed !== null && (this.opts.registers.get(parsed.register)?.closed.has(parsed.dayNo) ?? false);
  }

  /**
   * Closes the register's open day and returns its Z report. With `dayId`, closing is idempotent:
   * a day already closed answers its Z report again (alreadyClosed), so a retried close never
   * closes the next day by accident. Without one, no open day is 422 day_is_not_open.
   */
  closeDay(register: string, by: string, dayId?: string): Promise<{ report: DayReport; alreadyClosed: boolean }> {
    return this.opts.ledger.exclusive(async () => {
      const reg = this.opts.registers.known(register);
      if (dayId !== undefined) {
        const parsed = parseDayId(dayId);
        if (!parsed || parsed.register !== register) throw new AppError('bad_request', `dayId ${dayId} is not a day of register ${register}`);
        const closed = reg.closed.get(parsed.dayNo);
        if (closed) return { report: closed.report, alreadyClosed: true };
        if (reg.open?.dayNo !== parsed.dayNo)
          throw new AppError('day_is_not_open', `day ${dayId} is not open (the register's open day is ${reg.open?.dayId ?? 'none'})`);
      }
      const day = reg.open;
      if (!day) {
        throw new AppError(
          'day_is_not_open',
          `register ${register} has no open day (a day opens with its first sale or balance change); last closed: ${reg.lastClosed?.dayId ?? 'none'}`,
        );
      }
      // Every change already accounted in the day must be on disk before its Z report is.
      await this.opts.uow.durable();
      const closed = await this.freeze(reg, day, by);
      this.opts.savePresence();
      return { report: closed.report, alreadyClosed: false };
    });
  }

  /** Writes the day's Z report and marks the day closed. */
  async freeze(reg: RegisterState, day: DayState, by: string): Promise<ClosedDay> {
    const closedAt = this.opts.now().toISOString();
    const report = this.reportOf(reg, day, closedAt);
    const closed: ClosedDay = { dayId: day.dayId, cashRegisterName: reg.name, dayNo: day.dayNo, openedAt: day.openedAt, closedAt, closedBy: by, report };
    await this.opts.store.putClosedDay(closed);
    reg.closed.set(day.dayNo, closed);
    this.opts.store.putDayFigures(day.dayId, () => dayFiguresRow(reg, day));
    if (!reg.lastClosed || reg.lastClosed.dayNo < day.dayNo) reg.lastClosed = closed;
    if (reg.open?.dayNo === day.dayNo) reg.open = null;
    reg.version++;
    return closed;
  }

  /** The day's report as of now, closed at `closedAt` (null: an X report). */
  reportOf(reg: RegisterState, day: DayState, closedAt: string | null): DayReport {
    const meta = { dayId: day.dayId, cashRegisterName: reg.name, dayNo: day.dayNo, openedAt: day.openedAt, closedAt };
    return dayReport(meta, day.figures, day.movements, carryBefore(reg, day.dayNo), this.opts.money);
  }

  /** X report of an open day (live), Z report of a closed one (as frozen). */
  report(dayId: string): DayReport {
    const { reg, dayNo } = this.dayRef(dayId);
    const closed = reg.closed.get(dayNo);
    if (closed) return closed.report;
    if (reg.open?.dayNo === dayNo) return this.reportOf(reg, reg.open, null);
    throw notFound(`day ${dayId}`);
  }

  currentDayId(register: string): string | null {
    return this.opts.registers.known(register).open?.dayId ?? null;
  }

  day(dayId: string): DaySummary {
    const { reg, dayNo } = this.dayRef(dayId);
    const closed = reg.closed.get(dayNo);
    if (closed) return daySummary(closed.report, 'closed');
    if (reg.open?.dayNo === dayNo) return daySummary(this.reportOf(reg, reg.open, null), 'open');
    throw notFound(`day ${dayId}`);
  }

  /** Days that overlap [from, to), oldest first. */
  days(filter: { register?: string; from?: string; to?: string }): DaySummary[] {
    const out: DaySummary[] = [];
    const { registers } = this.opts;
    const regs = filter.register !== undefined ? [registers.known(filter.register)] : [...registers.all()];
    for (const reg of regs) {
      for (const d of reg.closed.values()) out.push(daySummary(d.report, 'closed'));
      if (reg.open) out.push(daySummary(this.reportOf(reg, reg.open, null), 'open'));
    }
    return overlapping(out, filter);
  }

  private dayRef(dayId: string): { reg: RegisterState; dayNo: number } {
    const parsed = parseDayId(dayId);
    const reg = parsed ? this.opts.registers.get(parsed.register) : undefined;
    if (!parsed || !reg) throw notFound(`day ${dayId}`);
    return { reg, dayNo: parsed.dayNo };
  }
}

/** The day's figures as a store that keeps rows writes them. */
export function dayFiguresRow(reg: RegisterState, day: DayState): DayFiguresRow {
  const { dayId, dayNo, openedAt } = day;
  return { dayId, cashRegisterName: reg.name, dayNo, openedAt, closed: reg.closed.has(dayNo), figures: figuresToJson(day.figures) };
}

/** What a day carries over from the latest day closed before day `dayNo`: expected cash and grand total. */
export function carryBefore(reg: Pick<RegisterState, 'closed' | 'lastClosed'>, dayNo: number): Carry {
  let best: ClosedDay | null = null;
  if (reg.lastClosed && reg.lastClosed.dayNo < dayNo) best = reg.lastClosed;
  else for (const d of reg.closed.values()) if (d.dayNo < dayNo && (!best || d.dayNo > best.dayNo)) best = d;
  return best ? { cash: best.report.balance.expectedCash, grandTotal: best.report.grandTotal } : { cash: 0, grandTotal: 0 };
}

/** The days that overlap [from, to) (an open day has no end), by opening time, then day id. */
export function overlapping(days: DaySummary[], range: { from?: string; to?: string }): DaySummary[] {
  return days
    .filter((d) => (range.to === undefined || d.openedAt < range.to) && (range.from === undefined || d.closedAt === null || d.closedAt >= range.from))
    .sort((a, b) => (a.openedAt < b.openedAt ? -1 : a.openedAt > b.openedAt ? 1 : a.dayId < b.dayId ? -1 : 1));
}

export function daySummary(r: DayReport, status: DaySummary['status']): DaySummary {
  return {
    dayId: r.dayId,
    cashRegisterName: r.cashRegisterName,
    dayNo: r.dayNo,
    status,
    openedAt: r.openedAt,
    closedAt: r.closedAt,
    saleCount: r.saleCount,
    refundCount: r.refundCount,
    cancelCount: r.cancelCount,
    gross: r.gross,
  };
}
