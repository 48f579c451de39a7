import type { LineFacts, SaleFootprint } from '../reports.js';
import type { Category, Commodity, Discount, Product, Sale, SaleStatus, Tax } from '../types.js';

export interface StockLevel {
  product: string;
  /** The count set by the last PUT /stock (decimal string, exact). */
  level: string;
  setAt: string;
  /**
   * The sales seq when the level was set: sale changes with a higher seq move the quantity. A store
   * that derives the stock from its sales at start (lowdb) replays only those; one that holds the
   * quantities (PostgreSQL's stock_levels) has every move in them and replays nothing (this seq
   * then only counts when the table is derived once, see migrations/0012_stock_levels.sql).
   */
  salesSeqAtSet: number;
  /** Sum of adjustments since the last set (decimal string). */
  adjustmentsTotal: string;
  adjustments: { delta: string; reason: string; at: string }[];
}

/** Bridge mode: where the articles came from and which upstream version they reflect. */
export interface UpstreamSyncState {
  baseUrl: string;
  /** Upstream's articles version at the last sync; null when upstream has no /version. */
  version: number | null;
  syncedAt: string;
}

export interface ArticlesData {
  version: number;
  upstream?: UpstreamSyncState;
  taxes: Record<string, Tax>;
  discounts: Record<string, Discount>;
  categories: Record<string, Category>;
  products: Record<string, Product>;
  commodities: Record<string, Commodity>;
  stock: Record<string, StockLevel>;
}

const ARTICLE_MAPS = ['taxes', 'discounts', 'categories', 'products', 'commodities', 'stock'] as const;

/**
 * The articles document as stored (or empty), with every collection a map without a prototype:
 * identifiers come from clients, and "__proto__" or "constructor" must be plain missing keys.
 */
export function articlesFrom(stored: Partial<ArticlesData> | null | undefined): ArticlesData {
  const doc = { version: 0, ...stored } as ArticlesData;
  for (const name of ARTICLE_MAPS) doc[name] = Object.assign(Object.create(null), stored?.[name]);
  return doc;
}

export const emptyArticles = (): ArticlesData => articlesFrom(null);

export type ArticleEntity = 'tax' | 'discount' | 'category' | 'product' | 'commodity' | 'stock';

export interface Modification {
  version: number;
  entity: ArticleEntity;
  identifier: string;
  op: 'create' | 'update' | 'delete';
  data: unknown;
  at: string;
}

export interface SaleChange {
  seq: number;
  status: SaleStatus;
  at: string;
  /** 'receipt': the receipt was marked printed (nothing else changed). */
  kind?: 'receipt';
  /** The register day (`<register>:<n>`) the change was received in, and is accounted in. */
  dayId?: string;
  /**
   * The date the change counts in for stats: `at`'s date in the shop's time zone when received,
   * kept only when it is not `at`'s UTC date (a later change of zone leaves it where it counted).
   */
  statsDate?: string;
  /** The sale's accounting figures just before this change, kept only when the change altered them. */
  prior?: SaleFootprint;
}

export interface SaleRecord {
  sale: Sale;
  /** Decides "same sale" (date + positions); see translate/invoice. */
  identity: string;
  /** Decides unchanged vs updated. */
  content: string;
  /** Every create or change, oldest first; the last one is the sale's current sequence number. */
  history: SaleChange[];
  /** Per line identity: the VAT rate and category frozen when the sale was first received (reports). */
  lineFacts?: Record<string, LineFacts>;
  /** Pushes that changed nothing on purpose (stale re-pushes), one entry per distinct content, counted. */
  ignored?: IgnoredPush[];
  /** Hashes of the contents this sale had before its current one: a push of one of them again is a re-push of an old version. */
  earlier?: string[];
}

export interface IgnoredPush {
  /** First and last time this content was pushed, and how often. */
  at: string;
  lastAt: string;
  count: number;
  /** The status the push asked for. */
  status: SaleStatus;
  /** A hash of the pushed content (tells distinct pushes apart). */
  content: string;
  reason: string;
}

export type QuarantineCode = 'invalid_invoice' | 'collision' | 'invalid_body' | 'unloadable_record';

/** A quarantine item is a to-do: open until an admin releases it (a sale was stored) or dismisses it. */
export type QuarantineState = 'open' | 'released' | 'dismissed';

export interface QuarantineItem {
  id: string;
  at: string;
  code: QuarantineCode;
  reason: string;
  /** Absent on items stored before states existed: open. */
  state?: QuarantineState;
  /** Set when released or dismissed: when, by which admin, and the outcome (release) or the reason (dismiss). */
  resolvedAt?: string;
  resolvedBy?: string;
  resolution?: string;
  /** The sale a release stored (its identifier). */
  sale?: string;
  /** How many times the same item arrived (same register, code and payload), and when last; absent: once. */
  count?: number;
  lastAt?: string;
  device?: string;
  cashRegisterName?: string;
  invoiceId?: string;
  /** What was pushed: the invoice item, or the raw body text when it was not JSON. */
  payload: unknown;
  /** For a collision: the stored sale's original invoice, untouched. */
  stored?: unknown;
  problems?: { path: string; message: string }[];
}

export interface JournalEntry {
  at: string;
  requestId?: string;
  device?: string;
  cashRegisterName?: string;
  method: string;
  path: string;
  query?: string;
  contentType?: string;
  legacy?: boolean;
  /** Raw body as UTF-8 text, or base64 when it is not valid UTF-8. */
  body?: string;
  bodyBase64?: string;
  headers?: Record<string, string>;
}
