import { Exact } from './exact.js';
import { ItemFigures, type ChangeFacts, type FootprintLine, type SaleFootprint } from './reports.js';
import { isReversed } from './types.js';

/** quantity, gross, vat, cost: the exact sums of an item, as in ItemFigures. */
const COLS = 4;
const QUANTITY = 0;
const GROSS = 1;
const VAT = 2;
const COST = 3;
/** saleCount, reversalCount, name id (-1: no name yet). */
const INTS = 3;
const NO_NAME = -1;
const MAX_UNITS = BigInt(Number.MAX_SAFE_INTEGER);
/** 10^k is exact as a double up to 10^22. */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * Strings that many tables share (product ids, category paths, product names), kept once:
 * a table stores their numbers. Bounded by the distinct keys and names ever sold.
 */
class Interner {
  private readonly ids = new Map<string, number>();
  private readonly values: string[] = [];

  id(value: string): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.ids.set(value, id);
      this.values.push(value);
    }
    return id;
  }

  find(value: string): number | undefined {
    return this.ids.get(value);
  }

  value(id: number): string {
    return this.values[id];
  }
}

const KEYS = new Interner();
const NAMES = new Interner();

/**
 * The per-item figures of one stats bucket (per product, or per category), in columns instead of
 * an ItemFigures object (with four BigInt sums) per item: rows sorted by the item key's number,
 * each exact sum a safe integer count of 10^-scale units in an array of numbers (one scale per
 * column, raised for the whole column when a finer amount arrives). A sum that does not fit a
 * safe integer moves to an Exact of its own, so figures stay exact whatever is pushed.
 * About 70 bytes an item instead of ~400; the API sees the same ItemFigures when merging.
 */
export class ItemTable {
  // Plain arrays of numbers (8 bytes an element, unboxed), not typed arrays: hundreds of small
  // typed arrays growing one after the other fragment the C heap, while these live in the
  // V8 heap, which compacts.
  private size = 0;
  private readonly keys: number[] = [];
  private readonly sums: number[] = [];
  private readonly ints: number[] = [];
  private readonly scales = [0, 0, 0, 0];
  /** Sums that left the columns: key id × COLS + column → Exact. */
  private overflow: Map<number, Exact> | null = null;

  get count(): number {
    return this.size;
  }

  /** Applies one change, exactly as applyToItems does to a Map of ItemFigures. */
  apply(change: ChangeFacts, keyOf: (line: FootprintLine) => string): void {
    const { before, after } = change;
    // A row number is good until the next insert (rows stay sorted, columns may be reallocated):
    // look each one up just before use, never inside an expression that already read a column.
    const keys = (f: SaleFootprint) => new Set(f.lines.map(keyOf));
    const count = (k: string, at: number) => {
      const r = this.row(k);
      this.ints[r * INTS + at]++;
    };
    if (before === null) for (const k of keys(after.footprint)) count(k, 0);
    const wasReversed = before !== null && isReversed(before.status);
    if (!wasReversed && isReversed(after.status)) for (const k of keys(after.footprint)) count(k, 1);
    const add = (f: SaleFootprint, sign: 1 | -1) => {
      for (const line of f.lines) {
        const r = this.row(keyOf(line));
        if (line.name) this.ints[r * INTS + 2] = NAMES.id(line.name);
        this.add(r, QUANTITY, Exact.of(line.quantity), sign);
        this.add(r, GROSS, Exact.of(line.total), sign);
        this.add(r, VAT, Exact.of(line.vat), sign);
        this.add(r, COST, Exact.of(line.costPrice), sign);
      }
    };
    if (before !== null && !wasReversed) add(before.footprint, -1);
    if (!isReversed(after.status)) add(after.footprint, 1);
  }

  /** Adds every item of this table into `out` (ItemFigures.merge semantics). */
  mergeInto(out: Map<string, ItemFigures>): void {
    for (let r = 0; r < this.size; r++) {
      const key = this.keys[r];
      const name = KEYS.value(key);
      let mine = out.get(name);
      if (!mine) out.set(name, (mine = new ItemFigures()));
      const nameId = this.ints[r * INTS + 2];
      if (nameId !== NO_NAME) mine.name = NAMES.value(nameId);
      mine.saleCount += this.ints[r * INTS];
      mine.reversalCount += this.ints[r * INTS + 1];
      this.addCellTo(mine.quantity, r, QUANTITY);
      this.addCellTo(mine.gross, r, GROSS);
      this.addCellTo(mine.vat, r, VAT);
      this.addCellTo(mine.cost, r, COST);
    }
  }

  private addCellTo(acc: Exact, r: number, col: number): void {
    const big = this.overflow?.get(this.keys[r] * COLS + col);
    if (big) acc.add(big);
    else acc.addUnits(BigInt(this.sums[r * COLS + col]), this.scales[col]);
  }

  /** The row of `key`, inserted (zeroed, keys kept sorted) when new. */
  private row(keyName: string): number {
    const key = KEYS.id(keyName);
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.keys[mid];
      if (k === key) return mid;
      if (k < key) lo = mid + 1;
      else hi = mid;
    }
    this.keys.splice(lo, 0, key);
    this.sums.splice(lo * COLS, 0, 0, 0, 0, 0);
    this.ints.splice(lo * INTS, 0, 0, 0, NO_NAME);
    this.size++;
    return lo;
  }

  /** cell += sign × x, exactly. */
  private add(r: number, col: number, x: Exact, sign: 1 | -1): void {
    const units = x.units;
    if (units === 0n) return;
    const cellKey = this.keys[r] * COLS + col;
    const big = this.overflow?.get(cellKey);
    if (big) {
      big.add(x, sign);
      return;
    }
    if (x.scale > this.scales[col]) this.rescale(col, x.scale);
    const at = r * COLS + col;
    if (this.overflow?.has(cellKey)) {
      this.overflow.get(cellKey)!.add(x, sign);
      return;
    }
    const shift = this.scales[col] - x.scale;
    if (units <= MAX_UNITS && units >= -MAX_UNITS && shift < POW10.length) {
      const term = Number(units) * POW10[shift];
      const sum = sign === 1 ? this.sums[at] + term : this.sums[at] - term;
      if (Number.isSafeInteger(term) && Number.isSafeInteger(sum)) {
        this.sums[at] = sum;
        return;
      }
    }
    this.spill(r, col).add(x, sign);
  }

  /** Moves a cell out of its column into an Exact of its own (it stays there). */
  private spill(r: number, col: number): Exact {
    const at = r * COLS + col;
    const big = Exact.fromUnits(BigInt(this.sums[at]), this.scales[col]);
    this.sums[at] = 0;
    (this.overflow ??= new Map()).set(this.keys[r] * COLS + col, big);
    return big;
  }

  /** Raises a column's scale: every cell × 10^(scale − old); a cell that no longer fits spills. */
  private rescale(col: number, scale: number): void {
    const shift = scale - this.scales[col];
    const factor = shift < POW10.length ? POW10[shift] : Infinity;
    for (let r = 0; r < this.size; r++) {
      const at = r * COLS + col;
      const v = this.sums[at];
      if (v === 0) continue;
      const scaled = v * factor;
      if (Number.isSafeInteger(scaled)) this.sums[at] = scaled;
      else this.spill(r, col);
    }
    this.scales[col] = scale;
  }
}
