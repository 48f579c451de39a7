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

// An integer string decimal.js prints back unchanged: no sign on 0, no leading zero, no exponent (< 1e21).
const PLAIN_INTEGER = /^(?:0|-?[1-9]\d{0,19})$/;

/** One string per decimal value: 1, "1", "1.0", "1e0" all give "1". */
export function decimalKey(x: unknown): string {
  // Fast paths, same result: decimal.js builds a number from its shortest round-trip digits
  // (String(x)) and prints them with JavaScript's own exponent thresholds (1e-7, 1e21).
  if (typeof x === 'number' && Number.isFinite(x)) return String(x);
  if (typeof x === 'string' && PLAIN_INTEGER.test(x)) return x;
  return toDecimal(x).toString();
}

/** The JSON number closest to the decimal value (exact for anything a tablet sends); never -0. */
export function toNumber(x: unknown): number {
  // Fast paths, same result: a finite number is its own closest number, and Number() rounds a
  // valid decimal string to the closest number just as decimal.js (exact digits, then Number) does.
  if (typeof x === 'number' && Number.isFinite(x)) return x === 0 ? 0 : x;
  if (typeof x === 'string' && isNumeric(x)) {
    const n = Number(x);
    return n === 0 ? 0 : n;
  }
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
