import { Decimal } from 'decimal.js';
import type { KitchenPosition } from './types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

// Node 20's TextDecoder('windows-1252') decodes as ISO-8859-1 (0x80 gives U+0080, not "€"), so
// the 32 bytes where the two differ are mapped here, as the WHATWG Encoding Standard does.
const CP1252_80_9F = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

export function decodeWindows1252(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += String.fromCharCode(b >= 0x80 && b <= 0x9f ? CP1252_80_9F[b - 0x80] : b);
  return out;
}

/** UTF-8 (a BOM is dropped), or Windows-1252 when the bytes are not valid UTF-8. */
export function decodeMessage(bytes: Uint8Array): { text: string; encoding: 'utf-8' | 'windows-1252' } {
  try {
    return { text: utf8.decode(bytes), encoding: 'utf-8' };
  } catch {
    return { text: decodeWindows1252(bytes), encoding: 'windows-1252' };
  }
}

export type ParsedOrder =
  | { ok: true; table: string; positions: KitchenPosition[] }
  | { ok: false; reason: string };

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
