import type { Decimal } from 'decimal.js';
import type { ArticlesData, JournalEntry, Modification, QuarantineItem, SaleRecord } from './records.js';

/** Where the central stock comes from (the catalogue). */
export interface StockSource {
  trackedProducts(): string[];
  /** null: not tracked (no level set). */
  quantityOf(product: string): Decimal | null;
  onStockChange(listener: (product: string) => void): void;
}

/**
 * Another process wrote to the database since this one last did (PostgreSQL): the articles
 * document was brought up to date; what the catalogue derives from it and the ledger's sequence follow.
 */
export interface StoreRefresh {
  /** Everything was reloaded (this process's failed writes were dropped): `modifications` is the whole change feed. */
  full: boolean;
  /** Change-feed entries new to this process, in version order. */
  modifications: Modification[];
  /** The stored central stock of the products whose quantity changed (every tracked one when full). */
  quantities: ReadonlyMap<string, string>;
  /** The highest sale change sequence number stored. */
  salesSeq: number;
}

/**
 * The storage port. Changes are queued by the calls below; commit() resolves once every change
 * made before the call is durable. Only the unit of work (src/domain/unit-of-work.ts) calls it:
 * domain services and routes change state inside its transact. lowdb is the embedded adapter;
 * a server database can implement the same port.
 */
export interface Store {
  readonly dataDir: string;
  /** Where the data lives, for operators: 'the data dir' or 'the database'. */
  readonly kind: 'lowdb' | 'postgres';
  /**
   * Takes the data-dir lock and loads what the process keeps in memory; `onSale` and `onQuarantine`
   * see each stored record once on lowdb. PostgreSQL visits none (its sales view, back-office rows and
   * stock_levels answer from the database), only the article changes.
   */
  open(visit: { onSale(record: SaleRecord): void; onQuarantine(item: QuarantineItem): void; onModification(m: Modification): void }): Promise<void>;
  close(): Promise<void>;
  /**
   * A server database shared by several processes: write access for a unit of work (the write
   * lease, its holder's caches brought up to date first), with the function that says it is done.
   */
  beginWrite?(): Promise<() => void>;
  /** Resolves once what this process caches reflects every write committed before the call (by any process). */
  fresh?(): Promise<void>;
  /** Called after the articles document was brought up to date with another process's writes. */
  onRefresh?(listener: (r: StoreRefresh) => void): void;
  probeWritable(): Promise<boolean>;
  commit(): Promise<void>;

  journal(entry: JournalEntry): void;

  /** The live articles document; call saveArticles() after changing it. */
  readonly articles: ArticlesData;
  saveArticles(): void;
  addModification(m: Modification): Promise<void>;

  getSale(identifier: string): Promise<SaleRecord | undefined>;
  /**
   * A hint: these sales are about to be looked up (a push's invoices, before its turn in the
   * ledger's serialised step). A server database reads them ahead, together, in one query;
   * getSale still answers exactly what it would have.
   */
  prefetchSales?(identifiers: readonly string[]): void;
  putSale(record: SaleRecord, partitionDay: string): Promise<void>;

  /**
   * A server database keeps the central stock in a table (PostgreSQL's stock_levels), written in
   * the round of every sale change and level change that moved it, so a process starts from it:
   * the stored quantity of every tracked product, no sale replayed. A table that cannot be trusted
   * (a database of an earlier schema, a copy of a data dir, a writer that does not keep it) is
   * derived once instead: every stored sale goes to `replay` (its stock moves into the catalogue)
   * and the answer is null; followStock then rewrites the table and records it as derived.
   * Files need none of this: lowdb derives the quantities from the sales it loads at start.
   */
  storedStock?(replay: (record: SaleRecord) => void): Promise<ReadonlyMap<string, string> | null>;
  /** After storedStock: the table follows every change of the catalogue's quantities, in the round that made it. */
  followStock?(stock: StockSource): void;

  getQuarantine(id: string): Promise<QuarantineItem | undefined>;
  putQuarantine(item: QuarantineItem): Promise<void>;
}
