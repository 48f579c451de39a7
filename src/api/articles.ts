import { Router } from 'express';
import type { Catalog, Collection } from '../domain/catalog.js';
import type { SalesLedger } from '../domain/ledger.js';
import { AppError } from '../errors.js';
import { ifMatch, notModified, optionalInt, paging } from './http.js';
import { validateBody } from './validate.js';
import { listRange, sendCsv, wantsCsv } from './negotiate.js';
import { objectsToCsv } from '../render/csv.js';

const COLLECTIONS: [Collection, string][] = [
  ['taxes', 'tax'],
  ['discounts', 'discount'],
  ['categories', 'category'],
  ['products', 'product'],
  ['commodities', 'commodity'],
];

/** The CSV header of each list (an empty list still has it). */
const CSV_COLUMNS: Record<Collection | 'stock', string[]> = {
  taxes: ['identifier', 'name', 'vat'],
  discounts: ['identifier', 'name', 'percentage'],
  categories: ['identifier', 'name', 'parent'],
  products: ['identifier', 'name', 'description', 'price', 'priceIncludesVat', 'tax', 'discount', 'costPrice', 'attribute', 'custom'],
  commodities: ['identifier', 'product', 'category'],
  stock: ['product', 'quantity', 'tracked', 'setAt'],
};

export interface ArticlesDeps {
  catalog: Catalog;
  ledger: SalesLedger;
  /** Bridge mode: upstream owns the articles; local writes are refused. */
  assertWritable: () => void;
}

/** srv4pos use cases 1 and 2 (taxes, categories, products, commodities) plus discounts and stock levels. */
export function articlesRouter({ catalog, ledger, assertWritable }: ArticlesDeps): Router {
  const router = Router();

  router.get('/version', (_req, res) => {
    res.set('ETag', `"${catalog.version}"`).json({ version: catalog.version });
  });

  for (const [collection, schema] of COLLECTIONS) {
    router.get(`/${collection}`, (req, res) => {
      const asCsv = wantsCsv(req);
      const { firstResult, maxResults } = listRange(req, asCsv);
      if (notModified(req, res, catalog.version)) return;
      const page = catalog.list(collection, firstResult, maxResults);
      if (asCsv) sendCsv(res, objectsToCsv(page.items, CSV_COLUMNS[collection]), `${collection}.csv`);
      else res.json(page);
    });
    router.get(`/${collection}/:id`, (req, res) => {
      const item = catalog.get(collection, req.params.id);
      if (notModified(req, res, catalog.version)) return;
      res.json(item);
    });
    router.post(`/${collection}`, async (req, res) => {
      assertWritable();
      const item = await catalog.create(collection, validateBody<Record<string, unknown>>(schema, req.body) as never, ifMatch(req));
      res
        .status(201)
        .set('ETag', `"${catalog.version}"`)
        .location(`${req.baseUrl}/${collection}/${encodeURIComponent(item.identifier)}`)
        .json(item);
    });
    router.put(`/${collection}/:id`, async (req, res) => {
      assertWritable();
      const { item, created } = await catalog.replace(
        collection,
        req.params.id,
        validateBody<Record<string, unknown>>(schema, req.body) as never,
        ifMatch(req),
      );
      res
        .status(created ? 201 : 200)
        .set('ETag', `"${catalog.version}"`)
        .json(item);
    });
    router.delete(`/${collection}/:id`, async (req, res) => {
      assertWritable();
      await catalog.remove(collection, req.params.id, ifMatch(req));
      res.status(204).set('ETag', `"${catalog.version}"`).end();
    });
  }

  router.get('/stock', (req, res) => {
    const asCsv = wantsCsv(req);
    const { firstResult, maxResults } = listRange(req, asCsv);
    const page = catalog.listStock(firstResult, maxResults);
    if (asCsv) sendCsv(res, objectsToCsv(page.items, CSV_COLUMNS.stock), 'stock.csv');
    else res.json(page);
  });
  router.get('/stock/:product', (req, res) => {
    res.json(catalog.stockOf(req.params.product));
  });
  router.put('/stock/:product', async (req, res) => {
    assertWritable();
    const body = validateBody<{ product?: string; quantity: number }>('stock-set', req.body);
    if (body.product !== undefined && body.product !== req.params.product) {
      throw new AppError('url_and_body_identifiers_mismatch', `product in the URL (${req.params.product}) differs from the body's (${body.product})`);
    }
    const view = await catalog.setStock(req.params.product, body.quantity, ledger.salesSeq, ifMatch(req));
    res.set('ETag', `"${catalog.version}"`).json(view);
  });
  router.post('/stock/:product/adjustments', async (req, res) => {
    assertWritable();
    const body = validateBody<{ delta: number; reason?: string }>('stock-adjustment', req.body);
    const view = await catalog.adjustStock(req.params.product, body.delta, body.reason ?? '', ledger.salesSeq, ifMatch(req));
    res.status(201).set('ETag', `"${catalog.version}"`).json(view);
  });

  router.get('/modifications', async (req, res) => {
    const from = optionalInt(req, 'from', 0);
    const to = req.query.to === 'latest' ? Infinity : optionalInt(req, 'to', Number.MAX_SAFE_INTEGER);
    if (to < from) throw new AppError('bad_request', 'to must not be below from', [{ field: 'to', message: 'below from' }]);
    const max = paging(req).maxResults;
    // Only what is durable is served, and `to` never runs past it: a consumer that continues from
    // the answer's `to` cannot skip a change made after this read.
    const latest = await catalog.durableVersion();
    const page = catalog.modificationsBetween(from, Math.min(to, latest), max);
    res.json({ from, to: Math.max(from, page.to), latest, items: page.items.map(({ at: _at, ...m }) => m) });
  });

  return router;
}
