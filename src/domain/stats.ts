import { ItemTable } from './item-table.js';
import type { DateRange, ItemSums, StatsBucket, StatsStore } from './ports/back-office-store.js';
import { Figures, type ItemFigures, summarise, type ChangeFacts, type FiguresSummary, type FootprintLine, type LineFacts, type Money } from './reports.js';

export type { DateRange, ItemSums, StatsBucket, StatsStore } from './ports/back-office-store.js';

interface MemoryBucket extends StatsBucket {
  products: ItemTable;
  categories: ItemTable;
  sales: string[];
}

/**
 * Running aggregates per (date of receipt in the shop's time zone, register) in memory (lowdb): figures, per product,
 * per category, and the sales first received that date. A stats query merges the buckets of its
 * range, so its cost follows the number of days and products asked for, never the number of sales stored.
 */
export class StatsIndex implements StatsStore {
  private readonly buckets = new Map<string, MemoryBucket>();

  apply(date: string, register: string, change: ChangeFacts): void {
    const b = this.bucket(date, register);
    b.figures.apply(change);
    b.products.apply(change, (line) => line.product);
    b.categories.apply(change, (line) => change.factsOf(line).category);
  }

  addSale(date: string, register: string, identifier: string): void {
    this.bucket(date, register).sales.push(identifier);
  }

  async select(range: DateRange, register?: string): Promise<StatsBucket[]> {
    return this.inRange(range, register);
  }

  async saleIds(range: DateRange, register?: string): Promise<string[]> {
    return this.inRange(range, register).flatMap((b) => b.sales);
  }

  private inRange(range: DateRange, register?: string): MemoryBucket[] {
    const out: MemoryBucket[] = [];
    for (const b of this.buckets.values()) {
      if (register !== undefined && b.register !== register) continue;
      if (range.from !== undefined && b.date < range.from) continue;
      if (range.to !== undefined && b.date >= range.to) continue;
      out.push(b);
    }
    return out.sort(byDateThenRegister);
  }

  private bucket(date: string, register: string): MemoryBucket {
    const key = `${date}\u0000${register}`;
    let b = this.buckets.get(key);
    if (!b) {
      b = { date, register, figures: new Figures(), products: new ItemTable(), categories: new ItemTable(), sales: [] };
      this.buckets.set(key, b);
    }
    return b;
  }
}

export const byDateThenRegister = (a: StatsBucket, b: StatsBucket) =>
  a.date < b.date ? -1 : a.date > b.date ? 1 : a.register < b.register ? -1 : a.register > b.register ? 1 : 0;

export function mergeItems(buckets: StatsBucket[], pick: (b: StatsBucket) => ItemSums): Map<string, ItemFigures> {
  const out = new Map<string, ItemFigures>();
  for (const b of buckets) pick(b).mergeInto(out);
  return out;
}

export function mergeByRegister(buckets: StatsBucket[]): Map<string, Figures> {
  const out = new Map<string, Figures>();
  for (const b of buckets) {
    let f = out.get(b.register);
    if (!f) out.set(b.register, (f = new Figures()));
    f.merge(b.figures);
  }
  return out;
}

export interface ItemRow {
  quantity: number;
  gross: number;
  net: number;
  vat: number;
  costPrice: number;
  margin: number;
  saleCount: number;
  reversalCount: number;
}

/** Rounded per-item figures; net = gross − VAT, margin = net − cost, each from rounded parts. */
export function itemRow(it: ItemFigures, money: Money): ItemRow {
  const gross = money.round(it.gross);
  const vat = money.round(it.vat);
  const cost = money.round(it.cost);
  const net = gross.minus(vat);
  return {
    quantity: it.quantity.toNumber() || 0,
    gross: money.num(gross),
    net: money.num(net),
    vat: money.num(vat),
    costPrice: money.num(cost),
    margin: money.num(net.minus(cost)),
    saleCount: it.saleCount,
    reversalCount: it.reversalCount,
  };
}

export type RegisterRow = { cashRegisterName: string } & Omit<FiguresSummary, 'vatRates'>;

export function registerRow(cashRegisterName: string, f: Figures, money: Money): RegisterRow {
  const { vatRates: _rates, ...summary } = summarise(f, money);
  return { cashRegisterName, ...summary };
}

export type { FootprintLine, LineFacts };
