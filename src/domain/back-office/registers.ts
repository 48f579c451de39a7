import { notFound } from '../../errors.js';
import type { ClosedDay, RegisterRow } from '../ports/back-office-store.js';
import { compareIds } from '../catalog.js';
import type { BalanceMovement, Figures } from '../reports.js';

/** A register's day while it is open: its running figures and cash movements. */
export interface DayState {
  dayNo: number;
  dayId: string;
  openedAt: string;
  figures: Figures;
  movements: BalanceMovement[];
}

export interface DeviceState {
  configured: boolean;
  lastSeenAt: string | null;
  lastPushAt: string | null;
}

export interface RegisterState {
  name: string;
  configured: boolean;
  /** +1 on every sale change, balance change and day close of the register (derived again at start-up). */
  version: number;
  /** The sale changes the version counts. */
  saleChanges: number;
  /** Devices that stored a sale of the register (the others are configured or were seen since start). */
  saleDevices: Set<string>;
  lastDayNo: number;
  open: DayState | null;
  closed: Map<number, ClosedDay>;
  lastClosed: ClosedDay | null;
  movementCount: number;
  lastSeenAt: string | null;
  lastPushAt: string | null;
  devices: Map<string, DeviceState>;
}

export interface Registration {
  cashRegisterName: string;
  configured: boolean;
  devices: ({ username: string } & DeviceState)[];
  lastSeenAt: string | null;
  lastPushAt: string | null;
  version: number;
  currentDayId: string | null;
  lastClosedDayId: string | null;
}

/** `register:dayNo` (dayNo 1–999,999,999) split in two; null when it is not a day id. */
export function parseDayId(dayId: string): { register: string; dayNo: number } | null {
  const at = dayId.lastIndexOf(':');
  if (at <= 0) return null;
  const n = dayId.slice(at + 1);
  if (!/^[1-9]\d{0,8}$/.test(n)) return null;
  return { register: dayId.slice(0, at), dayNo: Number(n) };
}

/**
 * The cash registers the back office knows (configured ones, and any that sold or pushed) and their
 * devices: the state every other back-office part reads and moves.
 */
export class Registers {
  private readonly byName = new Map<string, RegisterState>();

  constructor(devices: { username: string; cashRegister: string }[]) {
    for (const d of devices) this.device(this.register(d.cashRegister, true), d.username).configured = true;
  }

  /** The register, made on first mention. */
  register(name: string, configured = false): RegisterState {
    let reg = this.byName.get(name);
    if (!reg) {
      reg = {
        name,
        configured,
        version: 0,
        saleChanges: 0,
        saleDevices: new Set(),
        lastDayNo: 0,
        open: null,
        closed: new Map(),
        lastClosed: null,
        movementCount: 0,
        lastSeenAt: null,
        lastPushAt: null,
        devices: new Map(),
      };
      this.byName.set(name, reg);
    }
    if (configured) reg.configured = true;
    return reg;
  }

  device(reg: RegisterState, username: string): DeviceState {
    let dev = reg.devices.get(username);
    if (!dev) reg.devices.set(username, (dev = { configured: false, lastSeenAt: null, lastPushAt: null }));
    return dev;
  }

  /** A device stored a sale of the register. */
  soldBy(reg: RegisterState, username: string): void {
    this.device(reg, username);
    reg.saleDevices.add(username);
  }

  get(name: string): RegisterState | undefined {
    return this.byName.get(name);
  }

  /** The register, or 404 not_found. */
  known(name: string): RegisterState {
    const reg = this.byName.get(name);
    if (!reg) throw notFound(`cash register ${name}`);
    return reg;
  }

  all(): IterableIterator<RegisterState> {
    return this.byName.values();
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  registrations(): Registration[] {
    return [...this.byName.values()].sort((a, b) => compareIds(a.name, b.name)).map(registration);
  }
}

/** What the register's stored sales made of it, as a store that keeps rows writes it. */
export function registerRow(r: RegisterState): RegisterRow {
  return { cashRegisterName: r.name, saleChanges: r.saleChanges, devices: [...r.saleDevices] };
}

export function registration(r: RegisterState): Registration {
  return {
    cashRegisterName: r.name,
    configured: r.configured,
    devices: [...r.devices].sort(([a], [b]) => compareIds(a, b)).map(([username, d]) => ({ username, ...d })),
    lastSeenAt: r.lastSeenAt,
    lastPushAt: r.lastPushAt,
    version: r.version,
    currentDayId: r.open?.dayId ?? null,
    lastClosedDayId: r.lastClosed?.dayId ?? null,
  };
}
