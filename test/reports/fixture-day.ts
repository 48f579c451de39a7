import { readdirSync, readFileSync } from 'node:fs';
import { Decimal } from 'decimal.js';
import {
  Figures,
  Money,
  dayReport,
  vatRateOf,
  type BalanceMovement,
  type DayReport,
  type FootprintLine,
  type SaleFootprint,
  type SaleState,
} from '../../src/domain/reports.js';
import type { SaleStatus } from '../../src/domain/types.js';

/** Fixture days (fixtures/reports/*.json): events of a previous day and of the day under test, with hand-computed figures. */
export interface FixtureLine {
  product: string;
  name?: string;
  qty: number;
  total: number;
  vat: number;
  discount?: number;
  cost?: number;
}
export interface FixtureSale {
  id: string;
  pay: string;
  given?: number;
  returned?: number;
  status?: SaleStatus;
  vat?: number;
  lines: FixtureLine[];
}
export type FixtureEvent =
  | { sale: FixtureSale }
  | { change: string; status?: SaleStatus; pay?: string; via?: 'api' }
  | { deposit: number; note?: string }
  | { withdraw: number; note?: string };
export interface FixtureDay {
  description: string;
  taxes: Record<string, number>;
  products: Record<string, { name: string; tax: string }>;
  earlier: FixtureEvent[];
  earlierExpected: Record<string, unknown> | null;
  events: FixtureEvent[];
  expected: Record<string, unknown>;
}

const DIR = new URL('../../fixtures/reports/', import.meta.url);

export const fixtureDays = (): [string, FixtureDay][] =>
  readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f, JSON.parse(readFileSync(new URL(f, DIR), 'utf8'))]);

const sum = (xs: (number | undefined)[]) => xs.reduce((s: Decimal, x) => s.plus(x ?? 0), new Decimal(0)).toNumber();

export function footprint(s: FixtureSale): SaleFootprint {
  const total = sum(s.lines.map((l) => l.total));
  return {
    total,
    vat: s.vat ?? sum(s.lines.map((l) => l.vat)),
    discount: sum(s.lines.map((l) => l.discount)),
    costPrice: sum(s.lines.map((l) => l.cost)),
    lines: s.lines.map((l) => ({
      product: l.product,
      name: l.name ?? l.product,
      quantity: l.qty,
      total: l.total,
      vat: l.vat,
      discount: l.discount ?? 0,
      costPrice: l.cost ?? 0,
    })),
    payments: [{ method: s.pay, amount: total }],
  };
}

const CHECKOUT_TYPE: Record<string, string> = { cash: '0', credit_card: '1', card: '2' };
const CHECKOUT_STATUS: Record<SaleStatus, string> = { completed: '10', refunded: '11', cancelled: '12' };

/** The TabShop invoice a tablet would push for this fixture sale. */
export function invoiceOf(s: FixtureSale, id: string, date: number) {
  const f = footprint(s);
  return {
    id,
    date: String(date),
    checkoutType: CHECKOUT_TYPE[s.pay],
    checkoutStatus: CHECKOUT_STATUS[s.status ?? 'completed'],
    total: f.total,
    tax: f.vat,
    discount: f.discount,
    costPrice: f.costPrice,
    ...(s.given !== undefined && { givenCash: s.given }),
    ...(s.returned !== undefined && { returnedCash: s.returned }),
    customer: { name: '', address: '', email: '' },
    positions: s.lines.map((l) => ({
      productId: l.product,
      productName: l.name ?? l.product,
      posTitle: l.name ?? l.product,
      qty: l.qty,
      subtotal: new Decimal(l.total).plus(l.discount ?? 0).toNumber(),
      discount: l.discount ?? 0,
      total: l.total,
      tax: l.vat,
      costPrice: l.cost ?? 0,
    })),
  };
}

/** A push (not the API) never makes a reversed sale completed again (DESIGN §4.1): it changes nothing. */
export const isStaleRePush = (before: FixtureSale, e: { status?: SaleStatus; via?: 'api' }) =>
  e.via !== 'api' && (before.status ?? 'completed') !== 'completed' && (e.status ?? before.status ?? 'completed') === 'completed';

export function applyChange(s: FixtureSale, e: { status?: SaleStatus; pay?: string }): FixtureSale {
  return { ...s, ...(e.status !== undefined && { status: e.status }), ...(e.pay !== undefined && { pay: e.pay }) };
}

/** The fixture computed with the pure report functions alone. */
export function computeFixture(fx: FixtureDay): { earlier: DayReport; day: DayReport } {
  const money = new Money('EUR');
  const configured = Object.values(fx.taxes);
  const rateOf = (product: string) => (fx.products[product] ? fx.taxes[fx.products[product].tax] : undefined);
  const factsOf = (line: FootprintLine) => ({ vatRate: vatRateOf(line, rateOf(line.product), configured), category: '/' });
  const sales = new Map<string, FixtureSale>();
  const state = (s: FixtureSale): SaleState => ({ status: s.status ?? 'completed', footprint: footprint(s) });
  const run = (events: FixtureEvent[], dayId: string) => {
    const figures = new Figures();
    const movements: BalanceMovement[] = [];
    for (const e of events) {
      if ('sale' in e) {
        sales.set(e.sale.id, e.sale);
        figures.apply({ before: null, after: state(e.sale), factsOf });
      } else if ('change' in e) {
        const before = sales.get(e.change)!;
        const after = applyChange(before, e);
        if (isStaleRePush(before, e)) continue;
        sales.set(e.change, after);
        figures.apply({ before: state(before), after: state(after), factsOf });
      } else {
        const action = 'deposit' in e ? 'deposit' : 'withdraw';
        const amount = 'deposit' in e ? e.deposit : e.withdraw;
        movements.push({
          id: `m${movements.length}`,
          cashRegisterName: 'R',
          dayId,
          action,
          amount,
          note: e.note ?? '',
          at: '2026-01-01T00:00:00.000Z',
          by: 'admin',
        });
      }
    }
    return { figures, movements };
  };
  const e = run(fx.earlier, 'R:1');
  const earlier = dayReport(
    { dayId: 'R:1', cashRegisterName: 'R', dayNo: 1, openedAt: '', closedAt: 'x' },
    e.figures,
    e.movements,
    { cash: 0, grandTotal: 0 },
    money,
  );
  const d = run(fx.events, 'R:2');
  const day = dayReport(
    { dayId: 'R:2', cashRegisterName: 'R', dayNo: 2, openedAt: '', closedAt: null },
    d.figures,
    d.movements,
    { cash: earlier.balance.expectedCash, grandTotal: earlier.grandTotal },
    money,
  );
  return { earlier, day };
}
