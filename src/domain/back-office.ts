import type { Logger } from 'pino';
import type { Account } from '../auth/accounts.js';
import { AppError, notFound } from '../errors.js';
import type { GatewayEvents } from '../events.js';
import type { BackOfficeStore, ClosedDay, PresenceDoc } from './ports/back-office-store.js';
import type { Store } from './ports/store.js';
import type { SaleChange, SaleRecord } from './ports/records.js';
import type { UnitOfWork } from './ports/unit-of-work.js';
import { categoryPath } from '../translate/articles.js';
import { toDecimal } from '../translate/decimal.js';
import { compareIds, type Catalog } from './catalog.js';
import type { ChangeKind, SaleHooks, SalesLedger } from './ledger.js';
import { closedDayProblem, movementProblem, type UnloadableRecord } from './record-check.js';
import {
  Figures, Money, changeFacts, cashBalance, dayReport, footprintKey, footprintOf, lineKey, vatRateOf,
  type BalanceMovement, type Carry, type CashBalance, type ChangeFacts, type DayReport, type FootprintLine,
  type LineFacts, type SaleState,
} from './reports.js';
import { SalesFeed } from './sales-feed.js';
import { SaleSummaries } from './sale-summaries.js';
import { StatsIndex } from './stats.js';
import type { Category, Commodity, Product, Sale, Tax } from './types.js';

export interface BackOfficeOptions {
  salesStore: Store;
  store: BackOfficeStore;
  /** Callers wrap closeDay and moveCash in its transact; a day close first waits here for what the day accounts. */
  uow: UnitOfWork;
  ledger: SalesLedger;
  catalog: Catalog;
  events: GatewayEvents;
  currency: string;
  devices: { username: string; cashRegister: string }[];
  now: () => Date;
  logger: Logger;
  /** Start-up: a stored closed day or cash movement that cannot be loaded (issue 18); without it, it is skipped. */
  setAside?: (record: UnloadableRecord) => void;
}

interface DayState {
  dayNo: number;
  dayId: string;
  openedAt: string;
  figures: Figures;
  movements: BalanceMovement[];
}

interface DeviceState {
  configured: boolean;
  lastSeenAt: string | null;
  lastPushAt: string | null;
}

interface RegisterState {
  name: string;
  configured: boolean;
  /** +1 on every sale change, balance change and day close of the register (derived again at start-up). */
  version: number;
  lastDayNo: number;
  open: DayState | null;
  closed: Map<number, ClosedDay>;
  lastClosed: ClosedDay | null;
  movementCount: number;
  lastSeenAt: string | null;
  lastPushAt: string | null;
  devices: Map<string, DeviceState>;
}

export interface SaleSummary {
  total: number;
  vat: number;
  lines: number;
  firstSeq: number;
  receivedAt: string;
  dayId: string | null;
}

export interface DaySummary {
  dayId: string;
  cashRegisterName: string;
  dayNo: number;
  status: 'open' | 'closed';
  openedAt: string;
  closedAt: string | null;
  saleCount: number;
  refundCount: number;
  cancelCount: number;
  gross: number;
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

export interface BalanceView extends CashBalance {
  cashRegisterName: string;
  dayId: string | null;
}

export function parseDayId(dayId: string): { register: string; dayNo: number } | null {
  const at = dayId.lastIndexOf(':');
  if (at <= 0) return null;
  const n = dayId.slice(at + 1);
  if (!/^[1-9]\d{0,8}$/.test(n)) return null;
  return { register: dayId.slice(0, at), dayNo: Number(n) };
}

const maxIso = (a: string | null, b: string | null) => (a === null ? b : b === null ? a : a > b ? a : b);

/**
 * Registrations, days, cash balance and the running aggregates behind reports and stats.
 * Joins every sale change through the ledger's hooks, so a day's figures and the stats move in
 * the same serialised step and commit round as the sale; rebuilt from the stored sales at start-up.
 */
export class BackOffice {
  readonly money: Money;
  readonly stats = new StatsIndex();
  readonly feed: SalesFeed;
  private readonly registers = new Map<string, RegisterState>();
  private readonly summaries: SaleSummaries;
  /** Start-up only: figures of every day found in the stored sales, and movements by day. */
  private loading: { days: Map<string, { figures: Figures; openedAt: string }>; movements: Map<string, BalanceMovement[]>; legacy: string[] } | null =
    { days: new Map(), movements: new Map(), legacy: [] };
  private articles: { version: number; rates: Map<string, number>; configured: number[]; categories: Map<string, string> } | null = null;
  private presence: PresenceDoc = { registers: {} };

  constructor(private readonly opts: BackOfficeOptions) {
    this.money = new Money(opts.currency);
    this.feed = new SalesFeed((id) => opts.ledger.seqOf(id));
    this.summaries = new SaleSummaries((id) => opts.ledger.slotOf(id));
    for (const d of opts.devices) this.device(this.register(d.cashRegister, true), d.username).configured = true;
    opts.events.on('push', ({ device, cashRegisterName, at }) => this.pushed(device, cashRegisterName, at));
  }

  readonly hooks: SaleHooks = {
    beforeStore: (record, previous, at, kind) => this.beforeStore(record, previous, at, kind),
    afterStore: (record, previous) => this.afterStore(record, previous),
  };

  // ---- start-up ----

  /** Every stored sale, once, while the sales store opens. */
  loadSale(record: SaleRecord): void {
    const reg = this.register(record.sale.cashRegisterName);
    reg.version += record.history.length;
    if (record.sale.source?.device) this.device(reg, record.sale.source.device);
    if (record.history.some((c) => c.dayId === undefined)) {
      this.loading!.legacy.push(record.sale.identifier);
      return;
    }
    this.account(record);
  }

  /** After the sales store opened: loads days and movements, settles what a crash may have left half-written. */
  async open(): Promise<void> {
    const loading = this.loading!;
    const presence = await this.opts.store.open({
      onClosedDay: (day) => {
        const problem = closedDayProblem(day);
        if (problem) return this.setAside({ what: 'closed day', id: (day as Partial<ClosedDay> | null)?.dayId, cashRegisterName: day?.cashRegisterName, raw: day, reason: problem });
        const reg = this.register(day.cashRegisterName);
        reg.closed.set(day.dayNo, day);
        reg.version++;
      },
      onMovement: (m) => {
        const problem = movementProblem(m);
        if (problem) return this.setAside({ what: 'cash movement', id: (m as Partial<BalanceMovement> | null)?.id, cashRegisterName: m?.cashRegisterName, raw: m, reason: problem });
        const reg = this.register(m.cashRegisterName);
        const list = loading.movements.get(m.dayId) ?? [];
        list.push(m);
        loading.movements.set(m.dayId, list);
        reg.movementCount++;
        reg.version++;
      },
    });
    this.applyPresence(presence);
    for (const reg of this.registers.values()) await this.settleDays(reg);
    this.loading = null;
    await this.migrateLegacy(loading.legacy);
    this.feed.load(this.opts.ledger.seqEntries());
  }

  private setAside(record: UnloadableRecord): void {
    if (this.opts.setAside) this.opts.setAside(record);
    else this.opts.logger.error({ what: record.what, id: record.id, reason: record.reason }, 'a stored record could not be loaded; skipped');
  }

  private async settleDays(reg: RegisterState): Promise<void> {
    const loading = this.loading!;
    const dayNos = new Set<number>(reg.closed.keys());
    for (const dayId of [...loading.days.keys(), ...loading.movements.keys()]) {
      const parsed = parseDayId(dayId);
      if (parsed && parsed.register === reg.name) dayNos.add(parsed.dayNo);
    }
    const sorted = [...dayNos].sort((a, b) => a - b);
    reg.lastDayNo = Math.max(0, ...sorted);
    for (const dayNo of sorted) {
      const dayId = `${reg.name}:${dayNo}`;
      const found = loading.days.get(dayId);
      const movements = (loading.movements.get(dayId) ?? []).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
      const closed = reg.closed.get(dayNo);
      const openedAt = [found?.openedAt, movements[0]?.at].filter((x): x is string => x !== undefined).sort()[0]
        ?? closed?.openedAt ?? this.opts.now().toISOString();
      const day: DayState = { dayNo, dayId, openedAt, figures: found?.figures ?? new Figures(), movements };
      if (closed) {
        this.checkFrozen(reg, closed, day);
        reg.lastClosed = closed;
      } else if (dayNo === reg.lastDayNo) {
        reg.open = day;
      } else {
        // A later day exists, so this one was closed but its Z report never reached the disk (crash mid-close).
        const recovered = await this.freeze(reg, day, 'recovered at start-up');
        this.opts.logger.warn({ dayId, closedAt: recovered.closedAt }, 'closed a day whose Z report was lost in a crash, from the stored sales');
      }
    }
  }

  private checkFrozen(reg: RegisterState, closed: ClosedDay, day: DayState): void {
    const again = dayReport(this.meta(reg, day, closed.closedAt), day.figures, day.movements, this.carryBefore(reg, day.dayNo), this.money);
    const key = (r: DayReport) => JSON.stringify([r.saleCount, r.refundCount, r.cancelCount, r.gross, r.vat, r.payments, r.balance.expectedCash, r.grandTotal]);
    if (key(again) !== key(closed.report)) {
      this.opts.logger.warn({ dayId: closed.dayId }, 'the stored sales no longer add up to this Z report; the Z report stays as it was closed');
    }
  }

  /** Sales stored before days existed: their changes join the open day (once; written back). */
  private async migrateLegacy(identifiers: string[]): Promise<void> {
    if (identifiers.length === 0) return;
    for (const id of identifiers) {
      const record = await this.opts.ledger.getSale(id);
      if (!record) continue;
      const reg = this.register(record.sale.cashRegisterName);
      const undated = record.history.filter((c) => c.dayId === undefined);
      const day = this.openDay(reg, new Date(undated[0].at));
      for (const change of undated) change.dayId = day.dayId;
      record.sale.dayId ??= record.history[0].dayId;
      record.lineFacts ??= this.freezeFacts(record.sale, {});
      await this.opts.salesStore.putSale(record, record.history[record.history.length - 1].at);
      this.account(record);
    }
    await this.opts.uow.durable();
    this.opts.logger.info({ sales: identifiers.length }, 'assigned sales stored before register days existed to the open days');
  }

  // ---- hooks ----

  private beforeStore(record: SaleRecord, previous: SaleRecord | undefined, at: Date, kind: ChangeKind): void {
    const reg = this.register(record.sale.cashRegisterName);
    if (kind === 'api' && previous) {
      if (previous.sale.receiptPrintedAt) {
        throw new AppError('receipt_is_printed_already', `the receipt of sale ${previous.sale.identifier} is printed (${previous.sale.receiptPrintedAt}); the sale can no longer be changed`);
      }
      if (previous.sale.dayId && this.isClosed(previous.sale.dayId)) {
        throw new AppError('day_is_closed', `sale ${previous.sale.identifier} belongs to day ${previous.sale.dayId}, which is closed; the sale can no longer be changed through the API`);
      }
    }
    const change = record.history[record.history.length - 1];
    // A receipt print changes no figure, so it opens no day.
    change.dayId = kind === 'receipt' ? reg.open?.dayId ?? previous?.sale.dayId ?? this.openDay(reg, at).dayId : this.openDay(reg, at).dayId;
    record.sale.dayId = previous?.sale.dayId ?? change.dayId;
    record.lineFacts = this.freezeFacts(record.sale, previous?.lineFacts ?? {});
    if (previous && footprintKey(footprintOf(previous.sale)) !== footprintKey(footprintOf(record.sale))) {
      change.prior = footprintOf(previous.sale);
    }
  }

  private afterStore(record: SaleRecord, previous: SaleRecord | undefined): void {
    const reg = this.register(record.sale.cashRegisterName);
    const change = record.history[record.history.length - 1];
    const before: SaleState | null = previous ? { status: previous.sale.status, footprint: footprintOf(previous.sale) } : null;
    const facts = changeFacts(before, { status: record.sale.status, footprint: footprintOf(record.sale) }, record.lineFacts ?? {}, (l) => this.factsNow(l));
    this.accountChange(reg, change, facts);
    this.summarise(record);
    if (!previous) this.stats.addSale(change.at, reg.name, record.sale.identifier);
    this.feed.record(change.seq, record.sale.identifier, previous !== undefined);
    reg.version++;
    if (record.sale.source?.device) this.device(reg, record.sale.source.device);
  }

  /** Replays a stored sale's changes, newest first, from its current state back (SaleChange.prior). */
  private account(record: SaleRecord): void {
    const reg = this.register(record.sale.cashRegisterName);
    const facts = record.lineFacts ?? {};
    let after = footprintOf(record.sale);
    for (let i = record.history.length - 1; i >= 0; i--) {
      const change = record.history[i];
      const beforeFootprint = change.prior ?? after;
      const before = i === 0 ? null : { status: record.history[i - 1].status, footprint: beforeFootprint };
      this.accountChange(reg, change, changeFacts(before, { status: change.status, footprint: after }, facts, (l) => this.factsNow(l)));
      after = beforeFootprint;
    }
    this.summarise(record);
    this.stats.addSale(record.history[0].at, reg.name, record.sale.identifier);
  }

  private accountChange(reg: RegisterState, change: SaleChange, facts: ChangeFacts): void {
    this.stats.apply(change.at, reg.name, facts);
    const dayId = change.dayId!;
    if (this.loading) {
      const parsed = parseDayId(dayId);
      if (parsed) reg.lastDayNo = Math.max(reg.lastDayNo, parsed.dayNo);
      let day = this.loading.days.get(dayId);
      if (!day) this.loading.days.set(dayId, (day = { figures: new Figures(), openedAt: change.at }));
      if (change.at < day.openedAt) day.openedAt = change.at;
      day.figures.apply(facts);
    } else if (reg.open?.dayId === dayId) {
      reg.open.figures.apply(facts);
    }
  }

  private summarise(record: SaleRecord): void {
    const { sale, history } = record;
    this.summaries.set(sale.identifier, {
      total: sale.total, vat: sale.vat, lines: sale.lines.length, firstSeq: history[0].seq, receivedAt: history[0].at, dayId: sale.dayId ?? null,
    });
  }

  // ---- line facts (VAT rate and category, frozen at first receipt) ----

  private freezeFacts(sale: Sale, known: Record<string, LineFacts>): Record<string, LineFacts> {
    const facts = { ...known };
    for (const line of sale.lines) facts[lineKey(line)] ??= this.factsNow(line);
    return facts;
  }

  private factsNow(line: FootprintLine | Sale['lines'][number]): LineFacts {
    const a = this.articlesView();
    return { vatRate: vatRateOf(line, a.rates.get(line.product), a.configured), category: a.categories.get(line.product) ?? '/' };
  }

  private articlesView() {
    const { catalog } = this.opts;
    if (this.articles?.version === catalog.version) return this.articles;
    const taxes = new Map(catalog.all<Tax>('taxes').map((t) => [t.identifier, t.vat]));
    const categories = new Map(catalog.all<Category>('categories').map((c) => [c.identifier, c]));
    const firstCategory = new Map<string, string>();
    for (const c of catalog.all<Commodity>('commodities').sort((a, b) => compareIds(a.identifier, b.identifier))) {
      if (!firstCategory.has(c.product)) firstCategory.set(c.product, categoryPath(c.category, categories));
    }
    const rates = new Map<string, number>();
    for (const p of catalog.all<Product>('products')) {
      const vat = p.tax == null ? undefined : taxes.get(p.tax);
      if (vat !== undefined) rates.set(p.identifier, vat);
    }
    this.articles = { version: catalog.version, rates, configured: [...new Set(taxes.values())], categories: firstCategory };
    return this.articles;
  }

  // ---- days ----

  private openDay(reg: RegisterState, at: Date): DayState {
    if (reg.open) return reg.open;
    const dayNo = ++reg.lastDayNo;
    reg.open = { dayNo, dayId: `${reg.name}:${dayNo}`, openedAt: at.toISOString(), figures: new Figures(), movements: [] };
    return reg.open;
  }

  private isClosed(dayId: string): boolean {
    const parsed = parseDayId(dayId);
    return parsed !== null && (this.registers.get(parsed.register)?.closed.has(parsed.dayNo) ?? false);
  }

  /**
   * Closes the register's open day and returns its Z report. With `dayId`, closing is idempotent:
   * a day already closed answers its Z report again (alreadyClosed), so a retried close never
   * closes the next day by accident. Without one, no open day is 422 day_is_not_open.
   */
  closeDay(register: string, by: string, dayId?: string): Promise<{ report: DayReport; alreadyClosed: boolean }> {
    return this.opts.ledger.exclusive(async () => {
      const reg = this.knownRegister(register);
      if (dayId !== undefined) {
        const parsed = parseDayId(dayId);
        if (!parsed || parsed.register !== register) throw new AppError('bad_request', `dayId ${dayId} is not a day of register ${register}`);
        const closed = reg.closed.get(parsed.dayNo);
        if (closed) return { report: closed.report, alreadyClosed: true };
        if (reg.open?.dayNo !== parsed.dayNo) throw new AppError('day_is_not_open', `day ${dayId} is not open (the register's open day is ${reg.open?.dayId ?? 'none'})`);
      }
      const day = reg.open;
      if (!day) {
        throw new AppError('day_is_not_open', `register ${register} has no open day (a day opens with its first sale or balance change); last closed: ${reg.lastClosed?.dayId ?? 'none'}`);
      }
      // Every change already accounted in the day must be on disk before its Z report is.
      await this.opts.uow.durable();
      const closed = await this.freeze(reg, day, by);
      this.savePresence();
      return { report: closed.report, alreadyClosed: false };
    });
  }

  private async freeze(reg: RegisterState, day: DayState, by: string): Promise<ClosedDay> {
    const closedAt = this.opts.now().toISOString();
    const report = dayReport(this.meta(reg, day, closedAt), day.figures, day.movements, this.carryBefore(reg, day.dayNo), this.money);
    const closed: ClosedDay = { dayId: day.dayId, cashRegisterName: reg.name, dayNo: day.dayNo, openedAt: day.openedAt, closedAt, closedBy: by, report };
    await this.opts.store.putClosedDay(closed);
    reg.closed.set(day.dayNo, closed);
    if (!reg.lastClosed || reg.lastClosed.dayNo < day.dayNo) reg.lastClosed = closed;
    if (reg.open?.dayNo === day.dayNo) reg.open = null;
    reg.version++;
    return closed;
  }

  private meta(reg: RegisterState, day: DayState, closedAt: string | null) {
    return { dayId: day.dayId, cashRegisterName: reg.name, dayNo: day.dayNo, openedAt: day.openedAt, closedAt };
  }

  private carryBefore(reg: RegisterState, dayNo: number): Carry {
    let best: ClosedDay | null = null;
    if (reg.lastClosed && reg.lastClosed.dayNo < dayNo) best = reg.lastClosed;
    else for (const d of reg.closed.values()) if (d.dayNo < dayNo && (!best || d.dayNo > best.dayNo)) best = d;
    return best ? { cash: best.report.balance.expectedCash, grandTotal: best.report.grandTotal } : { cash: 0, grandTotal: 0 };
  }

  /** X report of an open day (live), Z report of a closed one (as frozen). */
  report(dayId: string): DayReport {
    const { reg, dayNo } = this.dayRef(dayId);
    const closed = reg.closed.get(dayNo);
    if (closed) return closed.report;
    if (reg.open?.dayNo === dayNo) return this.xReport(reg, reg.open);
    throw notFound(`day ${dayId}`);
  }

  currentDayId(register: string): string | null {
    return this.knownRegister(register).open?.dayId ?? null;
  }

  private xReport(reg: RegisterState, day: DayState): DayReport {
    return dayReport(this.meta(reg, day, null), day.figures, day.movements, this.carryBefore(reg, day.dayNo), this.money);
  }

  day(dayId: string): DaySummary {
    const { reg, dayNo } = this.dayRef(dayId);
    const closed = reg.closed.get(dayNo);
    if (closed) return daySummary(closed.report, 'closed');
    if (reg.open?.dayNo === dayNo) return daySummary(this.xReport(reg, reg.open), 'open');
    throw notFound(`day ${dayId}`);
  }

  /** Days that overlap [from, to), oldest first. */
  days(filter: { register?: string; from?: string; to?: string }): DaySummary[] {
    const out: DaySummary[] = [];
    const regs = filter.register !== undefined ? [this.knownRegister(filter.register)] : [...this.registers.values()];
    for (const reg of regs) {
      for (const d of reg.closed.values()) out.push(daySummary(d.report, 'closed'));
      if (reg.open) out.push(daySummary(this.xReport(reg, reg.open), 'open'));
    }
    return out
      .filter((d) => (filter.to === undefined || d.openedAt < filter.to) && (filter.from === undefined || d.closedAt === null || d.closedAt >= filter.from))
      .sort((a, b) => (a.openedAt < b.openedAt ? -1 : a.openedAt > b.openedAt ? 1 : a.dayId < b.dayId ? -1 : 1));
  }

  private dayRef(dayId: string): { reg: RegisterState; dayNo: number } {
    const parsed = parseDayId(dayId);
    const reg = parsed ? this.registers.get(parsed.register) : undefined;
    if (!parsed || !reg) throw notFound(`day ${dayId}`);
    return { reg, dayNo: parsed.dayNo };
  }

  // ---- cash balance ----

  moveCash(register: string, action: BalanceMovement['action'], amount: number, note: string, by: string): Promise<{ movement: BalanceMovement; balance: BalanceView }> {
    return this.opts.ledger.exclusive(async () => {
      const reg = this.knownRegister(register);
      const now = this.opts.now();
      const day = this.openDay(reg, now);
      const movement: BalanceMovement = {
        id: `${reg.name}:${reg.movementCount + 1}`, cashRegisterName: reg.name, dayId: day.dayId,
        action, amount: toDecimal(amount).toNumber(), note, at: now.toISOString(), by,
      };
      await this.opts.store.putMovement(movement);
      reg.movementCount++;
      day.movements.push(movement);
      reg.version++;
      this.savePresence();
      return { movement, balance: this.balance(register) };
    });
  }

  balance(register: string): BalanceView {
    const reg = this.knownRegister(register);
    const day = reg.open;
    const carry = this.carryBefore(reg, day?.dayNo ?? reg.lastDayNo + 1);
    const balance = cashBalance(carry.cash, day?.movements ?? [], day?.figures ?? new Figures(), this.money);
    return { cashRegisterName: reg.name, dayId: day?.dayId ?? null, ...balance };
  }

  // ---- registrations ----

  registrations(): Registration[] {
    return [...this.registers.values()].sort((a, b) => compareIds(a.name, b.name)).map((r) => this.registration(r));
  }

  registrationOf(register: string): Registration {
    return this.registration(this.knownRegister(register));
  }

  versionOf(register: string): number {
    return this.knownRegister(register).version;
  }

  summary(identifier: string): SaleSummary | undefined {
    return this.summaries.get(identifier);
  }

  /** summary(identifier)?.dayId without building the summary. */
  dayIdOf(identifier: string): string | null | undefined {
    return this.summaries.dayIdOf(identifier);
  }

  /** summary(identifier)?.firstSeq without building the summary. */
  firstSeqOf(identifier: string): number | undefined {
    return this.summaries.firstSeqOf(identifier);
  }

  lineFactsOf(record: SaleRecord): (line: FootprintLine) => LineFacts {
    return (line) => record.lineFacts?.[lineKey(line)] ?? this.factsNow(line);
  }

  /** A device made an authenticated request (kept in memory; written with the next back-office write). */
  seen(account: Account, at: Date): void {
    if (account.role !== 'device' || !account.cashRegister) return;
    const iso = at.toISOString();
    const reg = this.register(account.cashRegister);
    reg.lastSeenAt = maxIso(reg.lastSeenAt, iso);
    const dev = this.device(reg, account.username);
    dev.lastSeenAt = maxIso(dev.lastSeenAt, iso);
  }

  /** Writes presence now (at shutdown; pushes, balance changes and closes write it anyway). */
  savePresence(): void {
    this.opts.store.savePresence(this.presenceDoc());
  }

  private presenceDoc(): PresenceDoc {
    const registers: PresenceDoc['registers'] = {};
    for (const reg of this.registers.values()) {
      registers[reg.name] = {
        lastSeenAt: reg.lastSeenAt, lastPushAt: reg.lastPushAt,
        devices: Object.fromEntries([...reg.devices].map(([name, d]) => [name, { lastSeenAt: d.lastSeenAt, lastPushAt: d.lastPushAt }])),
      };
    }
    this.presence = { registers };
    return this.presence;
  }

  private pushed(device: string, register: string, at: Date): void {
    const iso = at.toISOString();
    const reg = this.register(register);
    reg.lastPushAt = maxIso(reg.lastPushAt, iso);
    reg.lastSeenAt = maxIso(reg.lastSeenAt, iso);
    const dev = this.device(reg, device);
    dev.lastPushAt = maxIso(dev.lastPushAt, iso);
    dev.lastSeenAt = maxIso(dev.lastSeenAt, iso);
    // Not with the push's commit round: presence is written a little later (and at shutdown).
    if (!this.loading) this.opts.store.savePresenceLater(() => this.presenceDoc());
  }

  private applyPresence(doc: PresenceDoc): void {
    this.presence = doc;
    for (const [name, p] of Object.entries(doc.registers)) {
      const reg = this.registers.get(name);
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

  private registration(r: RegisterState): Registration {
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

  knownRegister(name: string): RegisterState {
    const reg = this.registers.get(name);
    if (!reg) throw notFound(`cash register ${name}`);
    return reg;
  }

  registerNames(): string[] {
    return [...this.registers.keys()];
  }

  private register(name: string, configured = false): RegisterState {
    let reg = this.registers.get(name);
    if (!reg) {
      reg = {
        name, configured, version: 0, lastDayNo: 0, open: null, closed: new Map(), lastClosed: null, movementCount: 0,
        lastSeenAt: null, lastPushAt: null, devices: new Map(),
      };
      this.registers.set(name, reg);
    }
    if (configured) reg.configured = true;
    return reg;
  }

  private device(reg: RegisterState, username: string): DeviceState {
    let dev = reg.devices.get(username);
    if (!dev) reg.devices.set(username, (dev = { configured: false, lastSeenAt: null, lastPushAt: null }));
    return dev;
  }
}

function daySummary(r: DayReport, status: DaySummary['status']): DaySummary {
  return {
    dayId: r.dayId, cashRegisterName: r.cashRegisterName, dayNo: r.dayNo, status, openedAt: r.openedAt, closedAt: r.closedAt,
    saleCount: r.saleCount, refundCount: r.refundCount, cancelCount: r.cancelCount, gross: r.gross,
  };
}
