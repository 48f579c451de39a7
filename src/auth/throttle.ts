/**
 * Failed-login throttle, keyed per (client address, username) and per client address, so a
 * brute force from one address never slows a tablet that logs in correctly from another.
 * After `free` failures a key is locked for 2^(n-free) seconds, capped.
 */
export interface ThrottleOptions {
  freePerUser: number;
  freePerAddress: number;
  maxLockMs: number;
  forgetAfterMs: number;
  maxKeys: number;
}

const DEFAULTS: ThrottleOptions = {
  freePerUser: 5,
  freePerAddress: 20,
  maxLockMs: 15 * 60_000,
  forgetAfterMs: 60 * 60_000,
  maxKeys: 50_000,
};

interface Failures {
  count: number;
  lockedUntil: number;
  last: number;
}

export class LoginThrottle {
  private readonly keys = new Map<string, Failures>();
  private readonly opts: ThrottleOptions;

  constructor(
    opts: Partial<ThrottleOptions> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** Milliseconds the caller must wait before another attempt, or 0. */
  retryAfterMs(address: string, username: string): number {
    const t = this.now();
    const wait = (key: string) => Math.max(0, (this.keys.get(key)?.lockedUntil ?? 0) - t);
    return Math.max(wait(userKey(address, username)), wait(addressKey(address)));
  }

  recordFailure(address: string, username: string): void {
    this.bump(userKey(address, username), this.opts.freePerUser);
    this.bump(addressKey(address), this.opts.freePerAddress);
  }

  recordSuccess(address: string, username: string): void {
    this.keys.delete(userKey(address, username));
  }

  private bump(key: string, free: number): void {
    const t = this.now();
    let f = this.keys.get(key);
    if (!f || t - f.last > this.opts.forgetAfterMs) f = { count: 0, lockedUntil: 0, last: t };
    f.count++;
    f.last = t;
    if (f.count > free) f.lockedUntil = t + Math.min(this.opts.maxLockMs, 1000 * 2 ** Math.min(f.count - free - 1, 30));
    this.keys.delete(key);
    this.keys.set(key, f);
    if (this.keys.size > this.opts.maxKeys) this.keys.delete(this.keys.keys().next().value!);
  }
}

const userKey = (address: string, username: string) => `u\u0000${address}\u0000${username}`;
const addressKey = (address: string) => `a\u0000${address}`;
