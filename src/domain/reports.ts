import { Decimal, decimalKey, toDecimal } from '../translate/decimal.js';
import { Exact } from './exact.js';
import { isReversed, type Sale, type SaleStatus } from './types.js';

/**
 * Report arithmetic (srv4pos-api-notes Part B, "Registrations, days, reports, balance"): pure
 * functions over sale changes. Sums stay exact decimals; rounding (half-even, to the currency's
 * minor unit) happens once, when a figure is shown.
 */

/** What of a sale counts in reports; a change that alters it keeps the previous one (SaleChange.prior). */
export interface SaleFootprint {
  total: number;
  vat: number;
  discount: number;
  costPrice: number;
  lines: FootprintLine[];
  payments: { method: string; amount: number }[];
}

export interface FootprintLine {
  product: string;
  name: string;
  quantity: number;
  total: number;
  vat: number;
  discount: number;
  costPrice: number;
}

/** Frozen per line when a sale is first received, so rebuilding reports never depends on today's catalogue. */
export interface LineFacts {
  vatRate: string;
  category: string;
}

export interface SaleState {
  status: SaleStatus;
  footprint: SaleFootprint;
}

/** One sale change: the state before (null for a new sale) and after, and the frozen line facts. */
export interface ChangeFacts {
  before: SaleState | null;
  after: SaleState;
  factsOf(line: FootprintLine): LineFacts;
}

const ZERO = new Decimal(0);

export function footprintOf(sale: Sale): SaleFootprint {
  return {
    total: sale.total,
    vat: sale.vat,
    discount: sale.discount,
    costPrice: sale.costPrice,
    lines: sale.lines.map((l) => ({
      product: l.product,
      name: l.name,
      quantity: l.quantity,
      total: l.total,
      vat: l.vat,
      discount: l.discount,
      costPrice: l.costPrice,
    })),
    payments: sale.payments.map((p) => ({ method: p.method, amount: p.amount })),
  };
}

/** Equal keys: the two footprints count the same in every report (names, line and payment order aside). */
export function footprintKey(f: SaleFootprint): string {
  const n = (x: number) => decimalKey(x);
  return JSON.stringify([
    n(f.total),
    n(f.vat),
    n(f.discount),
    n(f.costPrice),
    f.lines.map((l) => JSON.stringify([l.product, n(l.quantity), n(l.total), n(l.vat), n(l.discount), n(l.costPrice)])).sort(),
    f.payments.map((p) => JSON.stringify([p.method, n(p.amount)])).sort(),
  ]);
}

/** A line's identity (product, quantity, total) never changes for a stored sale: the key of its frozen facts. */
export const lineKey = (l: { product: string; quantity: number; total: number }) => `${l.product}|${numberKey(l.quantity)}|${numberKey(l.total)}`;

// A JSON number's shortest form is already one string per value (as decimal.js prints it), minus -0.
const numberKey = (x: number) => (typeof x === 'number' ? String(x === 0 ? 0 : x) : decimalKey(x));

/**
 * A line's VAT rate (percent, as a decimal string): its catalogue product's tax rate; else derived from
 * the pushed amounts, vat ÷ (total − vat): the nearest configured rate when it lies within
 * RATE_SNAP_POINTS (ties: the lower; amounts rounded to cents give 10.02 % for a 10 % sale), else
 * the derived rate itself, rounded to 2 decimals. A line without VAT is at 0 %.
 */
export function vatRateOf(line: { vat: number; total: number }, productRate: number | undefined, configuredRates: number[]): string {
  if (productRate !== undefined) return decimalKey(productRate);
  const vat = toDecimal(line.vat);
  if (vat.isZero()) return '0';
  const base = toDecimal(line.total).minus(vat);
  if (base.isZero()) return configuredRates.length ? decimalKey(Math.max(...configuredRates)) : '0';
  const derived = vat.dividedBy(base).times(100);
  let best: Decimal | null = null;
  for (const rate of [...configuredRates].sort((a, b) => a - b)) {
    const r = toDecimal(rate);
    if (best === null || r.minus(derived).abs().lessThan(best.minus(derived).abs())) best = r;
  }
  if (best?.minus(derived).abs().lessThanOrEqualTo(RATE_SNAP_POINTS)) return best.toString();
  return derived.toDecimalPlaces(2, Decimal.ROUND_HALF_EVEN).toString();
}

/** How far (in percentage points) a derived VAT rate may lie from a catalogue rate to be shown as it. */
const RATE_SNAP_POINTS = new Decimal('0.05');

export const compareRates = (a: string, b: string) => new Decimal(a).comparedTo(new Decimal(b));

const E = (x: number) => Exact.of(x);

/** Counts and exact sums of a set of sale changes (one day, or one date and register for stats). */
export class Figures {
  saleCount = 0;
  refundCount = 0;
  cancelCount = 0;
  /** Sales made completed again (only through the API: pushes never reinstate a reversed sale). */
  reinstatedCount = 0;
  readonly gross = new Exact();
  /** Totals of the sales received, as received (reversed on arrival included: they count as refunds/cancels too). */
  readonly salesTotal = new Exact();
  readonly reinstatedTotal = new Exact();
  /** New total − old total of completed sales whose amounts changed. */
  readonly changedTotal = new Exact();
  readonly discounts = new Exact();
  readonly cost = new Exact();
  readonly refundTotal = new Exact();
  readonly cancelTotal = new Exact();
  readonly byRate = new Map<string, { gross: Exact; vat: Exact }>();
  readonly payments = new Map<string, Exact>();

  /**
   * A sale received counts once in saleCount (even if reversed later the same day); a change of
   * state counts once where it leads (refund, cancel, reinstated); a change that leaves the state
   * as it was counts nowhere. Amounts are net: the state before leaves, the state after enters (a
   * reversed sale counts for nothing), so gross = salesTotal − refundTotal − cancelTotal +
   * reinstatedTotal + changedTotal, exactly.
   */
  apply(change: ChangeFacts): void {
    const { before, after } = change;
    const wasReversed = before !== null && isReversed(before.status);
    if (before === null) {
      this.saleCount++;
      this.salesTotal.add(E(after.footprint.total));
    }
    if (!wasReversed && isReversed(after.status)) {
      // What leaves the figures is the sale as it counted (its amounts before this change).
      const reversed = E((before ?? after).footprint.total);
      if (after.status === 'refunded') {
        this.refundCount++;
        this.refundTotal.add(reversed);
      } else {
        this.cancelCount++;
        this.cancelTotal.add(reversed);
      }
    } else if (wasReversed && !isReversed(after.status)) {
      this.reinstatedCount++;
      this.reinstatedTotal.add(E(after.footprint.total));
    } else if (before !== null && !wasReversed && !isReversed(after.status)) {
      this.changedTotal.add(E(after.footprint.total));
      this.changedTotal.add(E(before.footprint.total), -1);
    }
    if (before !== null && !wasReversed) this.add(before.footprint, -1, change.factsOf);
    if (!isReversed(after.status)) this.add(after.footprint, 1, change.factsOf);
  }

  merge(other: Figures): void {
    this.saleCount += other.saleCount;
    this.refundCount += other.refundCount;
    this.cancelCount += other.cancelCount;
    this.reinstatedCount += other.reinstatedCount;
    this.gross.add(other.gross);
    this.salesTotal.add(other.salesTotal);
    this.reinstatedTotal.add(other.reinstatedTotal);
    this.changedTotal.add(other.changedTotal);
    this.discounts.add(other.discounts);
    this.cost.add(other.cost);
    this.refundTotal.add(other.refundTotal);
    this.cancelTotal.add(other.cancelTotal);
    for (const [rate, v] of other.byRate) {
      const mine = this.rate(rate);
      mine.gross.add(v.gross);
      mine.vat.add(v.vat);
    }
    for (const [method, amount] of other.payments) this.payment(method).add(amount);
  }

  private rate(rate: string) {
    let v = this.byRate.get(rate);
    if (!v) this.byRate.set(rate, (v = { gross: new Exact(), vat: new Exact() }));
    return v;
  }

  private payment(method: string): Exact {
    let p = this.payments.get(method);
    if (!p) this.payments.set(method, (p = new Exact()));
    return p;
  }

  private add(f: SaleFootprint, sign: 1 | -1, factsOf: ChangeFacts['factsOf']): void {
    this.gross.add(E(f.total), sign);
    this.discounts.add(E(f.discount), sign);
    this.cost.add(E(f.costPrice), sign);
    for (const line of f.lines) {
      const v = this.rate(factsOf(line).vatRate);
      v.gross.add(E(line.total), sign);
      v.vat.add(E(line.vat), sign);
    }
    for (const p of f.payments) this.payment(p.method).add(E(p.amount), sign);
  }
}

/** Per product or per category: quantities and amounts net of reversals, counts as in Figures. */
export class ItemFigures {
  name = '';
  saleCount = 0;
  reversalCount = 0;
  readonly quantity = new Exact();
  readonly gross = new Exact();
  readonly vat = new Exact();
  readonly cost = new Exact();

  merge(other: ItemFigures): void {
    if (other.name) this.name = other.name;
    this.saleCount += other.saleCount;
    this.reversalCount += other.reversalCount;
    this.quantity.add(other.quantity);
    this.gross.add(other.gross);
    this.vat.add(other.vat);
    this.cost.add(other.cost);
  }
}

/** Applies one change to per-item figures; `keyOf` picks the item of a line (its product, or its category). */
export function applyToItems(items: Map<string, ItemFigures>, change: ChangeFacts, keyOf: (line: FootprintLine) => string): void {
  const { before, after } = change;
  const item = (key: string) => {
    let it = items.get(key);
    if (!it) items.set(key, (it = new ItemFigures()));
    return it;
  };
  const keys = (f: SaleFootprint) => new Set(f.lines.map(keyOf));
  if (before === null) for (const k of keys(after.footprint)) item(k).saleCount++;
  const wasReversed = before !== null && isReversed(before.status);
  if (!wasReversed && isReversed(after.status)) for (const k of keys(after.footprint)) item(k).reversalCount++;
  const add = (f: SaleFootprint, sign: 1 | -1) => {
    for (const line of f.lines) {
      const it = item(keyOf(line));
      if (line.name) it.name = line.name;
      it.quantity.add(E(line.quantity), sign);
      it.gross.add(E(line.total), sign);
      it.vat.add(E(line.vat), sign);
      it.cost.add(E(line.costPrice), sign);
    }
  };
  if (before !== null && !wasReversed) add(before.footprint, -1);
  if (!isReversed(after.status)) add(after.footprint, 1);
}

// ---- presentation (rounded) ----

/** Digits of the currency's minor unit (EUR 2, JPY 0, KWD 3). */
export function minorUnitDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

export class Money {
  constructor(
    readonly currency: string,
    readonly digits = minorUnitDigits(currency),
  ) {}

  round(x: Decimal | Exact | number): Decimal {
    return (x instanceof Exact ? x.toDecimal() : toDecimal(x)).toDecimalPlaces(this.digits, Decimal.ROUND_HALF_EVEN);
  }

  /** The rounded amount as a JSON number (never -0). */
  num(x: Decimal | Exact | number): number {
    const n = this.round(x).toNumber();
    return n === 0 ? 0 : n;
  }

  text(x: Decimal | Exact | number): string {
    const d = this.round(x);
    return (d.isZero() ? d.abs() : d).toFixed(this.digits);
  }
}

export interface VatRateTotals {
  rate: string;
  gross: number;
  net: number;
  vat: number;
}

export interface FiguresSummary {
  saleCount: number;
  refundCount: number;
  cancelCount: number;
  reinstatedCount: number;
  salesTotal: number;
  refundTotal: number;
  cancelTotal: number;
  reinstatedTotal: number;
  changedTotal: number;
  /** What rounding each figure on its own leaves between them and gross (0 for amounts in whole cents). */
  grossRounding: number;
  gross: number;
  net: number;
  vatTotal: number;
  vat: Record<string, number>;
  vatRates: VatRateTotals[];
  discounts: number;
  costPrice: number;
  margin: number;
  payments: Record<string, number>;
  paymentsTotal: number;
  /** gross − paymentsTotal: sales without (enough) payments, e.g. API sales posted without any. */
  unpaid: number;
}

/**
 * Rounded figures. Each rate's VAT is rounded once; the VAT total is the sum of those, so the
 * lines of a printed report always add up; net = gross − VAT total; margin = net − cost.
 */
export function summarise(f: Figures, money: Money): FiguresSummary {
  const rates = [...f.byRate.keys()].sort(compareRates);
  const vatRates = rates
    .map((rate) => {
      const v = f.byRate.get(rate)!;
      const gross = money.round(v.gross);
      const vat = money.round(v.vat);
      return { rate, gross: money.num(gross), net: money.num(gross.minus(vat)), vat: money.num(vat) };
    })
    .filter((r) => r.gross !== 0 || r.vat !== 0);
  const vatTotal = rates.reduce((s, rate) => s.plus(money.round(f.byRate.get(rate)!.vat)), ZERO);
  const gross = money.round(f.gross);
  const net = gross.minus(vatTotal);
  const cost = money.round(f.cost);
  const payments: Record<string, number> = {};
  let paymentsTotal = ZERO;
  for (const method of [...f.payments.keys()].sort()) {
    const amount = money.round(f.payments.get(method)!);
    if (!amount.isZero()) payments[method] = money.num(amount);
    paymentsTotal = paymentsTotal.plus(amount);
  }
  const parts = [f.salesTotal, f.refundTotal, f.cancelTotal, f.reinstatedTotal, f.changedTotal].map((x) => money.round(x));
  const [sales, refunds, cancels, reinstated, changed] = parts;
  const fromParts = sales.minus(refunds).minus(cancels).plus(reinstated).plus(changed);
  return {
    saleCount: f.saleCount,
    refundCount: f.refundCount,
    cancelCount: f.cancelCount,
    reinstatedCount: f.reinstatedCount,
    salesTotal: money.num(sales),
    refundTotal: money.num(refunds),
    cancelTotal: money.num(cancels),
    reinstatedTotal: money.num(reinstated),
    changedTotal: money.num(changed),
    grossRounding: money.num(gross.minus(fromParts)),
    gross: money.num(gross),
    net: money.num(net),
    vatTotal: money.num(vatTotal),
    vat: Object.fromEntries(vatRates.map((r) => [r.rate, r.vat])),
    vatRates,
    discounts: money.num(f.discounts),
    costPrice: money.num(cost),
    margin: money.num(net.minus(cost)),
    payments,
    paymentsTotal: money.num(paymentsTotal),
    unpaid: money.num(gross.minus(paymentsTotal)),
  };
}

export interface BalanceMovement {
  id: string;
  cashRegisterName: string;
  dayId: string;
  action: 'deposit' | 'withdraw';
  amount: number;
  note: string;
  at: string;
  by: string;
}

export interface CashBalance {
  opening: number;
  deposits: number;
  withdrawals: number;
  cashPayments: number;
  expectedCash: number;
  movements: BalanceMovement[];
}

/** The drawer: what the last closed day left + deposits − withdrawals + cash taken (net of cash refunds). */
export function cashBalance(opening: number, movements: BalanceMovement[], f: Figures, money: Money): CashBalance {
  const sum = (action: BalanceMovement['action']) => movements.filter((m) => m.action === action).reduce((s, m) => s.plus(toDecimal(m.amount)), ZERO);
  const cashTaken = f.payments.get('cash');
  const deposits = money.round(sum('deposit'));
  const withdrawals = money.round(sum('withdraw'));
  const cash = money.round(cashTaken ?? ZERO);
  return {
    opening,
    deposits: money.num(deposits),
    withdrawals: money.num(withdrawals),
    cashPayments: money.num(cash),
    expectedCash: money.num(toDecimal(opening).plus(deposits).minus(withdrawals).plus(cash)),
    movements,
  };
}

export interface DayMeta {
  dayId: string;
  cashRegisterName: string;
  dayNo: number;
  openedAt: string;
  closedAt: string | null;
}

export interface DayReport extends DayMeta, FiguresSummary {
  type: 'X' | 'Z';
  currency: string;
  balance: CashBalance;
  /** The register's running total since its first sale, this day included. */
  grandTotal: number;
  /** The report's own sums, each with whether it holds (reports closed before these existed have none). */
  arithmetic?: ArithmeticCheck[];
}

export interface ArithmeticCheck {
  figure: string;
  /** The figures (field names of the report) that add up to it. */
  equals: string;
  holds: boolean;
}

/**
 * Every sum a printed report shows, checked on its own rounded figures: what it states is what
 * a reader can add up. Also the test oracle (test/reports/report-arithmetic.test.ts).
 */
export function reportArithmetic(r: Omit<DayReport, 'arithmetic'>): ArithmeticCheck[] {
  const d = (x: number) => toDecimal(x);
  const sum = (xs: number[]) => xs.reduce((s, x) => s.plus(d(x)), ZERO);
  const check = (figure: string, value: number, equals: string, computed: Decimal): ArithmeticCheck => ({ figure, equals, holds: computed.equals(d(value)) });
  return [
    check(
      'gross',
      r.gross,
      'salesTotal - refundTotal - cancelTotal + reinstatedTotal + changedTotal + grossRounding',
      d(r.salesTotal).minus(d(r.refundTotal)).minus(d(r.cancelTotal)).plus(d(r.reinstatedTotal)).plus(d(r.changedTotal)).plus(d(r.grossRounding)),
    ),
    check('gross', r.gross, 'sum of payments + unpaid', sum(Object.values(r.payments)).plus(d(r.unpaid))),
    check('paymentsTotal', r.paymentsTotal, 'sum of payments', sum(Object.values(r.payments))),
    check('vatTotal', r.vatTotal, 'sum of vat', sum(Object.values(r.vat))),
    check('net', r.net, 'gross - vatTotal', d(r.gross).minus(d(r.vatTotal))),
    check('margin', r.margin, 'net - costPrice', d(r.net).minus(d(r.costPrice))),
    check(
      'balance.expectedCash',
      r.balance.expectedCash,
      'balance.opening + balance.deposits - balance.withdrawals + balance.cashPayments',
      d(r.balance.opening).plus(d(r.balance.deposits)).minus(d(r.balance.withdrawals)).plus(d(r.balance.cashPayments)),
    ),
  ];
}

/** What the previous closed day of the register left: cash in the drawer and the grand total. */
export interface Carry {
  cash: number;
  grandTotal: number;
}

export function dayReport(meta: DayMeta, f: Figures, movements: BalanceMovement[], carry: Carry, money: Money): DayReport {
  const summary = summarise(f, money);
  const report = {
    type: meta.closedAt === null ? ('X' as const) : ('Z' as const),
    ...meta,
    currency: money.currency,
    ...summary,
    balance: cashBalance(carry.cash, movements, f, money),
    grandTotal: money.num(toDecimal(carry.grandTotal).plus(summary.gross)),
  };
  return { ...report, arithmetic: reportArithmetic(report) };
}

/** Facts of one change from stored states (used live and when rebuilding from stored sales). */
export function changeFacts(
  before: SaleState | null,
  after: SaleState,
  facts: Record<string, LineFacts>,
  fallback: (line: FootprintLine) => LineFacts,
): ChangeFacts {
  const seen = new Map<FootprintLine, LineFacts>();
  return {
    before,
    after,
    factsOf: (line) => {
      let f = seen.get(line);
      if (!f) seen.set(line, (f = facts[lineKey(line)] ?? fallback(line)));
      return f;
    },
  };
}
