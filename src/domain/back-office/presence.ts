import type { Account } from '../../auth/accounts.js';
import type { BackOfficeStore, PresenceDoc } from '../ports/back-office-store.js';
import type { Registers } from './registers.js';

/** The later of two ISO times (either may be missing). */
export const maxIso = (a: string | null, b: string | null) => (a === null ? b : b === null ? a : a > b ? a : b);

/**
 * When each register and device was last seen (any authenticated request) and last pushed: kept in
 * memory, written with the back office's other writes and at shutdown, never on every poll.
 */
export class Presence {
  constructor(
    private readonly registers: Registers,
    private readonly store: BackOfficeStore,
    /** True while the stored sales load: pushes replayed then write nothing. */
    private readonly loading: () => boolean,
  ) {}

  /** A device made an authenticated request (kept in memory; written with the next back-office write). */
  seen(account: Account, at: Date): void {
    if (account.role !== 'device' || !account.cashRegister) return;
    const iso = at.toISOString();
    const reg = this.registers.register(account.cashRegister);
    reg.lastSeenAt = maxIso(reg.lastSeenAt, iso);
    const dev = this.registers.device(reg, account.username);
    dev.lastSeenAt = maxIso(dev.lastSeenAt, iso);
  }

  pushed(device: string, register: string, at: Date): void {
    const iso = at.toISOString();
    const reg = this.registers.register(register);
    reg.lastPushAt = maxIso(reg.lastPushAt, iso);
    reg.lastSeenAt = maxIso(reg.lastSeenAt, iso);
    const dev = this.registers.device(reg, device);
    dev.lastPushAt = maxIso(dev.lastPushAt, iso);
    dev.lastSeenAt = maxIso(dev.lastSeenAt, iso);
    // Not with the push's commit round: presence is written a little later (and at shutdown).
    if (!this.loading()) this.store.savePresenceLater(() => this.doc());
  }

  save(): void {
    this.store.savePresence(this.doc());
  }

  /** Start-up: the stored presence joins what the registers already know. */
  apply(doc: PresenceDoc): void {
    mergePresence(this.registers, doc);
  }

  private doc(): PresenceDoc {
    return presenceDoc(this.registers);
  }
}

/** What is written: every register's and device's last seen and last push times. */
export function presenceDoc(registers: Registers): PresenceDoc {
  const doc: PresenceDoc['registers'] = {};
  for (const reg of registers.all()) {
    doc[reg.name] = {
      lastSeenAt: reg.lastSeenAt,
      lastPushAt: reg.lastPushAt,
      devices: Object.fromEntries([...reg.devices].map(([name, d]) => [name, { lastSeenAt: d.lastSeenAt, lastPushAt: d.lastPushAt }])),
    };
  }
  return { registers: doc };
}

/** The later of each stored time and the known one, for registers and devices known already. */
export function mergePresence(registers: Registers, doc: PresenceDoc): void {
  for (const [name, p] of Object.entries(doc.registers)) {
    const reg = registers.get(name);
    if (!reg) continue; // presence alone does not make a register (it may have left the config)
    reg.lastSeenAt = maxIso(reg.lastSeenAt, p.lastSeenAt);
    reg.lastPushAt = maxIso(reg.lastPushAt, p.lastPushAt);
    for (const [username, d] of Object.entries(p.devices)) {
      const dev = reg.devices.get(username);
      if (!dev) continue;
      dev.lastSeenAt = maxIso(dev.lastSeenAt, d.lastSeenAt);
      dev.lastPushAt = maxIso(dev.lastPushAt, d.lastPushAt);
    }
  }
}
