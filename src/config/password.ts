import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { ScryptOptions } from 'node:crypto';

/** Format: `scrypt$N$r$p$<salt base64>$<key base64>` (what `tabshop-gateway hash-password` prints). */
const SCRYPT_PARAMS = { N: 16384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

// Bounds on what a hash string may ask for, so a hand-edited hash cannot make verification eat the machine.
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const MIN_KEY_BYTES = 16;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function deriveKey(password: string, salt: Buffer, keyBytes: number, params: { N: number; r: number; p: number }) {
  // Node's default maxmem (32 MiB) is too small for larger N·r; scrypt needs about 128·N·r bytes.
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r };
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(password, salt, keyBytes, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function parseHash(encoded: string): ParsedHash | undefined {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map((s) => (/^[1-9][0-9]{0,7}$/.test(s) ? Number(s) : NaN));
  const isPowerOfTwo = Number.isInteger(N) && N > 1 && (N & (N - 1)) === 0;
  if (!isPowerOfTwo || N > MAX_N || !(r >= 1 && r <= MAX_R) || !(p >= 1 && p <= MAX_P)) return undefined;
  const [saltText, keyText] = parts.slice(4);
  if (!BASE64.test(saltText) || !BASE64.test(keyText)) return undefined;
  const salt = Buffer.from(saltText, 'base64');
  const key = Buffer.from(keyText, 'base64');
  if (salt.length === 0 || key.length < MIN_KEY_BYTES) return undefined;
  return { N, r, p, salt, key };
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(password, salt, KEY_BYTES, SCRYPT_PARAMS);
  const { N, r, p } = SCRYPT_PARAMS;
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** True when `password` matches `encoded`. A malformed hash is simply "no match"; this never throws. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = typeof encoded === 'string' && typeof password === 'string' ? parseHash(encoded) : undefined;
  if (!parsed) return false;
  try {
    const key = await deriveKey(password, parsed.salt, parsed.key.length, parsed);
    return timingSafeEqual(key, parsed.key);
  } catch {
    return false;
  }
}

/**
 * A hash with the same cost parameters (and key length) as `like` (or as `hash-password`'s) that
 * no password matches: verifying against it costs what verifying a real account costs.
 */
export function dummyHash(like?: string): string {
  const parsed = like === undefined ? undefined : parseHash(like);
  const { N, r, p } = parsed ?? SCRYPT_PARAMS;
  const keyBytes = parsed?.key.length ?? KEY_BYTES;
  return `scrypt$${N}$${r}$${p}$${randomBytes(parsed?.salt.length ?? SALT_BYTES).toString('base64')}$${randomBytes(keyBytes).toString('base64')}`;
}

export function isPasswordHash(s: unknown): s is string {
  return typeof s === 'string' && parseHash(s) !== undefined;
}
