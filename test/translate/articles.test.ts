import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import type { Category, Commodity, Discount, Product, Tax } from '../../src/domain/types.js';
import {
  categoryPath,
  discountToTabShop,
  normaliseCategoryPath,
  productToStockItem,
  stockItemToProduct,
  tabShopDiscountToDiscount,
  tabShopTaxToTax,
  taxToTabShop,
} from '../../src/translate/articles.js';
import { loadFixtures } from './fixtures.js';

interface ArticleFixture {
  description: string;
  kind: string;
  categories?: Category[];
  cases: { note?: string; input: any; expected: unknown }[];
}

interface Catalogue {
  taxes: Tax[];
  discounts: Discount[];
  categories: Category[];
  products: Product[];
  commodities: Commodity[];
  stock: { product: string; quantity: number }[];
}

const mappings: Record<string, (input: any, fixture: ArticleFixture) => unknown> = {
  normaliseCategoryPath: (input) => normaliseCategoryPath(input),
  categoryPath: (input, fixture) => categoryPath(input, new Map((fixture.categories ?? []).map((c) => [c.identifier, c]))),
  productToStockItem: (input) => productToStockItem(input.product, { categoryPath: input.categoryPath, stockQty: input.stockQty }),
  stockItemToProduct: (input) => stockItemToProduct(input),
  taxToTabShop: (input) => taxToTabShop(input),
  tabShopTaxToTax: (input) => tabShopTaxToTax(input),
  discountToTabShop: (input) => discountToTabShop(input),
  tabShopDiscountToDiscount: (input) => tabShopDiscountToDiscount(input),
};

const schema = (name: string) => JSON.parse(readFileSync(new URL(`../../schemas/${name}`, import.meta.url), 'utf8')) as object;
const ajv = new Ajv({ allErrors: true, strict: true });
const validStock = ajv.compile(schema('tabshop-stock.schema.json'));
const validTaxes = ajv.compile(schema('tabshop-tax.schema.json'));
const validDiscounts = ajv.compile(schema('tabshop-discount.schema.json'));

describe('article fixtures', () => {
  for (const { file, fixture } of loadFixtures<ArticleFixture>('translate/articles')) {
    const map = mappings[fixture.kind];
    it(`${file}: kind ${fixture.kind} is known`, () => expect(map).toBeTypeOf('function'));
    if (map === undefined) continue;
    describe(`${file}: ${fixture.description}`, () => {
      it.each(fixture.cases.map((c, i) => [c.note ?? JSON.stringify(c.input), i] as const))('%s', (_name, i) => {
        const { input, expected } = fixture.cases[i];
        expect(map(structuredClone(input), fixture)).toStrictEqual(expected);
      });
    });
  }
});

describe('categoryPath', () => {
  it('accepts a plain record as well as a Map', () => {
    const categories = { tea: { identifier: 'tea', name: 'Tea', parent: 'drinks' }, drinks: { identifier: 'drinks', name: 'Drinks' } };
    expect(categoryPath('tea', categories)).toBe('/Drinks/Tea');
    expect(categoryPath('toString', categories)).toBe('/');
  });
});

describe('round trips', () => {
  it('a served stock item imports back to the same product, path and level', () => {
    const product: Product = {
      identifier: '403',
      name: 'Käsekuchen',
      description: 'Cheesecake',
      price: 3.8,
      priceIncludesVat: true,
      tax: '1',
      discount: '1',
      costPrice: 0.9,
      attribute: 16,
      custom: null,
    };
    for (const stockQty of [8, 0.5, null]) {
      const item = productToStockItem(product, { categoryPath: '/Food/Pastry', stockQty });
      expect(stockItemToProduct(item)).toStrictEqual({ product, categoryPath: '/Food/Pastry', stockQty });
    }
  });

  it('taxes and discounts survive fraction ⇄ percent', () => {
    for (const vat of [0, 2.5, 5.5, 7, 7.7, 10, 12, 19, 20, 21, 25, 33.3]) {
      expect(tabShopTaxToTax(taxToTabShop({ identifier: '7', name: 'x', vat })).vat).toBe(vat);
      expect(tabShopDiscountToDiscount(discountToTabShop({ identifier: '7', name: 'x', percentage: vat })).percentage).toBe(vat);
    }
  });

  it('refuses tax and discount identifiers that TabShop cannot key by integer', () => {
    expect(() => taxToTabShop({ identifier: 'vat-std', name: 'Standard', vat: 20 })).toThrow(/integer/);
    expect(() => productToStockItem({ identifier: '1', name: 'x', price: 1, discount: 'staff' }, { categoryPath: '/', stockQty: 1 })).toThrow(/discount/);
  });
});

describe('demo catalogue', () => {
  const catalogue = JSON.parse(readFileSync(new URL('../../fixtures/demo/catalogue.json', import.meta.url), 'utf8')) as Catalogue;
  const ids = <T extends { identifier: string }>(items: T[]) => new Set(items.map((x) => x.identifier));
  const taxes = ids(catalogue.taxes);
  const discounts = ids(catalogue.discounts);
  const categories = new Map(catalogue.categories.map((c) => [c.identifier, c]));
  const products = ids(catalogue.products);

  it('has unique identifiers in every collection', () => {
    const collections: { identifier: string }[][] = [catalogue.taxes, catalogue.discounts, catalogue.categories, catalogue.products, catalogue.commodities];
    for (const collection of collections) {
      expect(ids(collection).size).toBe(collection.length);
      for (const { identifier } of collection) expect(identifier).toMatch(/^[A-Za-z0-9_.:-]{1,64}$/);
    }
    expect(new Set(catalogue.stock.map((s) => s.product)).size).toBe(catalogue.stock.length);
  });

  it('is a small café: 2 taxes, 2 discounts, nested categories, ~20 products, stock for about half', () => {
    expect(catalogue.taxes.map((t) => t.vat)).toStrictEqual([10, 20]);
    expect(catalogue.discounts).toHaveLength(2);
    expect(catalogue.products.length).toBeGreaterThanOrEqual(18);
    expect(catalogue.stock.length).toBeGreaterThanOrEqual(catalogue.products.length / 3);
    expect(catalogue.stock.length).toBeLessThan(catalogue.products.length);
    expect([...categories.keys()].map((id) => categoryPath(id, categories))).toEqual(
      expect.arrayContaining(['/Drinks', '/Drinks/Coffee', '/Drinks/Tea', '/Drinks/Cold', '/Food', '/Food/Pastry', '/Food/Sandwiches']),
    );
  });

  it('every reference exists', () => {
    for (const p of catalogue.products) {
      if (p.tax != null) expect(taxes, `product ${p.identifier} tax`).toContain(p.tax);
      if (p.discount != null) expect(discounts, `product ${p.identifier} discount`).toContain(p.discount);
    }
    for (const c of catalogue.categories) if (c.parent != null) expect(categories.has(c.parent), `category ${c.identifier} parent`).toBe(true);
    for (const c of catalogue.commodities) {
      expect(products, `commodity ${c.identifier} product`).toContain(c.product);
      expect(categories.has(c.category), `commodity ${c.identifier} category`).toBe(true);
    }
    for (const s of catalogue.stock) {
      expect(products, `stock of ${s.product}`).toContain(s.product);
      expect(s.quantity).toBeTypeOf('number');
    }
  });

  it('places every product in exactly one category', () => {
    for (const p of catalogue.products) {
      expect(
        catalogue.commodities.filter((c) => c.product === p.identifier),
        p.identifier,
      ).toHaveLength(1);
    }
  });

  it('translates into valid TabShop stock, tax and discount lists', () => {
    const levels = new Map(catalogue.stock.map((s) => [s.product, s.quantity]));
    const stock = {
      products: catalogue.products.map((p) => {
        const commodity = catalogue.commodities.find((c) => c.product === p.identifier);
        return productToStockItem(p, { categoryPath: categoryPath(commodity?.category, categories), stockQty: levels.get(p.identifier) ?? null });
      }),
    };
    expect(validStock(stock), JSON.stringify(validStock.errors)).toBe(true);
    expect(validTaxes({ taxes: catalogue.taxes.map(taxToTabShop) }), JSON.stringify(validTaxes.errors)).toBe(true);
    expect(validDiscounts({ discounts: catalogue.discounts.map(discountToTabShop) }), JSON.stringify(validDiscounts.errors)).toBe(true);
    expect(stock.products.find((i) => i.id === '601')).toMatchObject({ category: '/Drinks/Coffee', stockqty: 12.5 });
    expect(stock.products.find((i) => i.id === '901')).toMatchObject({ attribute: '20', stockqty: 999999, taxid: 0 });
  });
});
