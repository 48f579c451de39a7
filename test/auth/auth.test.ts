import { describe, expect, it } from 'vitest';
import { Accounts } from '../../src/auth/accounts.js';
import { LoginThrottle } from '../../src/auth/throttle.js';
import { hashPassword } from '../../src/config/password.js';

describe('Accounts', () => {
  it('verifies plain and scrypt-hashed passwords and tells devices from admins', async () => {
    const accounts = new Accounts(
      [
        { username: 't1', password: 'secret-1', cashRegister: 'R1' },
        { username: 't2', passwordHash: await hashPassword('secret-2'), cashRegister: 'R2' },
      ],
      [{ username: 'boss', password: 'boss-pw' }],
    );
    expect(await accounts.verify('t1', 'secret-1')).toEqual({ username: 't1', role: 'device', cashRegister: 'R1' });
    expect(await accounts.verify('t2', 'secret-2')).toEqual({ username: 't2', role: 'device', cashRegister: 'R2' });
    expect(await accounts.verify('t2', 'secret-2')).not.toBeNull(); // second time from the verified cache
    expect(await accounts.verify('boss', 'boss-pw')).toEqual({ username: 'boss', role: 'admin' });
    expect(await accounts.verify('t1', 'secret-1 ')).toBeNull();
    expect(await accounts.verify('t2', 'wrong')).toBeNull();
    expect(await accounts.verify('nobody', 'secret-1')).toBeNull();
    expect(await accounts.verify('t1', '')).toBeNull();
    expect(accounts.devices().map((d) => d.username)).toEqual(['t1', 't2']);
  });
});

describe('LoginThrottle', () => {
  it('locks a (address, user) pair after the free failures, exponentially, and forgets on success', () => {
    let now = 0;
    const throttle = new LoginThrottle({ freePerUser: 3, freePerAddress: 100 }, () => now);
    for (let i = 0; i < 3; i++) throttle.recordFailure('10.0.0.9', 'tablet-1');
    expect(throttle.retryAfterMs('10.0.0.9', 'tablet-1')).toBe(0);
    throttle.recordFailure('10.0.0.9', 'tablet-1');
    expect(throttle.retryAfterMs('10.0.0.9', 'tablet-1')).toBe(1000);
    throttle.recordFailure('10.0.0.9', 'tablet-1');
    expect(throttle.retryAfterMs('10.0.0.9', 'tablet-1')).toBe(2000);
    expect(throttle.retryAfterMs('10.0.0.8', 'tablet-1')).toBe(0);
    expect(throttle.retryAfterMs('10.0.0.9', 'tablet-2')).toBe(0);
    now += 2000;
    expect(throttle.retryAfterMs('10.0.0.9', 'tablet-1')).toBe(0);
    throttle.recordSuccess('10.0.0.9', 'tablet-1');
    throttle.recordFailure('10.0.0.9', 'tablet-1');
    expect(throttle.retryAfterMs('10.0.0.9', 'tablet-1')).toBe(0);
  });

  it('locks a whole address that sprays usernames, without touching other addresses', () => {
    const throttle = new LoginThrottle({ freePerUser: 5, freePerAddress: 10 }, () => 0);
    for (let i = 0; i < 11; i++) throttle.recordFailure('10.0.0.66', `user-${i}`);
    expect(throttle.retryAfterMs('10.0.0.66', 'tablet-1')).toBeGreaterThan(0);
    expect(throttle.retryAfterMs('10.0.0.7', 'tablet-1')).toBe(0);
  });

  it('caps the lock and bounds its memory', () => {
    const throttle = new LoginThrottle({ freePerUser: 0, maxLockMs: 60_000, maxKeys: 100 }, () => 0);
    for (let i = 0; i < 50; i++) throttle.recordFailure('a', 'u');
    expect(throttle.retryAfterMs('a', 'u')).toBe(60_000);
    for (let i = 0; i < 500; i++) throttle.recordFailure(`addr-${i}`, 'u');
    expect(throttle.retryAfterMs('addr-0', 'u')).toBe(0);
  });
});
