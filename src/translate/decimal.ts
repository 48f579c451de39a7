import { Decimal as BaseDecimal } from 'decimal.js';

/** Enough precision that sums of pushed amounts are never rounded. */
export const Decimal = BaseDecimal.clone({ precision: 40 });
export type Decimal = InstanceType<typeof Decimal>;

export type DecimalInput = number | string | Decimal;

// decimal.js alone would also accept "0x10", "NaN" and "Infinity".
const DECIMAL_STRING = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

export function isNumeric(x: unknown): x is number | string {
  if (typeof x === 'number') return Number.isFinite(x);
  return typeof x === 'string' && DECIMAL_STRING.test(x) && Number.isFinite(Number(x));
}

export function toDecimal(x: unknown): Decimal {
  if (Decimal.isDecimal(x)) return x as Decimal;
  if (!isNumeric(x)) throw new TypeError(`not a number or numeric string: ${describe(x)}`);
  return new Decimal(x);
}

/** One string per decimal value: 1, "1", "1.0", "1e0" all give "1". */
export function decimalKey(x: unknown): string {
  return toDecimal(x).toString();
}

/** The JSON number closest to the decimal value (exact for anything a tablet sends); never -0. */
export function toNumber(x: unknown): number {
  const n = toDecimal(x).toNumber();
  return n === 0 ? 0 : n;
}

export function sumDecimals(xs: Iterable<unknown>): Decimal {
  let sum = new Decimal(0);
  for (const x of xs) sum = sum.plus(toDecimal(x));
  return sum;
}

export function fractionToPercent(fraction: unknown): number {
  return toNumber(toDecimal(fraction).times(100));
}

export function percentToFraction(percent: unknown): number {
  return toNumber(toDecimal(percent).dividedBy(100));
}

function describe(x: unknown): string {
  const text = typeof x === 'string' ? JSON.stringify(x) : String(x);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
