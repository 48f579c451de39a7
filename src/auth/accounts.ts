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
    for (const d of devices) this.add({ username: d.username, role: 'device', cashRegister: d.cashRegister }, d);
    for (const a of admins) this.add({ username: a.username, role: 'admin' }, a);
    for (const k of kitchens) this.add({ username: k.username, role: 'kitchen' }, k);
  }

  private add(account: Account, cred: Credential): void {
    const check = cred.passwordHash ? hashChecker(cred.passwordHash) : plainChecker(cred.password ?? '');
    this.entries.set(account.username, { account, check });
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
