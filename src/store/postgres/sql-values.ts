/**
 * Values for SQL columns. The complete records go into `json` columns (exact text, any string);
 * the columns beside them are copies for SQL, so a value PostgreSQL cannot hold there (a NUL
 * character, a lone surrogate, a non-numeric amount, a date out of range) is made harmless
 * rather than allowed to fail a commit round that other tablets' pushes share.
 */

/** JSON text for a `json` column: JSON.stringify escapes NUL and lone surrogates, which `json` accepts. */
export const jsonText = (value: unknown): string => JSON.stringify(value ?? null);

const UNSAFE_JSONB = /\\u0000|\\ud[89ab][0-9a-f]{2}|\\ud[c-f][0-9a-f]{2}/i;

const wellFormed = (s: string): string =>
  (typeof (s as { toWellFormed?: () => string }).toWellFormed === 'function' ? (s as unknown as { toWellFormed(): string }).toWellFormed() : s).replaceAll(
    '\u0000',
    '\uFFFD',
  );

/** JSON text for a `jsonb` column: NUL and lone surrogates (which jsonb refuses) become U+FFFD in this copy. */
export function jsonbText(value: unknown): string | null {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  if (!UNSAFE_JSONB.test(text)) return text;
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'string' ? wellFormed(v) : v));
}

/** A text column: NUL (which text refuses) becomes U+FFFD. */
export function textValue(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return wellFormed(String(value));
}

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A numeric column: the decimal spelling of a JS number or a numeric string; anything else is null. */
export function numericValue(value: unknown): string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'string' && NUMERIC.test(value.trim())) return value.trim();
  return null;
}

/** A timestamptz column from an ISO string; null when it is not a date. */
export function timeValue(value: unknown): string | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

const URL_PARTS = /^postgres(?:ql)?:\/\/(?:([^@/?]*)@)?([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/;

/** postgres://user:secret@host:5432/db → `PostgreSQL database "db" on host:5432` (never the password); unix sockets too (?host=/run/postgresql). */
export function describeDatabase(url: string): string {
  const m = URL_PARTS.exec(url);
  if (!m) return 'PostgreSQL database (unparseable URL)';
  const [, auth = '', hostPort = '', path = '', query = ''] = m;
  const params = new URLSearchParams(query);
  const decode = (v: string) => {
    try {
      return decodeURIComponent(v);
    } catch {
      return v;
    }
  };
  const user = decode(auth.split(':')[0] ?? '');
  const db = decode(path) || params.get('dbname') || user || 'postgres';
  const bracket = /^\[([^\]]*)\](?::(\d+))?$/.exec(hostPort);
  let host = bracket ? bracket[1] : hostPort.replace(/:\d*$/, '');
  let port = bracket ? (bracket[2] ?? '') : (/:(\d+)$/.exec(hostPort)?.[1] ?? '');
  host = decode(host) || params.get('host') || 'localhost';
  port = port || params.get('port') || '5432';
  return `PostgreSQL database "${db}" on ${host.startsWith('/') ? `${host} (socket), port ${port}` : `${host}:${port}`}`;
}

/** The URL with its password replaced, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:@/?]*:)[^@/?]*@/, '$1***@').replace(/([?&][^=&]*pass[^=&]*=)[^&]*/gi, '$1***');
}
