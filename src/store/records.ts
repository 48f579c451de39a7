import type { LineFacts, SaleFootprint } from '../domain/reports.js';
import type { Category, Commodity, Discount, Product, Sale, SaleStatus, Tax } from '../domain/types.js';

export interface StockLevel {
  product: string;
  /** The count set by the last PUT /stock (decimal string, exact). */
  level: string;
  setAt: string;
  /** Sales changes with a sequence number above this one move the level. */
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
}

export type QuarantineCode = 'invalid_invoice' | 'collision' | 'invalid_body' | 'unloadable_record';

export interface QuarantineItem {
  id: string;
  at: string;
  code: QuarantineCode;
  reason: string;
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
