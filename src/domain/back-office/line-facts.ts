import type { SaleRecord } from '../ports/records.js';
import { categoryPath } from '../../translate/articles.js';
import { compareIds, type Catalog } from '../catalog.js';
import { lineKey, vatRateOf, type FootprintLine, type LineFacts } from '../reports.js';
import type { Category, Commodity, Product, Sale, Tax } from '../types.js';

interface ArticlesView {
  version: number;
  rates: Map<string, number>;
  configured: number[];
  categories: Map<string, string>;
}

/**
 * A sale line's VAT rate and category, taken from the catalogue when the line is first received
 * and frozen in the sale record, so later article changes do not move past figures.
 */
export class LineFactsBook {
  private articles: ArticlesView | null = null;

  constructor(private readonly catalog: Catalog) {}

  /** The facts already frozen in `known`, plus today's facts of the lines new in `sale`. */
  freeze(sale: Sale, known: Record<string, LineFacts>): Record<string, LineFacts> {
    const facts = { ...known };
    for (const line of sale.lines) facts[lineKey(line)] ??= this.now(line);
    return facts;
  }

  /** The facts of a line by today's catalogue. */
  now(line: FootprintLine | Sale['lines'][number]): LineFacts {
    const a = this.view();
    return { vatRate: vatRateOf(line, a.rates.get(line.product), a.configured), category: a.categories.get(line.product) ?? '/' };
  }

  /** The record's frozen facts, today's for a line that has none. */
  of(record: SaleRecord): (line: FootprintLine) => LineFacts {
    return (line) => record.lineFacts?.[lineKey(line)] ?? this.now(line);
  }

  private view(): ArticlesView {
    const { catalog } = this;
    if (this.articles?.version === catalog.version) return this.articles;
    const taxes = new Map(catalog.all<Tax>('taxes').map((t) => [t.identifier, t.vat]));
    const categories = new Map(catalog.all<Category>('categories').map((c) => [c.identifier, c]));
    const firstCategory = new Map<string, string>();
    for (const c of catalog.all<Commodity>('commodities').sort((a, b) => compareIds(a.identifier, b.identifier))) {
      if (!firstCategory.has(c.product)) firstCategory.set(c.product, categoryPath(c.category, categories));
    }
    const rates = new Map<string, number>();
    for (const p of catalog.all<Product>('products')) {
      const vat = p.tax == null ? undefined : taxes.get(p.tax);
      if (vat !== undefined) rates.set(p.identifier, vat);
    }
    this.articles = { version: catalog.version, rates, configured: [...new Set(taxes.values())], categories: firstCategory };
    return this.articles;
  }
}
