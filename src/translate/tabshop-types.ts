/** TabShop JSON interface shapes (seeds/tabshop-json-interface.txt, reference/tabshop-protocol-notes.md §3). */

/** Tablets send numeric fields either as JSON numbers or as numeric strings. */
export type TabShopNumeric = number | string;

export interface TabShopPosition {
  productId: string | number;
  qty: TabShopNumeric;
  total: TabShopNumeric;
  subtotal?: TabShopNumeric;
  tax?: TabShopNumeric;
  discount?: TabShopNumeric;
  costPrice?: TabShopNumeric;
  productName?: string;
  posTitle?: string;
  /** Fields beyond the documented ones are kept verbatim. */
  [extra: string]: unknown;
}

export interface TabShopCustomer {
  name?: string;
  address?: string;
  email?: string;
  [extra: string]: unknown;
}

export interface TabShopInvoice {
  id: string | number;
  /** Epoch milliseconds. */
  date: TabShopNumeric;
  positions: TabShopPosition[];
  total?: TabShopNumeric;
  tax?: TabShopNumeric;
  discount?: TabShopNumeric;
  costPrice?: TabShopNumeric;
  givenCash?: TabShopNumeric;
  returnedCash?: TabShopNumeric;
  checkoutType?: TabShopNumeric;
  checkoutStatus?: TabShopNumeric;
  customer?: TabShopCustomer;
  [extra: string]: unknown;
}

export interface TabShopInvoiceBatch {
  invoices: unknown[];
}

/** One entry of `GET stock`, as the gateway serves it. */
export interface TabShopStockItem {
  id: string;
  category: string;
  title: string;
  price: number;
  costprice: number;
  /** 0: no discount (-1 when a discount with id 0 is defined). */
  discountid: number;
  description: string;
  /** Bit flags as a decimal string, as in the interface document (`"0"`, `"4"`, `"16"`, `"20"`): 4 = sell beyond stock, 16 = voucher. */
  attribute: string;
  stockqty: number;
  /** 0: no tax (-1 when a tax with id 0 is defined). */
  taxid: number;
}

/** A stock entry as another TabShop server may send it (the protocol page's own example has `"attribute":"0"`). */
export type TabShopStockItemInput = {
  [K in Exclude<keyof TabShopStockItem, 'id' | 'attribute'>]?: TabShopStockItem[K] extends number ? TabShopNumeric | null : string | null;
} & { id: string | number; attribute?: TabShopNumeric | null };

export interface TabShopTax {
  id: number;
  /** A fraction: 0.1 = 10 %. */
  percentage: number;
  name: string;
}

export interface TabShopDiscount {
  id: number;
  /** A fraction: 0.1 = 10 %. */
  percentage: number;
  name: string;
}

export const ATTRIBUTE_SELL_BEYOND_STOCK = 4;
export const ATTRIBUTE_VOUCHER = 16;
/** What untracked products are served with, together with ATTRIBUTE_SELL_BEYOND_STOCK. */
export const UNTRACKED_STOCK_QTY = 999999;
