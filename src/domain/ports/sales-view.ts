import type { QuarantineCode, QuarantineItem, QuarantineState, SaleRecord } from './records.js';
import type { SaleStatus } from '../types.js';

/** What the ledger knows about a stored sale without reading its record. */
export interface SaleIndexEntry {
  identifier: string;
  cashRegisterName: string;
  createdAt: string;
  status: SaleStatus;
  /** The sale's latest sequence number. */
  seq: number;
}

/** What the back office lists of a stored sale. */
export interface SaleSummary {
  total: number;
  vat: number;
  lines: number;
  firstSeq: number;
  receivedAt: string;
  dayId: string | null;
}

export interface SaleQuery {
  cashRegisterName?: string;
  status?: SaleStatus;
  /** ISO-8601, inclusive. */
  from?: string;
  /** ISO-8601, exclusive. */
  to?: string;
}

export interface QuarantineSummary {
  id: string;
  at: string;
  code: QuarantineCode;
  reason: string;
  state: QuarantineState;
  cashRegisterName?: string;
  invoiceId?: string;
}

/** How a candidate compares with the sale stored under its identifier (DESIGN §4.1). */
export type StoredMatch = 'absent' | 'other-identity' | 'same-identity' | 'same-content';

/** A match, with the stored record when the view read it to compare (PostgreSQL): the ledger need not read it again. */
export interface SaleMatch {
  match: StoredMatch;
  record?: SaleRecord;
}

/**
 * The sales as the ledger and its readers see them: lookups for the upsert rules, listings in
 * the order first stored, the change feed by seq, per-sale summaries, counts and the quarantine's
 * summaries. lowdb keeps them in memory (fed by the store's visit at open and by every change);
 * PostgreSQL answers with SQL, so nothing per sale is held in memory there. Reads see every
 * change stored before the call, committed or not.
 */
export interface SalesView {
  /** Start-up visit of one stored record (lowdb fills its index; PostgreSQL ignores it). */
  loadSale(record: SaleRecord): void;
  loadQuarantine(item: QuarantineItem): void;
  /** After the visit: the highest sales sequence number stored. */
  open(): Promise<number>;
  /** A change the ledger stored (or a record written again by a start-up repair). */
  saleStored(record: SaleRecord): void;
  quarantineStored(item: QuarantineItem): void;
  /** A stored sale record start-up could not load: not served nor listed until a change stores it again. */
  setAside(identifier: string): void;

  /** The stored sale's keys against a candidate's (identity and content keys as records hold them). */
  match(identifier: string, identity: string, content: string): Promise<SaleMatch>;
  /** True when the sale is known not to be listed (lowdb: not in the index; a stored record that could not be loaded is not served). */
  knownAbsent(identifier: string): boolean;
  entry(identifier: string): Promise<SaleIndexEntry | undefined>;
  /** Entries and summaries of the given sales (those stored), for lists of many. */
  summaries(identifiers: readonly string[]): Promise<Map<string, SaleIndexEntry & { summary: SaleSummary }>>;
  summary(identifier: string): Promise<SaleSummary | undefined>;
  /** Matching sales, in the order first stored (or newest first). */
  select(query: SaleQuery, order?: 'first-stored' | 'newest-first'): AsyncIterable<SaleIndexEntry>;
  /** One page of select() and the number of matches. */
  page(query: SaleQuery, firstResult: number, maxResults: number, order?: 'first-stored' | 'newest-first'): Promise<{ items: SaleIndexEntry[]; total: number }>;
  /** Sales whose latest change is above `seq`, in the order first stored. */
  changedAfter(seq: number): AsyncIterable<SaleIndexEntry>;
  /** Sales of the given days (the back office's day ids). */
  ofDays(dayIds: readonly string[]): Promise<SaleIndexEntry[]>;
  /** Each register's most recently changed sale. */
  latestByRegister(): Promise<Map<string, { identifier: string; seq: number }>>;
  /** The feed: sales whose latest change has from < seq ≤ to, oldest first, at most `max` (each sale once, at its latest seq). */
  feed(from: number, to: number, max: number): Promise<{ seq: number; identifier: string }[]>;
  count(): Promise<number>;

  quarantineHas(id: string): Promise<boolean>;
  /** Oldest first (by time received, then id); `state` 'all' or one state. */
  quarantineSummaries(state: QuarantineState | 'all'): Promise<QuarantineSummary[]>;
  quarantinePage(state: QuarantineState | 'all', firstResult: number, maxResults: number | null): Promise<{ items: QuarantineSummary[]; total: number }>;
  quarantineCount(state: QuarantineState | 'all'): Promise<number>;
}

export function quarantineSummary(item: QuarantineItem): QuarantineSummary {
  const s: QuarantineSummary = { id: item.id, at: item.at, code: item.code, reason: item.reason, state: item.state ?? 'open' };
  if (item.cashRegisterName !== undefined) s.cashRegisterName = item.cashRegisterName;
  if (item.invoiceId !== undefined) s.invoiceId = item.invoiceId;
  return s;
}

/** The summary of a stored record (undefined without a change). */
export function saleSummaryOf({ sale, history }: SaleRecord): SaleSummary | undefined {
  const first = history[0];
  if (!first) return undefined;
  return { total: sale.total, vat: sale.vat, lines: sale.lines.length, firstSeq: first.seq, receivedAt: first.at, dayId: sale.dayId ?? null };
}
