import { Decimal } from '../translate/decimal.js';

const POW10: bigint[] = [1n];
const pow10 = (k: number) => {
  while (POW10.length <= k) POW10.push(POW10[POW10.length - 1] * 10n);
  return POW10[k];
};

const NUMERIC = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const parsed = new Map<number | string, Exact>();

/**
 * An exact decimal as a BigInt count of 10^-scale units; the scale grows to fit whatever is added,
 * so sums of pushed amounts are never rounded. Running aggregates add hundreds of amounts per sale:
 * this costs a fraction of decimal.js per operation. Accumulators are mutable; `of` values are shared
 * and must not be changed (use clone()).
 */
export class Exact {
  constructor(
    private n = 0n,
    private s = 0,
  ) {}

  static of(x: number | string): Exact {
    const hit = parsed.get(x);
    if (hit) return hit;
    const m = NUMERIC.exec(typeof x === 'number' ? String(x) : x.trim());
    if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new TypeError(`not a decimal number: ${String(x)}`);
    const fraction = m[3] ?? '';
    let digits = m[2] + fraction;
    let scale = fraction.length - Number(m[4] ?? 0);
    if (scale < 0) {
      digits += '0'.repeat(-scale);
      scale = 0;
    }
    const value = new Exact(BigInt(m[1] + (digits || '0')), scale);
    if (parsed.size > 100_000) parsed.clear();
    parsed.set(x, value);
    return value;
  }

  /** An exact value of `units` × 10^-scale. */
  static fromUnits(units: bigint, scale: number): Exact {
    return new Exact(units, scale);
  }

  /** The value is units × 10^-scale (read-only views, for compact columns of sums). */
  get units(): bigint {
    return this.n;
  }

  get scale(): number {
    return this.s;
  }

  clone(): Exact {
    return new Exact(this.n, this.s);
  }

  /** this += sign × x */
  add(x: Exact, sign: 1 | -1 = 1): this {
    if (x.n === 0n) return this;
    if (x.s > this.s) {
      this.n *= pow10(x.s - this.s);
      this.s = x.s;
    }
    const term = x.s < this.s ? x.n * pow10(this.s - x.s) : x.n;
    this.n += sign === 1 ? term : -term;
    return this;
  }

  /** this += sign × units × 10^-scale */
  addUnits(units: bigint, scale: number, sign: 1 | -1 = 1): this {
    if (units === 0n) return this;
    if (scale > this.s) {
      this.n *= pow10(scale - this.s);
      this.s = scale;
    }
    const term = scale < this.s ? units * pow10(this.s - scale) : units;
    this.n += sign === 1 ? term : -term;
    return this;
  }

  isZero(): boolean {
    return this.n === 0n;
  }

  toDecimal(): Decimal {
    return new Decimal(`${this.n}e-${this.s}`);
  }

  toNumber(): number {
    const n = this.toDecimal().toNumber();
    return n === 0 ? 0 : n;
  }

  /** Plain notation, no exponent. */
  toString(): string {
    return this.toDecimal().toFixed();
  }
}
