import { createHash } from 'node:crypto';
import { decimalKey, isNumeric } from './decimal.js';

type Canonical = null | boolean | string | Canonical[] | { [key: string]: Canonical };

export interface CanonicalRules {
  /** Numeric strings become their decimal key ("1.0" → "1"), like numbers do. */
  numericStrings: boolean;
  /** Keys whose string values are names or ids, never normalised ("007" stays "007"). */
  verbatim: ReadonlySet<string>;
  /** Keys whose arrays are compared as multisets (order ignored). */
  unordered: ReadonlySet<string>;
  /** Keys whose values follow other rules (a sale's embedded invoice). */
  nested: Readonly<Record<string, CanonicalRules>>;
}

/** JSON with sorted keys and every number as its decimal key, so 1, 1.0 (and "1" where allowed) compare equal. */
export function canonicalJson(value: unknown, rules: CanonicalRules): string {
  return canonicalText(value, rules, undefined);
}

/** The slower reference form of canonicalJson (a canonical tree, then JSON.stringify); the two give the same text. */
export function canonicalJsonReference(value: unknown, rules: CanonicalRules): string {
  return JSON.stringify(canonical(value, rules, undefined));
}

// An object key that JSON.stringify would not print in insertion order (array indices come first) or that
// assignment would not create as an own property: such objects take the reference path.
const SPECIAL_KEY = /^(?:0|[1-9]\d*)$|^__proto__$/;
// A string JSON.stringify prints as is between quotes (no escapes, no surrogates).
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are the ones JSON.stringify escapes.
const PLAIN_STRING = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;
const quote = (s: string) => (s.length < 64 && PLAIN_STRING.test(s) ? `"${s}"` : JSON.stringify(s));

/** Invoice keys repeat in every push: their JSON form, or null for a special key. */
const keyText = new Map<string, string | null>();
function quotedKey(k: string): string | null {
  let q = keyText.get(k);
  if (q === undefined) {
    q = SPECIAL_KEY.test(k) ? null : JSON.stringify(k);
    if (keyText.size < 10_000) keyText.set(k, q);
  }
  return q;
}

/**
 * canonicalJson written out directly, without building the canonical tree first: the same text
 * as JSON.stringify(canonical(...)) (stored sales carry content keys hashed from that text).
 */
function canonicalText(value: unknown, rules: CanonicalRules, key: string | undefined): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return `"${decimalKey(value)}"`;
  if (typeof value === 'string') {
    const normalise = rules.numericStrings && !(key !== undefined && rules.verbatim.has(key)) && isNumeric(value);
    return normalise ? `"${decimalKey(value)}"` : quote(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) {
    const items = value.map((item) => canonicalText(item, rules, undefined));
    if (key !== undefined && rules.unordered.has(key)) items.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return `[${items.join(',')}]`;
  }
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort();
    let text = '';
    for (const k of keys) {
      const q = quotedKey(k);
      if (q === null) return JSON.stringify(canonical(value, rules, key));
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) text += `${text === '' ? '' : ','}${q}:${canonicalText(v, nestedRules(rules, k), k)}`;
    }
    return `{${text}}`;
  }
  return JSON.stringify(String(value));
}

// Own keys only: a pushed "__proto__" or "constructor" key must not find Object.prototype's members.
const nestedRules = (rules: CanonicalRules, key: string): CanonicalRules => (Object.hasOwn(rules.nested, key) ? rules.nested[key] : rules);

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function canonical(value: unknown, rules: CanonicalRules, key: string | undefined): Canonical {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return decimalKey(value);
  if (typeof value === 'string') {
    const normalise = rules.numericStrings && !(key !== undefined && rules.verbatim.has(key)) && isNumeric(value);
    return normalise ? decimalKey(value) : value;
  }
  if (typeof value === 'boolean') return value;
  if (Array.isArray(value)) {
    const items = value.map((item) => canonical(item, rules, undefined));
    if (key === undefined || !rules.unordered.has(key)) return items;
    return items
      .map((item) => [JSON.stringify(item), item] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, item]) => item);
  }
  if (typeof value === 'object') {
    // No prototype: a pushed "__proto__" key stays a plain own key instead of hitting the setter.
    const out: { [key: string]: Canonical } = Object.create(null);
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = canonical(v, nestedRules(rules, k), k);
    }
    return out;
  }
  return String(value);
}
