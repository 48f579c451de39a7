/**
 * A statement's parameters written into its text as literals, for a round sent as one simple query
 * (several statements in one message, which cannot carry parameters). Each value becomes what
 * node-postgres would have sent for it: text in an escape string literal (E'…': the same whatever
 * standard_conforming_strings says), arrays as array literals, buffers as bytea hex; the casts of
 * the statement (`$3::numeric[]`) type them as they typed the parameters.
 */

/** An element of an array literal: quoted, `\` and `"` escaped. */
function element(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (Array.isArray(value)) return arrayText(value);
  return `"${text(value).replace(/[\\"]/g, '\\$&')}"`;
}

const arrayText = (values: unknown[]): string => `{${values.map(element).join(',')}}`;

/** A value as the text PostgreSQL reads for it (node-postgres's spelling: JSON for objects, hex for buffers). */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return arrayText(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** One parameter as an SQL literal. */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  return `E'${text(value).replace(/[\\']/g, (c) => (c === "'" ? "''" : '\\\\'))}'`;
}

/** `$1`… of a statement replaced by its parameters as literals. */
export function inlineParams(sql: string, params: readonly unknown[]): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => {
    const i = Number(n) - 1;
    if (i < 0 || i >= params.length) throw new Error(`statement names $${n}, which has no value`);
    return sqlLiteral(params[i]);
  });
}
