import { createHash, timingSafeEqual } from 'node:crypto';
import { verifyPassword } from '../config/password.js';

export interface Account {
  username: string;
  /** kitchen: sees the kitchen screen and /api/kitchen only. */
  role: 'device' | 'admin' | 'kitchen';
  /** The srv4pos cash register a device's sales belong to. */
  cashRegister?: string;
}

export interface Credential {
  username: string;
  password?: string;
  passwordHash?: string;
}

interface Entry {
  account: Account;
  /** From the config file, or created at run time (back office). */
  origin: 'config' | 'runtime';
  check(password: string): Promise<boolean>;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Comparing digests hides the secret's length; timingSafeEqual hides where it differs. */
function plainChecker(secret: string): (password: string) => Promise<boolean> {
  const expected = digest(secret);
  return async (password) => timingSafeEqual(digest(password), expected);
}

/**
 * scrypt is slow on purpose (~50 ms); a tablet authenticates on every request, so a
 * successful verification is remembered (as a digest, in memory only).
 */
function hashChecker(encoded: string): (password: string) => Promise<boolean> {
  let verified: Buffer | null = null;
  return async (password) => {
    const d = digest(password);
    if (verified && timingSafeEqual(d, verified)) return true;
    const ok = await verifyPassword(password, encoded);
    if (ok) verified = d;
    return ok;
  };
}

/** The Basic-auth users of the gateway: one per tablet (devices), admins, and kitchen accounts. */
export class Accounts {
  private readonly entries = new Map<string, Entry>();

  constructor(devices: (Credential & { cashRegister: string })[], admins: Credential[], kitchens: Credential[] = []) {
    for (const d of devices) this.add({ username: d.username, role: 'device', cashRegister: d.cashRegister }, d, 'config');
    for (const a of admins) this.add({ username: a.username, role: 'admin' }, a, 'config');
    for (const k of kitchens) this.add({ username: k.username, role: 'kitchen' }, k, 'config');
  }

  private add(account: Account, cred: Credential, origin: Entry['origin']): void {
    const check = cred.passwordHash ? hashChecker(cred.passwordHash) : plainChecker(cred.password ?? '');
    this.entries.set(account.username, { account, origin, check });
  }

  /** Whether a username is taken (by a device or an admin, from the config or not). */
  has(username: string): boolean {
    return this.entries.has(username);
  }

  originOf(username: string): Entry['origin'] | undefined {
    return this.entries.get(username)?.origin;
  }

  /** A device created at run time; usernames are unique across config and run-time accounts. */
  addRuntimeDevice(d: { username: string; passwordHash: string; cashRegister: string }): Account {
    if (this.entries.has(d.username)) throw new Error(`username ${d.username} is taken`);
    const account: Account = { username: d.username, role: 'device', cashRegister: d.cashRegister };
    this.add(account, { username: d.username, passwordHash: d.passwordHash }, 'runtime');
    return account;
  }

  /** A new password for a run-time device (config devices change in the config file). */
  setRuntimePassword(username: string, passwordHash: string): void {
    const entry = this.entries.get(username);
    if (!entry || entry.origin !== 'runtime') throw new Error(`${username} is not a run-time device`);
    entry.check = hashChecker(passwordHash);
  }

  /** The account for these credentials, or null. Never throws. */
  async verify(username: string, password: string): Promise<Account | null> {
    const entry = this.entries.get(username);
    if (!entry) {
      await plainChecker('')(password); // same work whether or not the user exists
      return null;
    }
    try {
      return (await entry.check(password)) ? entry.account : null;
    } catch {
      return null;
    }
  }

  devices(): Account[] {
    return [...this.entries.values()].map((e) => e.account).filter((a) => a.role === 'device');
  }
}
