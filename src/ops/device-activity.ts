import type { Account } from '../auth/accounts.js';
import type { PushSummary, SalesLedger } from '../domain/ledger.js';

export interface RequestSeen {
  at: Date;
  method: string;
  path: string;
  status: number;
  ip: string;
}

export interface DeviceState {
  username: string;
  cashRegister: string;
  /** The last authenticated request of this device. */
  lastSeen: RequestSeen | null;
  /** The last invoice push; `derived` when it was read back from the stored sales after a restart. */
  lastPush: { at: Date; summary: PushSummary | null; derived: boolean } | null;
  /** The last refused login under this device's username (wrong password or throttled). */
  lastFailedLogin: RequestSeen | null;
  /** Refused logins under this username since this process started (in memory, like the rest). */
  failedLogins: number;
}

/**
 * Which tablet talked to the gateway when, in memory. Fed by the HTTP layer (every
 * authenticated request, every refused login) and by push events.
 */
export class DeviceActivity {
  private readonly devices = new Map<string, DeviceState>();

  constructor(devices: Account[]) {
    for (const d of devices) {
      this.devices.set(d.username, {
        username: d.username,
        cashRegister: d.cashRegister ?? '',
        lastSeen: null,
        lastPush: null,
        lastFailedLogin: null,
        failedLogins: 0,
      });
    }
  }

  /** A device created at run time (back office). */
  add(device: Account): void {
    if (!this.devices.has(device.username)) {
      this.devices.set(device.username, {
        username: device.username,
        cashRegister: device.cashRegister ?? '',
        lastSeen: null,
        lastPush: null,
        lastFailedLogin: null,
        failedLogins: 0,
      });
    }
  }

  /** A run-time device deleted. */
  remove(username: string): void {
    this.devices.delete(username);
  }

  seen(username: string, request: RequestSeen): void {
    const d = this.devices.get(username);
    if (d) d.lastSeen = request;
  }

  failedLogin(username: string, request: RequestSeen): void {
    const d = this.devices.get(username);
    if (!d) return;
    d.lastFailedLogin = request;
    d.failedLogins += 1;
  }

  pushed(username: string, at: Date, summary: PushSummary): void {
    const d = this.devices.get(username);
    if (d) d.lastPush = { at, summary, derived: false };
  }

  list(): DeviceState[] {
    return [...this.devices.values()];
  }

  /**
   * After a restart the last push of each device is unknown; the newest stored change of a
   * sale of its register is a good lower bound (pushes that changed nothing leave no trace).
   */
  async deriveLastPushes(ledger: Pick<SalesLedger, 'latestByRegister' | 'getSale'>): Promise<void> {
    const newest = await ledger.latestByRegister();
    for (const [register, { identifier }] of newest) {
      const record = await ledger.getSale(identifier);
      const at = record?.history.at(-1)?.at;
      if (!record || !at) continue;
      const pushedBy = record.sale.source?.device;
      const candidates = this.list().filter((d) => d.cashRegister === register);
      const owners = candidates.some((d) => d.username === pushedBy) ? candidates.filter((d) => d.username === pushedBy) : candidates;
      for (const d of owners) {
        if (!d.lastPush) d.lastPush = { at: new Date(at), summary: null, derived: true };
      }
    }
  }
}
