import { createHash } from 'node:crypto';
import { isoOfMs } from './iso-time.js';
import type { SaleIndexEntry as ViewEntry, SaleQuery } from './ports/sales-view.js';
import { SaleSummaries, type SaleSummary } from './sale-summaries.js';
import type { SaleStatus } from './types.js';

export type { SaleQuery } from './ports/sales-view.js';

/** What the ledger knows about a stored sale without reading its chunk. */
export interface SaleIndexEntry extends ViewEntry {
  /** The first 128 bits of the record's identity key, as a 16-character latin1 string. */
  identity: string;
  /** The first 128 bits of the record's content key, likewise. */
  content: string;
}

export interface IndexedSale {
  identifier: string;
  cashRegisterName: string;
  createdAt: string;
  status: SaleStatus;
  /** Hex SHA-256 keys, as stored in the record. */
  identity: string;
  content: string;
  seq: number;
  /** The sequence number of the sale's first change (its place in the order received). */
  firstSeq?: number;
  /** What the back office lists of the sale; kept as given (the previous one stays when absent). */
  summary?: SaleSummary;
}

const STATUSES: readonly SaleStatus[] = ['completed', 'refunded', 'cancelled'];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Epoch ms of a time written as toISOString() writes it (4-digit years), else NaN. Such strings
 * sort as their times do, so comparing the ms gives what comparing the strings gives.
 */
function canonicalMs(iso: string): number {
  if (!ISO.test(iso)) return NaN;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) && new Date(ms).toISOString() === iso ? ms : NaN;
}
const KEY_BYTES = 16;
/** Slots before the first growth (doubling): small, as one deployment may hold many small shops open. */
const INITIAL_SLOTS = 64;

/**
 * Every stored sale, in memory, in columns: a slot per sale in typed arrays (status, register,
 * sequence, createdAt as epoch ms, the two keys as 128-bit digests) and only the identifier as a
 * string (a createdAt that is not a canonical ISO time is kept as given, aside). About 130 bytes
 * a sale instead of ~450 for an object per sale, and almost nothing for the garbage collector to
 * trace or promote while 100,000 sales load. Entries are built on demand.
 */
export class SaleIndex {
  private readonly slots = new Map<string, number>();
  private ids: string[] = [];
  private createdMs = new Float64Array(INITIAL_SLOTS);
  /** createdAt values that are not canonical ISO times (rare: API clients), by slot. */
  private readonly oddCreatedAts = new Map<number, string>();
  private statuses = new Uint8Array(INITIAL_SLOTS);
  private registers = new Uint16Array(INITIAL_SLOTS);
  private seqs = new Float64Array(INITIAL_SLOTS);
  private firstSeqs = new Float64Array(INITIAL_SLOTS);
  private keys = Buffer.alloc(INITIAL_SLOTS * 2 * KEY_BYTES);
  private readonly registerNames: string[] = [];
  private readonly registerSlots = new Map<string, number>();
  /** Slots in the order the sales were first stored (by sequence after a load). */
  private order: number[] = [];
  private readonly summaries = new SaleSummaries();

  get size(): number {
    return this.slots.size;
  }

  has(identifier: string): boolean {
    return this.slots.has(identifier);
  }

  /** Adds a sale, or updates the one stored under its identifier. */
  set(sale: IndexedSale): void {
    let slot = this.slots.get(sale.identifier);
    if (slot === undefined) {
      slot = this.ids.length;
      this.grow(slot + 1);
      this.slots.set(sale.identifier, slot);
      this.ids.push(sale.identifier);
      this.order.push(slot);
      this.firstSeqs[slot] = sale.firstSeq ?? sale.seq;
    }
    const ms = canonicalMs(sale.createdAt);
    this.createdMs[slot] = ms;
    if (Number.isNaN(ms)) this.oddCreatedAts.set(slot, sale.createdAt);
    else this.oddCreatedAts.delete(slot);
    this.statuses[slot] = STATUSES.indexOf(sale.status);
    this.registers[slot] = this.registerSlot(sale.cashRegisterName);
    this.seqs[slot] = sale.seq;
    keyBytes(sale.identity).copy(this.keys, slot * 2 * KEY_BYTES);
    keyBytes(sale.content).copy(this.keys, slot * 2 * KEY_BYTES + KEY_BYTES);
    if (sale.summary) this.summaries.set(slot, sale.summary);
  }

  summary(identifier: string): SaleSummary | undefined {
    const slot = this.slots.get(identifier);
    return slot === undefined ? undefined : this.summaries.get(slot);
  }

  /** summary(identifier)?.dayId without building the summary. */
  dayIdOf(identifier: string): string | null | undefined {
    const slot = this.slots.get(identifier);
    return slot === undefined ? undefined : this.summaries.dayIdOf(slot);
  }

  /** summary(identifier)?.firstSeq without building the summary. */
  firstSeqOf(identifier: string): number | undefined {
    const slot = this.slots.get(identifier);
    return slot === undefined ? undefined : this.summaries.firstSeqOf(slot);
  }

  /** The sale's current sequence number, without building an entry. */
  seqOf(identifier: string): number | undefined {
    const slot = this.slots.get(identifier);
    return slot === undefined ? undefined : this.seqs[slot];
  }

  /** (seq, identifier) of every sale, in the order first stored. */
  *seqEntries(): Generator<{ seq: number; identifier: string }> {
    for (const slot of this.order) yield { seq: this.seqs[slot], identifier: this.ids[slot] };
  }

  get(identifier: string): SaleIndexEntry | undefined {
    const slot = this.slots.get(identifier);
    return slot === undefined ? undefined : this.entryAt(slot);
  }

  /** Same date and positions (DESIGN §4.1) as the stored sale? */
  sameIdentity(identifier: string, identityKey: string): boolean {
    return this.keyEquals(identifier, identityKey, 0);
  }

  /** Nothing changed at all? */
  sameContent(identifier: string, contentKey: string): boolean {
    return this.keyEquals(identifier, contentKey, KEY_BYTES);
  }

  /** After a load (sales arrive in file order): back to the order received, whatever changed since. */
  sortByFirstStored(): void {
    this.order.sort((a, b) => this.firstSeqs[a] - this.firstSeqs[b]);
  }

  /** Entries in the order first stored, filtered. */
  *entries(filter: (e: SaleIndexEntry) => boolean = () => true): Generator<SaleIndexEntry> {
    for (const slot of this.order) {
      const e = this.entryAt(slot);
      if (filter(e)) yield e;
    }
  }

  /** Like entries(), filtering on the columns before building an entry (no garbage for the sales that do not match). */
  *select(q: SaleQuery, newestFirst = false): Generator<SaleIndexEntry> {
    for (const slot of this.matching(q, newestFirst)) yield this.entryAt(slot);
  }

  /** One page of select() and the number of matches; entries are built for the page only. */
  page(q: SaleQuery, firstResult: number, maxResults: number, newestFirst = false): { items: SaleIndexEntry[]; total: number } {
    const items: SaleIndexEntry[] = [];
    let total = 0;
    for (const slot of this.matching(q, newestFirst)) {
      if (total >= firstResult && items.length < maxResults) items.push(this.entryAt(slot));
      total++;
    }
    return { items, total };
  }

  private *matching(q: SaleQuery, newestFirst = false): Generator<number> {
    const register = q.cashRegisterName === undefined ? -1 : this.registerSlots.get(q.cashRegisterName);
    if (register === undefined) return;
    const status = q.status === undefined ? -1 : STATUSES.indexOf(q.status);
    // Bounds in canonical form compare as ms; others (and odd createdAts) as strings, like before.
    const fromMs = q.from === undefined ? -Infinity : canonicalMs(q.from);
    const toMs = q.to === undefined ? Infinity : canonicalMs(q.to);
    const byString = Number.isNaN(fromMs) || Number.isNaN(toMs);
    const order = this.order;
    for (let i = 0; i < order.length; i++) {
      const slot = order[newestFirst ? order.length - 1 - i : i];
      if (register >= 0 && this.registers[slot] !== register) continue;
      if (status >= 0 && this.statuses[slot] !== status) continue;
      const ms = this.createdMs[slot];
      if (byString || Number.isNaN(ms)) {
        const createdAt = this.createdAtOf(slot);
        if ((q.from !== undefined && createdAt < q.from) || (q.to !== undefined && createdAt >= q.to)) continue;
      } else if (ms < fromMs || ms >= toMs) {
        continue;
      }
      yield slot;
    }
  }

  private entryAt(slot: number): SaleIndexEntry {
    const at = slot * 2 * KEY_BYTES;
    return {
      identifier: this.ids[slot],
      cashRegisterName: this.registerNames[this.registers[slot]],
      createdAt: this.createdAtOf(slot),
      status: STATUSES[this.statuses[slot]],
      identity: this.keys.toString('latin1', at, at + KEY_BYTES),
      content: this.keys.toString('latin1', at + KEY_BYTES, at + 2 * KEY_BYTES),
      seq: this.seqs[slot],
    };
  }

  private createdAtOf(slot: number): string {
    const ms = this.createdMs[slot];
    return Number.isNaN(ms) ? this.oddCreatedAts.get(slot)! : isoOfMs(ms);
  }

  private keyEquals(identifier: string, key: string, offset: number): boolean {
    const slot = this.slots.get(identifier);
    if (slot === undefined) return false;
    const at = slot * 2 * KEY_BYTES + offset;
    return keyBytes(key).compare(this.keys, at, at + KEY_BYTES) === 0;
  }

  private registerSlot(name: string): number {
    let slot = this.registerSlots.get(name);
    if (slot === undefined) {
      slot = this.registerNames.length;
      if (slot > 0xffff) throw new RangeError('more than 65,536 cash registers');
      this.registerNames.push(name);
      this.registerSlots.set(name, slot);
    }
    return slot;
  }

  private grow(needed: number): void {
    if (needed <= this.statuses.length) return;
    const capacity = Math.max(needed, this.statuses.length * 2);
    const statuses = new Uint8Array(capacity);
    statuses.set(this.statuses);
    const registers = new Uint16Array(capacity);
    registers.set(this.registers);
    const seqs = new Float64Array(capacity);
    seqs.set(this.seqs);
    const firstSeqs = new Float64Array(capacity);
    firstSeqs.set(this.firstSeqs);
    const createdMs = new Float64Array(capacity);
    createdMs.set(this.createdMs);
    const keys = Buffer.alloc(capacity * 2 * KEY_BYTES);
    this.keys.copy(keys);
    this.statuses = statuses;
    this.firstSeqs = firstSeqs;
    this.registers = registers;
    this.seqs = seqs;
    this.createdMs = createdMs;
    this.keys = keys;
  }
}

/**
 * 128 bits of a key: the first half of a hex SHA-256 key (what records store), or of the
 * SHA-256 of anything else. A collision among 128-bit digests is not a practical concern.
 */
function keyBytes(key: string): Buffer {
  if (key.length === 64 && /^[0-9a-f]{64}$/.test(key)) return Buffer.from(key.slice(0, 2 * KEY_BYTES), 'hex');
  return createHash('sha256').update(key).digest().subarray(0, KEY_BYTES);
}
