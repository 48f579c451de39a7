/** srv4pos-style article and sale shapes (reference/srv4pos-api-notes.md Part B). Money stays a JSON number exactly as given. */

export interface Tax {
  identifier: string;
  name: string;
  vat: number;
}
export interface Discount {
  identifier: string;
  name: string;
  percentage: number;
}
export interface Category {
  identifier: string;
  name: string;
  parent?: string | null;
}
export interface Product {
  identifier: string;
  name: string;
  description?: string;
  price: number;
  priceIncludesVat?: boolean;
  tax?: string | null;
  discount?: string | null;
  costPrice?: number;
  attribute?: number;
  custom?: string | null;
}
export interface Commodity {
  identifier: string;
  product: string;
  category: string;
}

export type SaleStatus = 'completed' | 'refunded' | 'cancelled';

export interface SaleLine {
  lineNo: number;
  product: string;
  name: string;
  title?: string;
  quantity: number;
  subtotal: number;
  discount: number;
  vat: number;
  total: number;
  costPrice: number;
}

export interface Payment {
  method: string; // cash, credit_card, card, paypal, check, paypal_here, invoice, bitcoin, authorize_net, payleven, yodo, stripe, custom, unknown
  code: string | null; // the raw TabShop checkoutType, kept verbatim as a string
  amount: number;
  given?: number;
  returned?: number;
}

export interface SaleSource {
  kind: 'tabshop' | 'api';
  device?: string;
  invoiceId?: string;
  checkoutType?: string;
  checkoutStatus?: string;
  /** The pushed TabShop invoice, verbatim (nothing is lost in translation). */
  invoice?: unknown;
  /** How the push body was decoded when it was not UTF-8 (`windows-1252`); its raw bytes are in the journal. */
  encoding?: string;
  /** Set when the sale was stored by releasing this quarantine item. */
  quarantineId?: string;
}

export interface Sale {
  identifier: string;
  cashRegisterName: string;
  createdAt: string;
  status: SaleStatus;
  lines: SaleLine[];
  payments: Payment[];
  total: number;
  vat: number;
  discount: number;
  costPrice: number;
  customer: { name: string; address: string; email: string };
  receiptPrintedAt: string | null;
  dayId?: string | null;
  version?: number;
  source?: SaleSource;
}

export const isReversed = (status: SaleStatus) => status !== 'completed';
