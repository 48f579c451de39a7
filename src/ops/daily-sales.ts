import type { SalesLedger } from '../domain/ledger.js';
import { isReversed, type SaleStatus } from '../domain/types.js';
import { Decimal } from '../translate/decimal.js';

export interface RegisterDay {
  register: string;
  /** Completed sales and their total. */
  sales: number;
  total: string;
  /** Refunded or cancelled sales and their total. */
  reversed: number;
  reversedTotal: string;
}

export interface DaySummary {
  /** What "today" is: each register's open business day (as the X report), or a local calendar day. */
  day: string;
  registers: RegisterDay[];
  sales: number;
  total: string;
  reversed: number;
  reversedTotal: string;
}

export interface SaleFigure {
  register: string;
  status: SaleStatus;
  total: number | string;
}

/** Sums sale totals per register in decimal (never floats); registers listed first appear even with no sale. */
export function summariseDay(day: string, sales: Iterable<SaleFigure>, registers: string[] = []): DaySummary {
  const per = new Map<string, { sales: number; total: Decimal; reversed: number; reversedTotal: Decimal }>();
  const row = (register: string) => {
    let r = per.get(register);
    if (!r) per.set(register, (r = { sales: 0, total: new Decimal(0), reversed: 0, reversedTotal: new Decimal(0) }));
    return r;
  };
  for (const register of registers) row(register);
  for (const s of sales) {
    const r = row(s.register);
    if (isReversed(s.status)) {
      r.reversed++;
      r.reversedTotal = r.reversedTotal.plus(String(s.total));
    } else {
      r.sales++;
      r.total = r.total.plus(String(s.total));
    }
  }
  const rows = [...per.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([register, r]) => ({
      register,
      sales: r.sales,
      total: money(r.total),
      reversed: r.reversed,
      reversedTotal: money(r.reversedTotal),
    }));
  const sum = (f: (r: RegisterDay) => string) => money(rows.reduce((s, r) => s.plus(f(r)), new Decimal(0)));
  return {
    day,
    registers: rows,
    sales: rows.reduce((n, r) => n + r.sales, 0),
    total: sum((r) => r.total),
    reversed: rows.reduce((n, r) => n + r.reversed, 0),
    reversedTotal: sum((r) => r.reversedTotal),
  };
}

/** Exact, with at least two decimals: 11.36, 4.50, 0.125. */
export const money = (d: Decimal) => d.toFixed(Math.max(2, d.decimalPlaces()));

/** Which business day a sale belongs to and which day each register has open (the back office's days). */
export interface BusinessDays {
  currentDayId(register: string): string | null;
  registerNames(): string[];
}

/** What the status page says "today" is. */
export const BUSINESS_DAY_NOTE = "each register's open day, as in its X report";

/**
 * Today's sales per register: the sales of each register's open business day, the day its X
 * report covers (a sale belongs to the day open when the gateway received it, whatever its own
 * date). The sales view lists them; sale totals are read from the store once per sale change and cached.
 */
export class DailySales {
  private readonly totals = new Map<string, { seq: number; total: number }>();

  constructor(
    private readonly ledger: Pick<SalesLedger, 'ofDays' | 'getSale'>,
    private readonly days: BusinessDays,
  ) {}

  async today(registers: string[] = []): Promise<DaySummary> {
    const openDays = new Map<string, string | null>();
    const openDayOf = (register: string) => {
      if (!openDays.has(register)) {
        let dayId: string | null = null;
        try {
          dayId = this.days.currentDayId(register);
        } catch {
          /* a register without sales has no day */
        }
        openDays.set(register, dayId);
      }
      return openDays.get(register)!;
    };
    // A day id belongs to one register: the sales of the open days are the sales of each register's open day.
    const openDayIds = [...new Set([...this.days.registerNames(), ...registers].map(openDayOf))].filter((d): d is string => d !== null);
    const entries = await this.ledger.ofDays(openDayIds);
    const figures: SaleFigure[] = [];
    const keep = new Set<string>();
    for (const e of entries) {
      keep.add(e.identifier);
      let cached = this.totals.get(e.identifier);
      if (!cached || cached.seq !== e.seq) {
        const record = await this.ledger.getSale(e.identifier);
        if (!record) continue;
        cached = { seq: e.seq, total: record.sale.total };
        this.totals.set(e.identifier, cached);
      }
      figures.push({ register: e.cashRegisterName, status: e.status, total: cached.total });
    }
    for (const id of this.totals.keys()) if (!keep.has(id)) this.totals.delete(id);
    return summariseDay(BUSINESS_DAY_NOTE, figures, registers);
  }
}
