import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Catalog } from '../domain/catalog.js';
import type { Category, Commodity, Discount, Product, Tax } from '../domain/types.js';
import { categoryPath, discountToTabShop, NONE_ENTRY, productToStockItem, taxToTabShop } from '../translate/articles.js';
import { compareIds } from '../domain/catalog.js';

export interface CachedBody {
  body: Buffer;
  etag: string;
  gzipped(): Buffer;
}

function cached(json: string): CachedBody {
  const body = Buffer.from(json, 'utf8');
  let gz: Buffer | null = null;
  return {
    body,
    etag: `"${createHash('sha1').update(body).digest('base64url')}"`,
    gzipped: () => (gz ??= gzipSync(body)),
  };
}

/**
 * What tablets read (stock, tax, discount), serialised once and reused until the catalogue
 * or a tracked stock level changes: tablets poll these often, sales never get scanned here.
 */
export class TabShopViews {
  private stock: CachedBody | null = null;
  private taxes: CachedBody | null = null;
  private discounts: CachedBody | null = null;

  constructor(private readonly catalog: Catalog) {
    catalog.onChange(() => this.invalidate());
  }

  invalidate(): void {
    this.stock = this.taxes = this.discounts = null;
  }

  stockBody(): CachedBody {
    return (this.stock ??= cached(JSON.stringify({ products: this.stockItems() })));
  }

  taxBody(): CachedBody {
    return (this.taxes ??= cached(JSON.stringify({ taxes: withNone(this.catalog.all<Tax>('taxes').sort(byId).map(taxToTabShop)) })));
  }

  discountBody(): CachedBody {
    return (this.discounts ??= cached(
      JSON.stringify({
        discounts: withNone(this.catalog.all<Discount>('discounts').sort(byId).map(discountToTabShop)),
      }),
    ));
  }

  private stockItems() {
    const categories = new Map(this.catalog.all<Category>('categories').map((c) => [c.identifier, c]));
    const firstCategory = new Map<string, string>();
    for (const c of this.catalog.all<Commodity>('commodities').sort(byId)) {
      if (!firstCategory.has(c.product)) firstCategory.set(c.product, c.category);
    }
    const none = {
      tax: this.catalog.find<Tax>('taxes', '0') ? -1 : NONE_ENTRY.id,
      discount: this.catalog.find<Discount>('discounts', '0') ? -1 : NONE_ENTRY.id,
    };
    return this.catalog
      .all<Product>('products')
      .sort(byId)
      .map((p) => {
        const quantity = this.catalog.quantityOf(p.identifier);
        return productToStockItem(p, {
          categoryPath: categoryPath(firstCategory.get(p.identifier) ?? null, categories),
          stockQty: quantity === null ? null : quantity.toNumber(),
          none,
        });
      });
  }
}

/** The document's lists start with its "none" entry (id 0, "-"), unless a tax or discount with id 0 is defined. */
function withNone<T extends { id: number }>(list: T[]): (T | typeof NONE_ENTRY)[] {
  return list.some((x) => x.id === NONE_ENTRY.id) ? list : [NONE_ENTRY, ...list];
}

const byId = (a: { identifier: string }, b: { identifier: string }) => compareIds(a.identifier, b.identifier);
