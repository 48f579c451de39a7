import { createHash, timingSafeEqual } from 'node:crypto';
import { dummyHash, isPasswordHash, verifyPassword } from '../config/password.js';

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
  /** From the config file, created at run time (back office), or kept by the shop directory (src/shops). */
  origin: 'config' | 'runtime' | 'managed';
  check(password: string): Promise<boolean>;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export type VerifyHash = (password: string, encoded: string) => Promise<boolean>;

/**
 * Brings the run-time devices up to date from a store other processes write too. `strict`: ask
 * the store now; otherwise only when told something changed. undefined: nothing to wait for.
 */
export type SyncRuntime = (strict: boolean) => Promise<void> | undefined;

/**
 * Every login that is not a remembered success costs exactly one scrypt with the same parameters,
 * whether the user is unknown, has a plain password or a passwordHash: the answer's timing does
 * not tell which user names exist. A success is remembered (as a digest, in memory only) because
 * a tablet authenticates on every request.
 */
function checker(cred: Credential, dummy: string, verifyHash: VerifyHash): (password: string) => Promise<boolean> {
  let verified: Buffer | null = null;
  const plain = cred.passwordHash ? null : digest(cred.password ?? '');
  // A restarted gateway meets every tablet's requests at once: the same password is checked once, not once per request.
  const inFlight = new Map<string, Promise<boolean>>();
  const check = async (password: string, d: Buffer) => {
    if (plain) {
      // Comparing digests hides the secret's length; timingSafeEqual hides where it differs.
      await verifyHash(password, dummy);
      return timingSafeEqual(d, plain);
    }
    return verifyHash(password, cred.passwordHash!);
  };
  return async (password) => {
    const d = digest(password);
    if (verified && timingSafeEqual(d, verified)) return true;
    const key = d.toString('hex');
    let pending = inFlight.get(key);
    if (!pending) {
      pending = check(password, d).finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    const ok = await pending;
    if (ok) verified = d;
    return ok;
  };
}

/** The Basic-auth users of the gateway: one per tablet (devices), admins, and kitchen accounts. */
export class Accounts {
  private readonly entries = new Map<string, Entry>();
  /** What unknown users and plain-password accounts are verified against. */
  private readonly dummy: string;
  private readonly verifyHash: VerifyHash;
  private syncRuntime: SyncRuntime | null = null;
  private readonly runtimeListeners: ((username: string, account: Account | null) => void)[] = [];

  constructor(devices: (Credential & { cashRegister: string })[], admins: Credential[], kitchens: Credential[] = [], opts: { verifyHash?: VerifyHash } = {}) {
    this.verifyHash = opts.verifyHash ?? verifyPassword;
    // The first configured hash sets the cost, so an unknown user costs what a real one does.
    this.dummy = dummyHash([...devices, ...admins, ...kitchens].find((c) => isPasswordHash(c.passwordHash))?.passwordHash);
    for (const d of devices) this.add({ username: d.username, role: 'device', cashRegister: d.cashRegister }, d, 'config');
    for (const a of admins) this.add({ username: a.username, role: 'admin' }, a, 'config');
    for (const k of kitchens) this.add({ username: k.username, role: 'kitchen' }, k, 'config');
  }

  private add(account: Account, cred: Credential, origin: Entry['origin']): void {
    this.entries.set(account.username, { account, origin, check: checker(cred, this.dummy, this.verifyHash) });
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
    for (const l of this.runtimeListeners) l(d.username, account);
    return account;
  }

  /** A device or admin of the shop directory (src/shops), added or re-passworded: in effect at once. */
  putManaged(account: Account, cred: Credential): void {
    this.add(account, cred, 'managed');
    if (account.role === 'device') for (const l of this.runtimeListeners) l(account.username, account);
  }

  /** A shop directory's device or admin removed (a config-file account is never removed here). */
  removeManaged(username: string): void {
    const entry = this.entries.get(username);
    if (entry?.origin !== 'managed') return;
    this.entries.delete(username);
    if (entry.account.role === 'device') for (const l of this.runtimeListeners) l(username, null);
  }

  /** A run-time device deleted (here or by another process). */
  removeRuntimeDevice(username: string): void {
    if (this.entries.get(username)?.origin !== 'runtime') return;
    this.entries.delete(username);
    for (const l of this.runtimeListeners) l(username, null);
  }

  /** Told of every run-time device added (account) or removed (null). */
  onRuntimeChange(listener: (username: string, account: Account | null) => void): void {
    this.runtimeListeners.push(listener);
  }

  /**
   * PostgreSQL: other processes create, re-password and delete run-time devices. An unknown username
   * and a refused run-time device are looked up in the store first; a known one only when a
   * notification said something changed, so a device that did not change costs no round trip.
   */
  useSync(sync: SyncRuntime): void {
    this.syncRuntime = sync;
  }

  private async synced(strict: boolean): Promise<void> {
    try {
      await this.syncRuntime?.(strict);
    } catch {
      // The store is unreachable: answer from what this process knows.
    }
  }

  /** A new password for a run-time device (config devices change in the config file). */
  setRuntimePassword(username: string, passwordHash: string): void {
    const entry = this.entries.get(username);
    if (entry?.origin !== 'runtime') throw new Error(`${username} is not a run-time device`);
    entry.check = checker({ username, passwordHash }, this.dummy, this.verifyHash);
  }

  /** The account for these credentials, or null. Never throws. */
  async verify(username: string, password: string): Promise<Account | null> {
    let entry = this.entries.get(username);
    try {
      if (this.syncRuntime && (!entry || entry.origin === 'runtime')) {
        await this.synced(!entry);
        entry = this.entries.get(username);
      }
      if (!entry) {
        await this.verifyHash(password, this.dummy); // same work whether or not the user exists
        return null;
      }
      const check = entry.check;
      if (await check(password)) return entry.account;
      if (!this.syncRuntime) return null;
      // Refused: a run-time device's password may have been changed by another process a moment ago.
      // Every refusal reads the store once (an unknown username did too): timing tells no names apart.
      await this.synced(true);
      if (entry.origin !== 'runtime') return null;
      const now = this.entries.get(username);
      return now && now.check !== check && (await now.check(password)) ? now.account : null;
    } catch {
      return null;
    }
  }

  devices(): Account[] {
    return [...this.entries.values()].map((e) => e.account).filter((a) => a.role === 'device');
  }
}
