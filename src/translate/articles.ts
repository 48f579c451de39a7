import type { Category, Discount, Product, Tax } from '../domain/types.js';
import { Decimal, fractionToPercent, percentToFraction, toDecimal, toNumber } from './decimal.js';
import {
  ATTRIBUTE_SELL_BEYOND_STOCK,
  UNTRACKED_STOCK_QTY,
  type TabShopDiscount,
  type TabShopStockItem,
  type TabShopStockItemInput,
  type TabShopTax,
} from './tabshop-types.js';

export interface StockPlacement {
  /** The product's category path (`/Drinks/Coffee`), `/` for none. */
  categoryPath: string | null;
  /** The central stock level; null when the product's stock is not tracked. */
  stockQty: number | string | null;
  /**
   * The ids that mean "no tax" / "no discount": 0, the document's "-" entry, unless a tax (discount)
   * with id 0 is defined; then -1 (the app model's "none").
   */
  none?: { tax: number; discount: number };
}

/** The interface document's "none" entry at the top of the tax and discount lists. */
export const NONE_ENTRY = { id: 0, percentage: 0, name: '-' } as const;

export interface ImportedStockItem {
  product: Product;
  categoryPath: string;
  stockQty: number | null;
}

export function normaliseCategoryPath(path: string | null | undefined): string {
  const segments = (path ?? '')
    .split('/')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return `/${segments.join('/')}`;
}

/** The path of category names from the root down to categoryId, following `parent`. */
export function categoryPath(categoryId: string | null | undefined, categories: Map<string, Category> | Record<string, Category>): string {
  const lookup = (id: string) => (categories instanceof Map ? categories.get(id) : Object.hasOwn(categories, id) ? categories[id] : undefined);
  const names: string[] = [];
  const seen = new Set<string>();
  for (let id = categoryId; id != null && !seen.has(id); ) {
    const category = lookup(id);
    if (category === undefined) break;
    seen.add(id);
    names.unshift(category.name);
    id = category.parent;
  }
  return normaliseCategoryPath(names.join('/'));
}

export function taxToTabShop(tax: Tax): TabShopTax {
  return { id: tabShopId(tax.identifier, 'tax'), percentage: percentToFraction(tax.vat), name: tax.name };
}

export function discountToTabShop(discount: Discount): TabShopDiscount {
  return { id: tabShopId(discount.identifier, 'discount'), percentage: percentToFraction(discount.percentage), name: discount.name };
}

export function tabShopTaxToTax(tax: TabShopTax): Tax {
  return { identifier: String(tax.id), name: tax.name, vat: fractionToPercent(tax.percentage) };
}

export function tabShopDiscountToDiscount(discount: TabShopDiscount): Discount {
  return { identifier: String(discount.id), name: discount.name, percentage: fractionToPercent(discount.percentage) };
}

export function productToStockItem(product: Product, placement: StockPlacement): TabShopStockItem {
  const tracked = placement.stockQty !== null;
  const attribute = product.attribute ?? 0;
  const none = placement.none ?? { tax: 0, discount: 0 };
  return {
    id: product.identifier,
    category: normaliseCategoryPath(placement.categoryPath),
    title: product.name ?? '',
    price: toNumber(product.price),
    costprice: toNumber(product.costPrice ?? 0),
    discountid: refToTabShop(product.discount, 'discount', none.discount),
    description: product.description ?? '',
    attribute: String(tracked ? attribute : attribute | ATTRIBUTE_SELL_BEYOND_STOCK),
    stockqty: tracked ? toNumber(Decimal.max(0, toDecimal(placement.stockQty))) : UNTRACKED_STOCK_QTY,
    taxid: refToTabShop(product.tax, 'tax', none.tax),
  };
}

/**
 * Reverse of productToStockItem, for importing a TabShop stock list. An item served as untracked
 * (999999 and bit 4) comes back untracked with bit 4 cleared, since untracked implies bit 4 anyway.
 */
export function stockItemToProduct(item: TabShopStockItemInput): ImportedStockItem {
  const attribute = toNumber(item.attribute ?? 0);
  const stockqty = item.stockqty ?? null;
  const untracked = stockqty === null || ((attribute & ATTRIBUTE_SELL_BEYOND_STOCK) !== 0 && toDecimal(stockqty).gte(UNTRACKED_STOCK_QTY));
  const product: Product = {
    identifier: String(item.id),
    name: item.title ?? '',
    description: item.description ?? '',
    price: toNumber(item.price ?? 0),
    priceIncludesVat: true,
    tax: refFromTabShop(item.taxid),
    discount: refFromTabShop(item.discountid),
    costPrice: toNumber(item.costprice ?? 0),
    attribute: untracked ? attribute & ~ATTRIBUTE_SELL_BEYOND_STOCK : attribute,
    custom: null,
  };
  return { product, categoryPath: normaliseCategoryPath(item.category), stockQty: untracked ? null : toNumber(stockqty) };
}

/** TabShop keys taxes and discounts by integers; `none` (0, or -1 when id 0 is defined) means none. */
function refToTabShop(ref: string | null | undefined, kind: string, none: number): number {
  return ref == null || ref === '' ? none : tabShopId(ref, kind);
}

/** 0 (the document's "-" entry) and -1 (the app model's) both mean none. */
function refFromTabShop(id: number | string | null | undefined): string | null {
  if (id == null || id === '') return null;
  const n = toNumber(id);
  return n <= 0 ? null : String(n);
}

function tabShopId(identifier: string, kind: string): number {
  const id = Number(identifier);
  if (!/^\d+$/.test(identifier) || !Number.isSafeInteger(id)) {
    throw new RangeError(`${kind} identifier ${JSON.stringify(identifier)} is not an integer: TabShop needs integer ids`);
  }
  return id;
}
