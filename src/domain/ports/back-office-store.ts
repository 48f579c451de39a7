import type { FiguresJson } from '../figures-json.js';
import type { BalanceMovement, ChangeFacts, DayReport, Figures, ItemFigures } from '../reports.js';
import type { SaleRecord } from './records.js';

/** A closed register day: its Z report is frozen here and never changes. */
export interface ClosedDay {
  dayId: string;
  cashRegisterName: string;
  dayNo: number;
  openedAt: string;
  closedAt: string;
  closedBy: string;
  report: DayReport;
}

/** Presence of registers and devices, written along with other back-office writes (not on every poll). */
export interface PresenceDoc {
  registers: Record<
    string,
    {
      lastSeenAt: string | null;
      lastPushAt: string | null;
      devices: Record<string, { lastSeenAt: string | null; lastPushAt: string | null }>;
    }
  >;
}

/** What a register's stored sale changes made of it (the rest of its state comes from days, movements, presence). */
export interface RegisterRow {
  cashRegisterName: string;
  /** Sale changes stored for the register (its version counts them, plus closed days and cash movements). */
  saleChanges: number;
  /** Devices that stored a sale of the register. */
  devices: string[];
}

/**
 * Rows another process wrote since this one last looked (PostgreSQL, several processes): each is
 * the row as stored now. `full`: every row (this process's failed writes were dropped).
 */
export interface BackOfficeRefresh {
  full: boolean;
  registers: RegisterRow[];
  days: DayFiguresRow[];
  closedDays: ClosedDay[];
  movements: BalanceMovement[];
  /** The stored presence, when it changed: the later of each time is kept (several processes see the same device). */
  presence?: PresenceDoc;
}

/** A day's running figures, as kept while it is open and as they were when it closed. */
export interface DayFiguresRow {
  dayId: string;
  cashRegisterName: string;
  dayNo: number;
  openedAt: string;
  closed: boolean;
  figures: FiguresJson;
}

/** Per-item sums of a stats bucket (per product or per category), added into `out` by key. */
export interface ItemSums {
  mergeInto(out: Map<string, ItemFigures>): void;
}

/** Stats of one (date of receipt in the shop's time zone, register): SaleChange.statsDate. */
export interface StatsBucket {
  date: string;
  register: string;
  figures: Figures;
  products: ItemSums;
  categories: ItemSums;
}

/** [from, to) as dates (YYYY-MM-DD) of the shop's calendar; absent bounds are open. */
export interface DateRange {
  from?: string;
  to?: string;
}

/**
 * Running stats per (date of receipt in the shop's time zone, register): every sale change moves its bucket in the
 * sale's serialised step (and commit round); queries read the buckets of a range.
 */
export interface StatsStore {
  /** A change that counts in `date` (its statsDate). */
  apply(date: string, register: string, change: ChangeFacts): void;
  /** A sale first received on `date` (kept where the sales themselves cannot answer it). */
  addSale(date: string, register: string, identifier: string): void;
  /** The buckets of the range, by date then register (a read sees every change applied before it). */
  select(range: DateRange, register?: string): Promise<StatsBucket[]>;
  /** Identifiers of the sales first received in the range. */
  saleIds(range: DateRange, register?: string): Promise<string[]>;
}

export interface BackOfficeVisit {
  onClosedDay(day: ClosedDay): void;
  onMovement(m: BalanceMovement): void;
  /** A stored register row (stores that keep rows). */
  onRegister?(row: RegisterRow): void;
  /** A stored day's figures, for days not closed (stores that keep rows). */
  onDayFigures?(row: DayFiguresRow): void;
  /**
   * A store that keeps rows but never wrote them (a database of a previous version): onSale
   * follows for every stored sale, once, then the back office writes every row (backfilled()).
   */
  onBackfill?(): void;
  onSale?(record: SaleRecord): void;
}

/**
 * Storage of the back office (days, cash movements, presence, stats). With `keepsRows` false
 * (lowdb) register state, day figures and stats are derived from the stored sales at every start;
 * with it true (PostgreSQL) they are rows written in the sales' commit rounds, and the back office
 * needs no stored sale at start. Writes are durable at the sales store's next commit (same round).
 */
export interface BackOfficeStore {
  readonly keepsRows: boolean;
  readonly stats: StatsStore;
  open(visit: BackOfficeVisit): Promise<PresenceDoc>;
  /** Several processes on one database: called with the rows another process wrote, once this one caught up with them. */
  onRefresh?(listener: (r: BackOfficeRefresh) => void): void;
  putClosedDay(day: ClosedDay): Promise<void>;
  putMovement(m: BalanceMovement): Promise<void>;
  /** The register changed: its row, as `snapshot` gives it when the round starts (no-op without rows). */
  putRegister(name: string, snapshot: () => RegisterRow): void;
  /** The day's figures changed (or it closed): its row, as `snapshot` gives it when the round starts (no-op without rows). */
  putDayFigures(dayId: string, snapshot: () => DayFiguresRow): void;
  /** After a start that visited every sale (onSale): the rows written, later starts need no sale (no-op without rows). */
  backfilled(): void;
  savePresence(doc: PresenceDoc): void;
  /** Presence changed (a push): written later, off the commit path, with the document `build` returns then. */
  savePresenceLater(build: () => PresenceDoc): void;
}
