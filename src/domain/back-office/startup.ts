import type { Logger } from 'pino';
import type { BackOfficeStore, ClosedDay } from '../ports/back-office-store.js';
import type { Store } from '../ports/store.js';
import type { SaleRecord } from '../ports/records.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';
import type { SalesLedger } from '../ledger.js';
import { closedDayProblem, movementProblem, saleRecordProblem, type UnloadableRecord } from '../record-check.js';
import { figuresFromJson } from '../figures-json.js';
import { Figures, type BalanceMovement, type DayReport } from '../reports.js';
import { dayFiguresRow, type Days } from './days.js';
import type { LineFactsBook } from './line-facts.js';
import type { Presence } from './presence.js';
import { parseDayId, registerRow, type DayState, type RegisterState, type Registers } from './registers.js';
import type { SaleAccounting } from './sale-accounting.js';

export interface StartupOptions {
  registers: Registers;
  days: Days;
  presence: Presence;
  accounting: SaleAccounting;
  facts: LineFactsBook;
  ledger: SalesLedger;
  salesStore: Store;
  uow: UnitOfWork;
  store: BackOfficeStore;
  now: () => Date;
  logger: Logger;
  setAside?: (record: UnloadableRecord) => void;
}

/**
 * The back office's start-up: the figures of every day found in the stored sales (or, on a store
 * that keeps rows, the stored rows of the days not closed), the stored days and movements, and what
 * a crash may have left half-written. Used once, then dropped.
 */
export class Startup {
  private readonly days = new Map<string, { figures: Figures; openedAt: string }>();
  private readonly movements = new Map<string, BalanceMovement[]>();
  private readonly legacy: string[] = [];
  /** The store keeps rows but had none: every sale was visited, every row is written now. */
  private backfilling = false;

  constructor(private readonly opts: StartupOptions) {}

  /** Every stored sale, once, while the sales store opens. */
  loadSale(record: SaleRecord): void {
    const { registers } = this.opts;
    const reg = registers.register(record.sale.cashRegisterName);
    reg.version += record.history.length;
    reg.saleChanges += record.history.length;
    if (record.sale.source?.device) registers.soldBy(reg, record.sale.source.device);
    if (record.history.some((c) => c.dayId === undefined)) {
      this.legacy.push(record.sale.identifier);
      return;
    }
    this.opts.accounting.account(record);
  }

  /** While loading, a stored change's day is collected here, whatever register state says. */
  dayFigures(reg: RegisterState, dayId: string, at: string): Figures {
    const parsed = parseDayId(dayId);
    if (parsed) reg.lastDayNo = Math.max(reg.lastDayNo, parsed.dayNo);
    let day = this.days.get(dayId);
    if (!day) this.days.set(dayId, (day = { figures: new Figures(), openedAt: at }));
    if (at < day.openedAt) day.openedAt = at;
    return day.figures;
  }

  /** After the sales store opened: loads days, movements and presence, settles every register's days. */
  async openDays(): Promise<void> {
    const { registers, store } = this.opts;
    const presence = await store.open({
      onRegister: (row) => {
        const reg = registers.register(row.cashRegisterName);
        reg.version += row.saleChanges;
        reg.saleChanges += row.saleChanges;
        for (const device of row.devices) registers.soldBy(reg, device);
      },
      onDayFigures: (row) => {
        registers.register(row.cashRegisterName);
        this.days.set(row.dayId, { figures: figuresFromJson(row.figures), openedAt: row.openedAt });
      },
      onBackfill: () => {
        this.backfilling = true;
      },
      onSale: (record) => {
        // What the sales store's own visit sets aside (into the quarantine) counts nowhere.
        if (saleRecordProblem(record)) return;
        try {
          this.loadSale(record);
        } catch (err) {
          this.opts.logger.error({ sale: record.sale.identifier, err }, 'a stored sale could not be counted in the back office rows; skipped');
        }
      },
      onClosedDay: (day) => {
        const problem = closedDayProblem(day);
        if (problem)
          return this.setAside({
            what: 'closed day',
            id: (day as Partial<ClosedDay> | null)?.dayId,
            cashRegisterName: day?.cashRegisterName,
            raw: day,
            reason: problem,
          });
        const reg = registers.register(day.cashRegisterName);
        reg.closed.set(day.dayNo, day);
        reg.version++;
      },
      onMovement: (m) => {
        const problem = movementProblem(m);
        if (problem)
          return this.setAside({
            what: 'cash movement',
            id: (m as Partial<BalanceMovement> | null)?.id,
            cashRegisterName: m?.cashRegisterName,
            raw: m,
            reason: problem,
          });
        const reg = registers.register(m.cashRegisterName);
        const list = this.movements.get(m.dayId) ?? [];
        list.push(m);
        this.movements.set(m.dayId, list);
        reg.movementCount++;
        reg.version++;
      },
    });
    this.opts.presence.apply(presence);
    for (const reg of registers.all()) await this.settleDays(reg);
    if (this.backfilling) {
      for (const reg of registers.all()) store.putRegister(reg.name, () => registerRow(reg));
      store.backfilled();
      await this.opts.uow.durable();
      this.opts.logger.info(
        { registers: registers.names().length, days: this.days.size },
        'wrote the back office rows (register state, day figures, stats) from the stored sales, once',
      );
    }
  }

  /** Sales stored before days existed: their changes join the open day (once; written back). Called once loading is over. */
  async migrateLegacy(): Promise<void> {
    const identifiers = this.legacy;
    if (identifiers.length === 0) return;
    const { registers, days, facts, salesStore } = this.opts;
    for (const id of identifiers) {
      const record = await this.opts.ledger.getSale(id);
      if (!record) continue;
      const reg = registers.register(record.sale.cashRegisterName);
      const undated = record.history.filter((c) => c.dayId === undefined);
      const day = days.openDay(reg, new Date(undated[0].at));
      for (const change of undated) change.dayId = day.dayId;
      record.sale.dayId ??= record.history[0].dayId;
      record.lineFacts ??= facts.freeze(record.sale, {});
      await salesStore.putSale(record, record.history[record.history.length - 1].at);
      this.opts.ledger.rewritten(record);
      this.opts.accounting.account(record);
    }
    await this.opts.uow.durable();
    this.opts.logger.info({ sales: identifiers.length }, 'assigned sales stored before register days existed to the open days');
  }

  private setAside(record: UnloadableRecord): void {
    if (this.opts.setAside) this.opts.setAside(record);
    else this.opts.logger.error({ what: record.what, id: record.id, reason: record.reason }, 'a stored record could not be loaded; skipped');
  }

  private async settleDays(reg: RegisterState): Promise<void> {
    const dayNos = new Set<number>(reg.closed.keys());
    for (const dayId of [...this.days.keys(), ...this.movements.keys()]) {
      const parsed = parseDayId(dayId);
      if (parsed && parsed.register === reg.name) dayNos.add(parsed.dayNo);
    }
    const sorted = [...dayNos].sort((a, b) => a - b);
    reg.lastDayNo = Math.max(0, ...sorted);
    for (const dayNo of sorted) {
      const dayId = `${reg.name}:${dayNo}`;
      const found = this.days.get(dayId);
      const movements = (this.movements.get(dayId) ?? []).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
      const closed = reg.closed.get(dayNo);
      const openedAt =
        [found?.openedAt, movements[0]?.at].filter((x): x is string => x !== undefined).sort()[0] ?? closed?.openedAt ?? this.opts.now().toISOString();
      const day: DayState = { dayNo, dayId, openedAt, figures: found?.figures ?? new Figures(), movements };
      if (this.backfilling) this.opts.store.putDayFigures(dayId, () => dayFiguresRow(reg, day));
      if (closed) {
        // A store that keeps rows loads no closed day's figures: it wrote them with the Z report, in one transaction.
        if (found || !this.opts.store.keepsRows) this.checkFrozen(reg, closed, day);
        reg.lastClosed = closed;
      } else if (dayNo === reg.lastDayNo) {
        reg.open = day;
      } else {
        // A later day exists, so this one was closed but its Z report never reached the disk (crash mid-close).
        const recovered = await this.opts.days.freeze(reg, day, 'recovered at start-up');
        this.opts.logger.warn({ dayId, closedAt: recovered.closedAt }, 'closed a day whose Z report was lost in a crash, from the stored sales');
      }
    }
  }

  private checkFrozen(reg: RegisterState, closed: ClosedDay, day: DayState): void {
    const again = this.opts.days.reportOf(reg, day, closed.closedAt);
    const key = (r: DayReport) => JSON.stringify([r.saleCount, r.refundCount, r.cancelCount, r.gross, r.vat, r.payments, r.balance.expectedCash, r.grandTotal]);
    if (key(again) !== key(closed.report)) {
      this.opts.logger.warn({ dayId: closed.dayId }, 'the stored sales no longer add up to this Z report; the Z report stays as it was closed');
    }
  }
}
