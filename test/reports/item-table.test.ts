import { describe, expect, it } from 'vitest';
import { ItemTable } from '../../src/domain/item-table.js';
import { type ItemFigures, applyToItems, type ChangeFacts, type SaleFootprint, type FootprintLine } from '../../src/domain/reports.js';
import type { SaleStatus } from '../../src/domain/types.js';
import { prng } from '../torture/lib/generators.js';

const AMOUNTS: (() => number)[] = [
  () => 0,
  () => 1.5,
  () => 0.1,
  () => 123.45,
  () => -2.25,
  () => 1e-7,
  () => 0.2718181818181818,
  () => 9e15,
  () => 1e21,
  () => 3.99,
];

function footprint(rnd: () => number, products: number): SaleFootprint {
  const pick = () => AMOUNTS[Math.floor(rnd() * AMOUNTS.length)]();
  const lines: FootprintLine[] = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => ({
    product: `p${Math.floor(rnd() * products)}`,
    name: rnd() < 0.2 ? '' : `name ${Math.floor(rnd() * 3)}`,
    quantity: pick(),
    total: pick(),
    vat: pick(),
    discount: 0,
    costPrice: pick(),
  }));
  return { total: 0, vat: 0, discount: 0, costPrice: 0, lines, payments: [] };
}

const view = (m: Map<string, ItemFigures>) =>
  Object.fromEntries(
    [...m]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, it]) => [
        k,
        {
          name: it.name,
          saleCount: it.saleCount,
          reversalCount: it.reversalCount,
          quantity: it.quantity.toString(),
          gross: it.gross.toString(),
          vat: it.vat.toString(),
          cost: it.cost.toString(),
        },
      ]),
  );

describe('ItemTable', () => {
  it.each([1, 2, 3])('gives exactly what ItemFigures give (seed %i: amounts that need finer scales and that overflow doubles)', (seed) => {
    const rnd = prng(seed);
    const table = new ItemTable();
    const maps = new Map<string, ItemFigures>();
    const statuses: SaleStatus[] = ['completed', 'refunded', 'cancelled'];
    for (let i = 0; i < 3000; i++) {
      const after = { status: statuses[rnd() < 0.8 ? 0 : 1 + Math.floor(rnd() * 2)], footprint: footprint(rnd, 40) };
      const before = rnd() < 0.7 ? null : { status: statuses[Math.floor(rnd() * 3)], footprint: footprint(rnd, 40) };
      const change: ChangeFacts = { before, after, factsOf: () => ({ vatRate: '10', category: '/' }) };
      table.apply(change, (l) => l.product);
      applyToItems(maps, change, (l) => l.product);
    }
    const merged = new Map<string, ItemFigures>();
    table.mergeInto(merged);
    expect(view(merged)).toEqual(view(maps));
  });
});
