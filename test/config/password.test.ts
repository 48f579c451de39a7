import { describe, expect, it } from 'vitest';
import { hashPassword, isPasswordHash, verifyPassword } from '../../src/config/password.js';

describe('password hashing', () => {
  it('hashes in the documented scrypt format', async () => {
    const hash = await hashPassword('s3cret');
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(isPasswordHash(hash)).toBe(true);
  });

  it('salts every hash', async () => {
    expect(await hashPassword('same')).not.toBe(await hashPassword('same'));
  });

  it('verifies the right password and rejects a wrong one', async () => {
    const hash = await hashPassword('correct horse');
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horsf', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('treats a malformed hash as no match and never throws', async () => {
    const good = await hashPassword('pw');
    const [, N, r, p, salt, key] = good.split('$');
    const malformed = [
      '',
      'pw',
      'bcrypt$16384$8$1$aaaa$bbbb',
      `scrypt$${N}$${r}$${p}$${salt}`,
      `scrypt$1000$${r}$${p}$${salt}$${key}`, // N not a power of two
      `scrypt$${2 ** 30}$${r}$${p}$${salt}$${key}`, // absurd cost
      `scrypt$${N}$${r}$${p}$${salt}$${key.slice(0, 8)}`, // key too short
      `scrypt$${N}$${r}$${p}$not*base64$${key}`,
      undefined as unknown as string,
    ];
    for (const encoded of malformed) {
      expect(await verifyPassword('pw', encoded)).toBe(false);
      expect(isPasswordHash(encoded)).toBe(false);
    }
  });
});
