import { Decimal } from 'decimal.js';
import { decodeBody } from '../translate/body-encoding.js';
import type { KitchenPosition } from './types.js';

/** A tablet's kitchen message is decoded as its pushes are: UTF-8, else Windows-1252. */
export const decodeMessage = decodeBody;

export type ParsedOrder = { ok: true; table: string; positions: KitchenPosition[] } | { ok: false; reason: string };

const PLAIN_DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/**
 * org.json's getString, as the official display reads the fields: a string, or a number
 * written as text. Booleans, null, objects and arrays make the message fail.
 */
function textOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/** A number or a numeric string (the display does `new BigDecimal(getString("amount"))`), as a decimal string. */
function amountOf(value: unknown): string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? new Decimal(value).toFixed() : null;
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (PLAIN_DECIMAL.test(text)) return text;
  try {
    const d = new Decimal(text);
    return d.isFinite() ? d.toFixed() : null;
  } catch {
    return null;
  }
}

/** One kitchen message as TabShop sends it: `{"table": "...", "positions": [{"product": "...", "amount": "2"}]}`. */
export function parseOrder(text: string): ParsedOrder {
  if (text.trim() === '') return { ok: false, reason: 'empty message' };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message.replace(/, ".*" is not valid JSON$/s, '').slice(0, 200)}` };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, reason: 'not a JSON object' };
  const record = data as Record<string, unknown>;
  const table = textOf(record.table);
  if (table === null) return { ok: false, reason: '"table" is missing or not a string' };
  if (!Array.isArray(record.positions)) return { ok: false, reason: '"positions" is missing or not an array' };
  const positions: KitchenPosition[] = [];
  for (const [i, item] of record.positions.entries()) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return { ok: false, reason: `positions[${i}] is not an object` };
    const p = item as Record<string, unknown>;
    const product = textOf(p.product);
    if (product === null) return { ok: false, reason: `positions[${i}].product is missing or not a string` };
    const amount = amountOf(p.amount);
    if (amount === null) return { ok: false, reason: `positions[${i}].amount is missing or not a number` };
    positions.push({ product, amount });
  }
  return { ok: true, table, positions };
}
