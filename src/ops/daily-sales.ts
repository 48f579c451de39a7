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
  /** Local calendar day, YYYY-MM-DD. */
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
  const rows = [...per.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([register, r]) => ({
    register, sales: r.sales, total: money(r.total), reversed: r.reversed, reversedTotal: money(r.reversedTotal),
  }));
  const sum = (f: (r: RegisterDay) => string) => money(rows.reduce((s, r) => s.plus(f(r)), new Decimal(0)));
  return {
    day, registers: rows,
    sales: rows.reduce((n, r) => n + r.sales, 0), total: sum((r) => r.total),
    reversed: rows.reduce((n, r) => n + r.reversed, 0), reversedTotal: sum((r) => r.reversedTotal),
  };
}

/** Exact, with at least two decimals: 11.36, 4.50, 0.125. */
export const money = (d: Decimal) => d.toFixed(Math.max(2, d.decimalPlaces()));

/** [start, end) of the local calendar day containing `now`, as ISO instants (DST-safe). */
export function localDayRange(now: Date): { day: string; from: string; to: string } {
  const start = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const end = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  const pad = (n: number) => String(n).padStart(2, '0');
  return { day: `${start.getFullYear()}-${pad(start.getMonth() + 1)}-${pad(start.getDate())}`, from: start.toISOString(), to: end.toISOString() };
}

/**
 * Today's sales per register (by the sale's own time, in the server's time zone). The index
 * scan is in memory; sale totals are read from the store once per sale change and cached.
 */
export class DailySales {
  private readonly totals = new Map<string, { seq: number; total: number }>();

  constructor(private readonly ledger: Pick<SalesLedger, 'entries' | 'getSale'>, private readonly now: () => Date) {}

  async today(registers: string[] = []): Promise<DaySummary> {
    const { day, from, to } = localDayRange(this.now());
    const entries = [...this.ledger.entries((e) => e.createdAt >= from && e.createdAt < to)];
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
    return summariseDay(day, figures, registers);
  }
}
