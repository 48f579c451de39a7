/**
 * RFC 4180 CSV (CRLF, quoted when needed). Nested objects become dotted columns (payments.cash,
 * vat.10); the header is the union of every row's columns in first-seen order. Text cells that
 * a spreadsheet would run as a formula get a leading apostrophe (see isFormulaLike); numbers never
 * do, nor text that is a plain decimal number such as "-3.00" (a spreadsheet reads it as a number).
 */
export type Cell = string | number | boolean | null | undefined;

export function flatten(value: unknown, prefix = '', out: Record<string, Cell> = {}): Record<string, Cell> {
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    if (entries.length === 0 && prefix) out[prefix] = '';
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = value as Cell;
  }
  return out;
}

export function cell(value: Cell): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && isFormulaLike(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const PLAIN_NUMBER = /^[+-]?[0-9]+(\.[0-9]+)?$/;

/**
 * What a spreadsheet may run (CSV injection): a first non-blank character = + - @, a leading tab,
 * CR or LF, or a leading ";" before one of = + - @ (a cell separator in some locales).
 */
export function isFormulaLike(text: string): boolean {
  if (PLAIN_NUMBER.test(text)) return false;
  return /^\s*[=+\-@]/.test(text) || /^[\t\r\n]/.test(text) || /^\s*;\s*[=+\-@]/.test(text);
}

export function csv(header: string[], rows: Cell[][]): string {
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

/** A table of objects: one row each, one column per flattened key. */
export function objectsToCsv(items: unknown[], fixedColumns: string[] = []): string {
  const flat = items.map((i) => flatten(i));
  const header = [...fixedColumns];
  const seen = new Set(header);
  for (const row of flat) {
    for (const key of Object.keys(row)) {
      if (!seen.has(key)) {
        seen.add(key);
        header.push(key);
      }
    }
  }
  return csv(
    header,
    flat.map((row) => header.map((h) => row[h])),
  );
}

/** One object as `field,value` rows (a report). */
export function objectToCsv(item: unknown): string {
  return csv(
    ['field', 'value'],
    Object.entries(flatten(item)).map(([k, v]) => [k, v]),
  );
}
