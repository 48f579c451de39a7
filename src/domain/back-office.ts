import type { Logger } from 'pino';
import type { Account } from '../auth/accounts.js';
import type { GatewayEvents } from '../events.js';
import type { BackOfficeStore, StatsStore } from './ports/back-office-store.js';
import type { Store } from './ports/store.js';
import type { SaleRecord } from './ports/records.js';
import type { UnitOfWork } from './ports/unit-of-work.js';
import { Cash, type BalanceView } from './back-office/cash.js';
import { Days, dayFiguresRow, type DaySummary } from './back-office/days.js';
import { LineFactsBook } from './back-office/line-facts.js';
import { Presence } from './back-office/presence.js';
import { Registers, registerRow, registration, type RegisterState, type Registration } from './back-office/registers.js';
import { applyRefresh } from './back-office/refresh.js';
import { SaleAccounting } from './back-office/sale-accounting.js';
import { ShopTimeZone } from './time-zone.js';
import { Startup } from './back-office/startup.js';
import type { Catalog } from './catalog.js';
import type { SaleHooks, SalesLedger } from './ledger.js';
import type { UnloadableRecord } from './record-check.js';
import { Money, type BalanceMovement, type DayReport, type Figures, type FootprintLine, type LineFacts } from './reports.js';
import type { SaleSummary } from './sale-summaries.js';

export type { BalanceView } from './back-office/cash.js';
export type { DaySummary } from './back-office/days.js';
export { parseDayId, type Registration } from './back-office/registers.js';
export type { SaleSummary } from './sale-summaries.js';

export interface BackOfficeOptions {
  salesStore: Store;
  store: BackOfficeStore;
  /** Callers wrap closeDay and moveCash in its transact; a day close first waits here for what the day accounts. */
  uow: UnitOfWork;
  ledger: SalesLedger;
  catalog: Catalog;
  events: GatewayEvents;
  currency: string;
  /** The shop's time zone (config `timeZone`, a shop's `timeZone`); default UTC. */
  timeZone?: ShopTimeZone;
  devices: { username: string; cashRegister: string }[];
  now: () => Date;
  logger: Logger;
  /** Start-up: a stored closed day or cash movement that cannot be loaded (issue 18); without it, it is skipped. */
  setAside?: (record: UnloadableRecord) => void;
}

/**
 * Registrations, days, cash balance and the running aggregates behind reports and stats, one
 * concern a module in ./back-office/: registers (and registrations), presence, days (X/Z reports,
 * carry), cash, line facts, sale accounting (the ledger's hooks), start-up. This class wires them
 * and is what the routes use. Every sale change joins through the ledger's hooks, so a day's
 * figures and the stats move in the same serialised step and commit round as the sale. On lowdb
 * they are rebuilt from the stored sales at start-up; on PostgreSQL they are rows of that round
 * (register state, day figures, stats buckets), and start-up reads the open days only.
 */
export class BackOffice {
  readonly money: Money;
  /** The calendar of the stats and the clock of printouts; changed in place (no restart). */
  readonly timeZone: ShopTimeZone;
  readonly stats: StatsStore;
  readonly hooks: SaleHooks;
  private readonly ledger: SalesLedger;
  private readonly store: BackOfficeStore;
  private readonly registers: Registers;
  private readonly facts: LineFactsBook;
  private readonly presence: Presence;
  private readonly dayBook: Days;
  private readonly cash: Cash;
  /** Until open() has settled the stored days. */
  private startup: Startup | null;

  constructor(opts: BackOfficeOptions) {
    const { ledger, salesStore, store, uow, now } = opts;
    this.ledger = ledger;
    this.store = store;
    this.stats = store.stats;
    this.money = new Money(opts.currency);
    this.timeZone = opts.timeZone ?? new ShopTimeZone();
    this.registers = new Registers(opts.devices);
    this.facts = new LineFactsBook(opts.catalog);
    this.presence = new Presence(this.registers, store, () => this.startup !== null);
    const savePresence = () => this.presence.save();
    const { registers, money } = this;
    this.dayBook = new Days({ registers, ledger, uow, store, money, now, savePresence });
    this.cash = new Cash({ registers, days: this.dayBook, ledger, store, money, now, savePresence });
    const accounting = new SaleAccounting({
      registers,
      days: this.dayBook,
      facts: this.facts,
      stats: this.stats,
      timeZone: this.timeZone,
      dayFigures: (reg, dayId, at) => this.dayFigures(reg, dayId, at),
      changed: (reg, dayId) => this.changed(reg, dayId),
    });
    this.hooks = accounting.hooks;
    this.startup = new Startup({
      registers,
      days: this.dayBook,
      presence: this.presence,
      accounting,
      facts: this.facts,
      ledger,
      salesStore,
      uow,
      store,
      now,
      logger: opts.logger,
      setAside: opts.setAside,
    });
    opts.events.on('push', ({ device, cashRegisterName, at }) => this.presence.pushed(device, cashRegisterName, at));
    // Several processes on one database: what another one wrote replaces what this one held.
    store.onRefresh?.((r) => applyRefresh(this.registers, r));
  }

  // ---- start-up ----

  /** Every stored sale, once, while the sales store opens (not needed by a store that keeps rows). */
  loadSale(record: SaleRecord): void {
    if (!this.store.keepsRows) this.startup!.loadSale(record);
  }

  /** After the sales store opened: loads days and movements, settles what a crash may have left half-written. */
  async open(): Promise<void> {
    const startup = this.startup!;
    await startup.openDays();
    this.startup = null;
    await startup.migrateLegacy();
  }

  /** While loading, every stored day collects figures; afterwards, only the open day has running figures. */
  private dayFigures(reg: RegisterState, dayId: string, at: string): Figures | null {
    if (this.startup) return this.startup.dayFigures(reg, dayId, at);
    return reg.open?.dayId === dayId ? reg.open.figures : null;
  }

  /** A change moved the register and day `dayId`: a store that keeps rows writes them in its round. */
  private changed(reg: RegisterState, dayId: string): void {
    // Start-up writes what it loaded itself (and needs nothing written when it only replays).
    if (this.startup) return;
    this.store.putRegister(reg.name, () => registerRow(reg));
    const day = reg.open?.dayId === dayId ? reg.open : null;
    if (day) this.store.putDayFigures(dayId, () => dayFiguresRow(reg, day));
  }

  // ---- days ----

  closeDay(register: string, by: string, dayId?: string): Promise<{ report: DayReport; alreadyClosed: boolean }> {
    return this.dayBook.closeDay(register, by, dayId);
  }

  report(dayId: string): DayReport {
    return this.dayBook.report(dayId);
  }

  currentDayId(register: string): string | null {
    return this.dayBook.currentDayId(register);
  }

  day(dayId: string): DaySummary {
    return this.dayBook.day(dayId);
  }

  days(filter: { register?: string; from?: string; to?: string }): DaySummary[] {
    return this.dayBook.days(filter);
  }

  // ---- cash balance ----

  moveCash(
    register: string,
    action: BalanceMovement['action'],
    amount: number,
    note: string,
    by: string,
  ): Promise<{ movement: BalanceMovement; balance: BalanceView }> {
    return this.cash.moveCash(register, action, amount, note, by);
  }

  balance(register: string): BalanceView {
    return this.cash.balance(register);
  }

  // ---- registrations and presence ----

  registrations(): Registration[] {
    return this.registers.registrations();
  }

  registrationOf(register: string): Registration {
    return registration(this.registers.known(register));
  }

  versionOf(register: string): number {
    return this.registers.known(register).version;
  }

  knownRegister(name: string): RegisterState {
    return this.registers.known(name);
  }

  registerNames(): string[] {
    return this.registers.names();
  }

  /** A device made an authenticated request (kept in memory; written with the next back-office write). */
  seen(account: Account, at: Date): void {
    this.presence.seen(account, at);
  }

  /** Writes presence now (at shutdown; pushes, balance changes and closes write it anyway). */
  savePresence(): void {
    this.presence.save();
  }

  // ---- per-sale summaries (kept by the ledger's sales view) and line facts ----

  summary(identifier: string): Promise<SaleSummary | undefined> {
    return this.ledger.summary(identifier);
  }

  lineFactsOf(record: SaleRecord): (line: FootprintLine) => LineFacts {
    return this.facts.of(record);
  }
}
