import { isoOfMs } from './iso-time.js';

import type { SaleSummary } from './ports/sales-view.js';

export type { SaleSummary } from './ports/sales-view.js';

/**
 * The summary of every sale the back office lists (total, VAT, line count, first seq, when and in
 * which day it was first received), in columns addressed by the slot of the sale index that owns
 * them, instead of an object, two heap numbers and two strings per sale: ~40 bytes a sale instead of ~200.
 * receivedAt is kept as epoch ms when it is a canonical ISO time with a 4-digit year (as the gateway writes it),
 * else as given; day ids are shared (a few per register).
 */
export class SaleSummaries {
  private capacity = 0;
  private totals = new Float64Array(0);
  private vats = new Float64Array(0);
  private firstSeqs = new Float64Array(0);
  private receivedMs = new Float64Array(0);
  /** Line count + 1; 0: no summary in this slot. */
  private lines = new Uint32Array(0);
  /** Day id number + 1; 0: no day. */
  private days = new Uint32Array(0);
  private readonly dayIds: string[] = [];
  private readonly dayNumbers = new Map<string, number>();
  private readonly oddTimes = new Map<number, string>();

  set(slot: number, s: SaleSummary): void {
    this.grow(slot + 1);
    this.totals[slot] = s.total;
    this.vats[slot] = s.vat;
    this.firstSeqs[slot] = s.firstSeq;
    this.lines[slot] = s.lines + 1;
    const ms = /^\d{4}-/.test(s.receivedAt) ? Date.parse(s.receivedAt) : NaN;
    if (Number.isFinite(ms) && new Date(ms).toISOString() === s.receivedAt) {
      this.receivedMs[slot] = ms;
      this.oddTimes.delete(slot);
    } else {
      this.receivedMs[slot] = 0;
      this.oddTimes.set(slot, s.receivedAt);
    }
    this.days[slot] = s.dayId === null ? 0 : this.dayNumber(s.dayId) + 1;
  }

  get(slot: number): SaleSummary | undefined {
    if (!this.has(slot)) return undefined;
    const day = this.days[slot];
    return {
      total: this.totals[slot],
      vat: this.vats[slot],
      lines: this.lines[slot] - 1,
      firstSeq: this.firstSeqs[slot],
      receivedAt: this.oddTimes.get(slot) ?? isoOfMs(this.receivedMs[slot]),
      dayId: day === 0 ? null : this.dayIds[day - 1],
    };
  }

  /** get(slot)?.dayId without building the summary. */
  dayIdOf(slot: number): string | null | undefined {
    if (!this.has(slot)) return undefined;
    const day = this.days[slot];
    return day === 0 ? null : this.dayIds[day - 1];
  }

  firstSeqOf(slot: number): number | undefined {
    return this.has(slot) ? this.firstSeqs[slot] : undefined;
  }

  private has(slot: number): boolean {
    return slot < this.capacity && this.lines[slot] !== 0;
  }

  private dayNumber(dayId: string): number {
    let n = this.dayNumbers.get(dayId);
    if (n === undefined) {
      n = this.dayIds.length;
      this.dayIds.push(dayId);
      this.dayNumbers.set(dayId, n);
    }
    return n;
  }

  private grow(needed: number): void {
    if (needed <= this.capacity) return;
    const capacity = Math.max(needed, 64, this.capacity * 2);
    const f64 = (old: Float64Array) => {
      const a = new Float64Array(capacity);
      a.set(old);
      return a;
    };
    const u32 = (old: Uint32Array) => {
      const a = new Uint32Array(capacity);
      a.set(old);
      return a;
    };
    this.totals = f64(this.totals);
    this.vats = f64(this.vats);
    this.firstSeqs = f64(this.firstSeqs);
    this.receivedMs = f64(this.receivedMs);
    this.lines = u32(this.lines);
    this.days = u32(this.days);
    this.capacity = capacity;
  }
}
