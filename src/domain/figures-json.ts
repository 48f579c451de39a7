import { Exact } from './exact.js';
import { Figures, ItemFigures } from './reports.js';

/** An exact sum as [units, scale] (units × 10^-scale; units as a string: it may exceed a double). */
export type ExactJson = [units: string, scale: number];

export interface FiguresJson {
  saleCount: number;
  refundCount: number;
  cancelCount: number;
  reinstatedCount: number;
  gross: ExactJson;
  salesTotal: ExactJson;
  reinstatedTotal: ExactJson;
  changedTotal: ExactJson;
  discounts: ExactJson;
  cost: ExactJson;
  refundTotal: ExactJson;
  cancelTotal: ExactJson;
  byRate: Record<string, { gross: ExactJson; vat: ExactJson }>;
  payments: Record<string, ExactJson>;
}

export interface ItemFiguresJson {
  name: string;
  saleCount: number;
  reversalCount: number;
  quantity: ExactJson;
  gross: ExactJson;
  vat: ExactJson;
  cost: ExactJson;
}

const SUMS = ['gross', 'salesTotal', 'reinstatedTotal', 'changedTotal', 'discounts', 'cost', 'refundTotal', 'cancelTotal'] as const;
const ITEM_SUMS = ['quantity', 'gross', 'vat', 'cost'] as const;

export const exactJson = (x: Exact): ExactJson => [x.units.toString(), x.scale];
const addJson = (to: Exact, j: ExactJson) => to.add(Exact.fromUnits(BigInt(j[0]), j[1]));

/** Figures as JSON, losslessly (every sum keeps its units and scale): figuresFromJson gives them back. */
export function figuresToJson(f: Figures): FiguresJson {
  const out = {
    saleCount: f.saleCount,
    refundCount: f.refundCount,
    cancelCount: f.cancelCount,
    reinstatedCount: f.reinstatedCount,
    byRate: Object.fromEntries([...f.byRate].map(([rate, v]) => [rate, { gross: exactJson(v.gross), vat: exactJson(v.vat) }])),
    payments: Object.fromEntries([...f.payments].map(([method, v]) => [method, exactJson(v)])),
  } as FiguresJson;
  for (const k of SUMS) out[k] = exactJson(f[k]);
  return out;
}

export function figuresFromJson(j: FiguresJson): Figures {
  const f = new Figures();
  f.saleCount = j.saleCount;
  f.refundCount = j.refundCount;
  f.cancelCount = j.cancelCount;
  f.reinstatedCount = j.reinstatedCount;
  for (const k of SUMS) addJson(f[k], j[k]);
  for (const [rate, v] of Object.entries(j.byRate)) f.byRate.set(rate, { gross: addJson(new Exact(), v.gross), vat: addJson(new Exact(), v.vat) });
  for (const [method, v] of Object.entries(j.payments)) f.payments.set(method, addJson(new Exact(), v));
  return f;
}

export function itemsToJson(items: Map<string, ItemFigures>): Record<string, ItemFiguresJson> {
  const out: Record<string, ItemFiguresJson> = {};
  for (const [key, it] of items) {
    const j = { name: it.name, saleCount: it.saleCount, reversalCount: it.reversalCount } as ItemFiguresJson;
    for (const k of ITEM_SUMS) j[k] = exactJson(it[k]);
    out[key] = j;
  }
  return out;
}

export function itemsFromJson(j: Record<string, ItemFiguresJson>): Map<string, ItemFigures> {
  const out = new Map<string, ItemFigures>();
  for (const [key, v] of Object.entries(j)) {
    const it = new ItemFigures();
    it.name = v.name;
    it.saleCount = v.saleCount;
    it.reversalCount = v.reversalCount;
    for (const k of ITEM_SUMS) addJson(it[k], v[k]);
    out.set(key, it);
  }
  return out;
}
