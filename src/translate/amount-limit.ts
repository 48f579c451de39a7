import { isNumeric } from './decimal.js';

/**
 * The largest magnitude an amount or quantity may have (money, qty, prices, stock levels and
 * deltas, cash movements). Far above any till, far below where sums of many of them could leave
 * a double's range (sums are exact, but figures are shown as JSON numbers). A constant, not a
 * config key: it decides which stored records load, so it must not change between starts.
 */
export const MAX_AMOUNT = 1e12;

export const AMOUNT_LIMIT_MESSAGE = `must be a number of magnitude at most ${MAX_AMOUNT.toExponential()}`;

/** A number or numeric string within ±MAX_AMOUNT. */
export function isAmount(x: unknown): boolean {
  return isNumeric(x) && Math.abs(Number(x)) <= MAX_AMOUNT;
}

/** A finite JSON number within ±MAX_AMOUNT (stored records keep amounts as numbers). */
export function isStoredAmount(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && Math.abs(x) <= MAX_AMOUNT;
}

/**
 * The largest magnitude a stored figure (a sum: a day's gross, a grand total) may have: 2^53
 * amounts of MAX_AMOUNT. Anything beyond was not summed from valid amounts.
 */
export const MAX_FIGURE = MAX_AMOUNT * Number.MAX_SAFE_INTEGER;
