import type { QuarantineItem, QuarantineState, SaleRecord } from '../domain/ports/records.js';
import {
  quarantineSummary,
  saleSummaryOf,
  type QuarantineSummary,
  type SaleIndexEntry,
  type SaleQuery,
  type SalesView,
  type SaleSummary,
  type SaleMatch,
} from '../domain/ports/sales-view.js';
import { SaleIndex } from '../domain/sale-index.js';
import { SalesFeed } from '../domain/sales-feed.js';

const ABSENT: SaleMatch = { match: 'absent' };
const SAME_CONTENT: SaleMatch = { match: 'same-content' };
const SAME_IDENTITY: SaleMatch = { match: 'same-identity' };
const OTHER_IDENTITY: SaleMatch = { match: 'other-identity' };

/**
 * The sales view of the files store: every sale in a SaleIndex (columns in memory), the change
 * feed and the quarantine's summaries, filled by the store's visit at open and kept by every
 * change. Answers without a disk read (the push path's lookups stay in memory).
 */
export class MemorySalesView implements SalesView {
  private readonly index = new SaleIndex();
  private readonly feedIndex = new SalesFeed((id) => this.index.seqOf(id));
  private readonly quarantine = new Map<string, QuarantineSummary>();
  private lastSeq = 0;
  private feedSeq = 0;

  loadSale(record: SaleRecord): void {
    this.remember(record);
  }

  loadQuarantine(item: QuarantineItem): void {
    this.quarantineStored(item);
  }

  async open(): Promise<number> {
    this.index.sortByFirstStored();
    this.feedIndex.load(this.index.seqEntries());
    this.feedSeq = this.lastSeq;
    return this.lastSeq;
  }

  saleStored(record: SaleRecord): void {
    const { identifier } = record.sale;
    const hadEntry = this.index.has(identifier);
    const seq = this.remember(record);
    // A record written again by a start-up repair keeps its seq: the feed has it already.
    if (seq > this.feedSeq) {
      this.feedIndex.record(seq, identifier, hadEntry);
      this.feedSeq = seq;
    }
  }

  /** Nothing to do: a record that could not be loaded never entered the index. */
  setAside(): void {}

  quarantineStored(item: QuarantineItem): void {
    this.quarantine.set(item.id, quarantineSummary(item));
  }

  async match(identifier: string, identity: string, content: string): Promise<SaleMatch> {
    if (!this.index.has(identifier)) return ABSENT;
    if (this.index.sameContent(identifier, content)) return SAME_CONTENT;
    return this.index.sameIdentity(identifier, identity) ? SAME_IDENTITY : OTHER_IDENTITY;
  }

  knownAbsent(identifier: string): boolean {
    return !this.index.has(identifier);
  }

  async entry(identifier: string): Promise<SaleIndexEntry | undefined> {
    return this.index.get(identifier);
  }

  async summaries(identifiers: readonly string[]): Promise<Map<string, SaleIndexEntry & { summary: SaleSummary }>> {
    const out = new Map<string, SaleIndexEntry & { summary: SaleSummary }>();
    for (const id of identifiers) {
      const entry = this.index.get(id);
      const summary = this.index.summary(id);
      if (entry && summary) out.set(id, { ...entry, summary });
    }
    return out;
  }

  async summary(identifier: string): Promise<SaleSummary | undefined> {
    return this.index.summary(identifier);
  }

  async *select(query: SaleQuery, order: 'first-stored' | 'newest-first' = 'first-stored'): AsyncGenerator<SaleIndexEntry> {
    yield* this.index.select(query, order === 'newest-first');
  }

  async page(
    query: SaleQuery,
    firstResult: number,
    maxResults: number,
    order: 'first-stored' | 'newest-first' = 'first-stored',
  ): Promise<{ items: SaleIndexEntry[]; total: number }> {
    return this.index.page(query, firstResult, maxResults, order === 'newest-first');
  }

  async *changedAfter(seq: number): AsyncGenerator<SaleIndexEntry> {
    yield* this.index.entries((e) => e.seq > seq);
  }

  async ofDays(dayIds: readonly string[]): Promise<SaleIndexEntry[]> {
    const wanted = new Set(dayIds);
    const out: SaleIndexEntry[] = [];
    for (const { identifier } of this.index.seqEntries()) {
      const dayId = this.index.dayIdOf(identifier);
      if (dayId != null && wanted.has(dayId)) out.push(this.index.get(identifier)!);
    }
    return out;
  }

  async latestByRegister(): Promise<Map<string, { identifier: string; seq: number }>> {
    const newest = new Map<string, { identifier: string; seq: number }>();
    for (const e of this.index.entries()) {
      const known = newest.get(e.cashRegisterName);
      if (!known || e.seq > known.seq) newest.set(e.cashRegisterName, { identifier: e.identifier, seq: e.seq });
    }
    return newest;
  }

  async feed(from: number, to: number, max: number): Promise<{ seq: number; identifier: string }[]> {
    return this.feedIndex.between(from, to, max);
  }

  async count(): Promise<number> {
    return this.index.size;
  }

  async quarantineHas(id: string): Promise<boolean> {
    return this.quarantine.has(id);
  }

  async quarantineSummaries(state: QuarantineState | 'all'): Promise<QuarantineSummary[]> {
    const list = state === 'all' ? [...this.quarantine.values()] : [...this.quarantine.values()].filter((q) => q.state === state);
    return list.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async quarantinePage(state: QuarantineState | 'all', firstResult: number, maxResults: number | null): Promise<{ items: QuarantineSummary[]; total: number }> {
    const all = await this.quarantineSummaries(state);
    return { items: all.slice(firstResult, maxResults === null ? undefined : firstResult + maxResults), total: all.length };
  }

  async quarantineCount(state: QuarantineState | 'all'): Promise<number> {
    if (state === 'all') return this.quarantine.size;
    let n = 0;
    for (const q of this.quarantine.values()) if (q.state === state) n++;
    return n;
  }

  private remember(record: SaleRecord): number {
    const { sale } = record;
    const seq = record.history[record.history.length - 1]?.seq ?? 0;
    this.index.set({
      identifier: sale.identifier,
      cashRegisterName: sale.cashRegisterName,
      createdAt: sale.createdAt,
      status: sale.status,
      identity: record.identity,
      content: record.content,
      seq,
      firstSeq: record.history[0]?.seq,
      summary: saleSummaryOf(record),
    });
    if (seq > this.lastSeq) this.lastSeq = seq;
    return seq;
  }
}
