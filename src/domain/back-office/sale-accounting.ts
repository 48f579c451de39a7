import { AppError } from '../../errors.js';
import type { SaleChange, SaleRecord } from '../ports/records.js';
import type { ChangeKind, SaleHooks } from '../ledger.js';
import { changeFacts, footprintKey, footprintOf, type ChangeFacts, type Figures, type SaleState } from '../reports.js';
import type { StatsStore } from '../stats.js';
import type { ShopTimeZone } from '../time-zone.js';
import type { Days } from './days.js';
import type { LineFactsBook } from './line-facts.js';
import type { RegisterState, Registers } from './registers.js';

export interface SaleAccountingOptions {
  registers: Registers;
  days: Days;
  facts: LineFactsBook;
  stats: StatsStore;
  /** The shop's calendar: the date a change counts in for stats is its local date when received. */
  timeZone: ShopTimeZone;
  /** The figures of day `dayId` that a change received at `at` moves; null when that day keeps none. */
  dayFigures: (reg: RegisterState, dayId: string, at: string) => Figures | null;
  /** The register and the figures of day `dayId` moved (a store that keeps rows writes them with the change). */
  changed: (reg: RegisterState, dayId: string) => void;
}

/**
 * Every sale change, through the ledger's hooks: dates it into the register's open day, freezes its
 * line facts, and moves the day's figures and the stats in the same serialised step as the sale. At start-up, replays each stored sale the same way.
 */
export class SaleAccounting {
  constructor(private readonly opts: SaleAccountingOptions) {}

  readonly hooks: SaleHooks = {
    beforeStore: (record, previous, at, kind) => this.beforeStore(record, previous, at, kind),
    afterStore: (record, previous) => this.afterStore(record, previous),
  };

  private beforeStore(record: SaleRecord, previous: SaleRecord | undefined, at: Date, kind: ChangeKind): void {
    const { registers, days, facts } = this.opts;
    const reg = registers.register(record.sale.cashRegisterName);
    if (kind === 'api' && previous) {
      if (previous.sale.receiptPrintedAt) {
        throw new AppError(
          'receipt_is_printed_already',
          `the receipt of sale ${previous.sale.identifier} is printed (${previous.sale.receiptPrintedAt}); the sale can no longer be changed`,
        );
      }
      if (previous.sale.dayId && days.isClosed(previous.sale.dayId)) {
        throw new AppError(
          'day_is_closed',
          `sale ${previous.sale.identifier} belongs to day ${previous.sale.dayId}, which is closed; the sale can no longer be changed through the API`,
        );
      }
    }
    const change = record.history[record.history.length - 1];
    // A receipt print changes no figure, so it opens no day.
    change.dayId = kind === 'receipt' ? (reg.open?.dayId ?? previous?.sale.dayId ?? days.openDay(reg, at).dayId) : days.openDay(reg, at).dayId;
    record.sale.dayId = previous?.sale.dayId ?? change.dayId;
    const date = this.opts.timeZone.dateOf(change.at);
    if (date !== change.at.slice(0, 10)) change.statsDate = date;
    record.lineFacts = facts.freeze(record.sale, previous?.lineFacts ?? {});
    if (previous && footprintKey(footprintOf(previous.sale)) !== footprintKey(footprintOf(record.sale))) {
      change.prior = footprintOf(previous.sale);
    }
  }

  private afterStore(record: SaleRecord, previous: SaleRecord | undefined): void {
    const { registers, facts, stats } = this.opts;
    const reg = registers.register(record.sale.cashRegisterName);
    const change = record.history[record.history.length - 1];
    const before: SaleState | null = previous ? { status: previous.sale.status, footprint: footprintOf(previous.sale) } : null;
    const changed = changeFacts(before, { status: record.sale.status, footprint: footprintOf(record.sale) }, record.lineFacts ?? {}, (l) => facts.now(l));
    this.accountChange(reg, change, changed);
    if (!previous) stats.addSale(statsDateOf(change), reg.name, record.sale.identifier);
    reg.version++;
    reg.saleChanges++;
    if (record.sale.source?.device) registers.soldBy(reg, record.sale.source.device);
    this.opts.changed(reg, change.dayId!);
  }

  /** Replays a stored sale's changes, newest first, from its current state back (SaleChange.prior). */
  account(record: SaleRecord): void {
    const reg = this.opts.registers.register(record.sale.cashRegisterName);
    const facts = record.lineFacts ?? {};
    let after = footprintOf(record.sale);
    for (let i = record.history.length - 1; i >= 0; i--) {
      const change = record.history[i];
      const beforeFootprint = change.prior ?? after;
      const before = i === 0 ? null : { status: record.history[i - 1].status, footprint: beforeFootprint };
      this.accountChange(
        reg,
        change,
        changeFacts(before, { status: change.status, footprint: after }, facts, (l) => this.opts.facts.now(l)),
      );
      after = beforeFootprint;
      this.opts.changed(reg, change.dayId!);
    }
    this.opts.stats.addSale(statsDateOf(record.history[0]), reg.name, record.sale.identifier);
  }

  private accountChange(reg: RegisterState, change: SaleChange, facts: ChangeFacts): void {
    this.opts.stats.apply(statsDateOf(change), reg.name, facts);
    this.opts.dayFigures(reg, change.dayId!, change.at)?.apply(facts);
  }
}

/** The date a change counts in for stats: as dated when received (changes stored before time zones: their UTC date). */
export const statsDateOf = (change: SaleChange): string => change.statsDate ?? change.at.slice(0, 10);
