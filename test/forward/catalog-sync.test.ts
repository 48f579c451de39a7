import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CatalogSync, sanitiseArticle } from '../../src/forward/catalog-sync.js';
import { TabShopViews } from '../../src/tabshop/views.js';
import { invoice } from '../helpers.js';
import { eventually, openParts, UPSTREAM, type Parts } from './harness.js';

let dir = '';
const open: { parts: Parts; sync: CatalogSync }[] = [];
beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterAll(() => nock.enableNetConnect());
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsg-sync-'));
});
afterEach(async () => {
  for (const { parts, sync } of open.splice(0)) {
    await sync.stop();
    await parts.close().catch(() => undefined);
  }
  nock.cleanAll();
  await rm(dir, { recursive: true, force: true });
});

async function setup() {
  const parts = await openParts(join(dir, 'data'));
  const sync = new CatalogSync({
    client: parts.client!,
    catalog: parts.catalog,
    ledger: parts.ledger,
    store: parts.store,
    logger: parts.logger,
    now: () => new Date(),
    pollIntervalMs: 60_000,
    unacknowledged: () => parts.outbox.saleItemsOf('upstream'),
  });
  open.push({ parts, sync });
  return { parts, sync, views: new TabShopViews(parts.catalog) };
}

const list = (items: unknown[]) => ({ items, total: items.length });
const tablets = (views: TabShopViews) => JSON.parse(views.stockBody().body.toString()).products;

/** Upstream's whole catalogue, as a srv4pos-style server without /modifications answers it. */
function fullCatalogue(
  scope: nock.Scope,
  c: { taxes?: unknown[]; discounts?: unknown[] | null; categories?: unknown[]; products?: unknown; commodities?: unknown[]; stock?: unknown[] | null },
) {
  scope
    .get('/api/taxes')
    .query({ firstResult: '0', maxResults: '1000' })
    .reply(200, list(c.taxes ?? []));
  if (c.discounts === null || c.discounts === undefined)
    scope
      .get('/api/discounts')
      .query(true)
      .reply(404, { error: { code: 'not_found', message: 'no route' } });
  else scope.get('/api/discounts').query(true).reply(200, list(c.discounts));
  scope
    .get('/api/categories')
    .query(true)
    .reply(200, list(c.categories ?? []));
  scope
    .get('/api/products')
    .query({ firstResult: '0', maxResults: '1000' })
    .reply(200, c.products ?? list([]));
  // A plain array has no total: the client reads on until an empty page.
  if (Array.isArray(c.products))
    scope
      .get('/api/products')
      .query({ firstResult: String(c.products.length), maxResults: '1000' })
      .reply(200, []);
  scope
    .get('/api/commodities')
    .query(true)
    .reply(200, list(c.commodities ?? []));
  if (c.stock === null || c.stock === undefined) scope.get('/api/stock').query(true).reply(404, {});
  else scope.get('/api/stock').query(true).reply(200, list(c.stock));
  return scope;
}

describe('catalogue from upstream', () => {
  it('without /modifications: full fetch, then only /version (and /stock) while nothing changed, then a full fetch again', async () => {
    const { sync, parts, views } = await setup();
    const first = fullCatalogue(nock(UPSTREAM).get('/api/version').reply(200, { version: 3 }), {
      taxes: [{ identifier: '1', name: 'VAT', vat: 10, createdBy: 'ignored' }],
      categories: [
        { identifier: 'coffee', name: 'Coffee', parent: 'drinks' },
        { identifier: 'drinks', name: 'Drinks' },
      ],
      products: [{ identifier: 72, name: 'Latte', price: 3.5, tax: 1 }], // a plain array, numeric ids: accepted
      commodities: [{ identifier: '72.coffee', product: '72', category: 'coffee' }],
    });
    expect(await sync.syncOnce()).toMatchObject({ mode: 'full', version: 3, changes: 5, stock: 'not offered', skipped: 0 });
    first.done();
    expect(tablets(views)).toEqual([
      {
        id: '72',
        category: '/Drinks/Coffee',
        title: 'Latte',
        price: 3.5,
        costprice: 0,
        discountid: 0,
        description: '',
        attribute: '4',
        stockqty: 999999,
        taxid: 1,
      },
    ]);
    expect(parts.catalog.get('taxes', '1')).toEqual({ identifier: '1', name: 'VAT', vat: 10 });
    expect(sync.cached).toBe(true);

    const quiet = nock(UPSTREAM).get('/api/version').reply(200, { version: 3 }).get('/api/stock').query(true).reply(404, {});
    expect(await sync.syncOnce()).toMatchObject({ mode: 'unchanged', changes: 0 });
    quiet.done();

    const changed = fullCatalogue(nock(UPSTREAM).get('/api/version').reply(200, { version: 4 }).get('/api/modifications').query(true).reply(404, {}), {
      taxes: [{ identifier: '1', name: 'VAT', vat: 10 }],
      categories: [{ identifier: 'drinks', name: 'Drinks' }],
      products: list([{ identifier: '72', name: 'Latte', price: 3.8, tax: '1' }]),
    });
    expect(await sync.syncOnce()).toMatchObject({ mode: 'full', version: 4, changes: 3 });
    changed.done();
    expect(tablets(views)).toEqual([expect.objectContaining({ id: '72', category: '/', price: 3.8 })]);
    expect(parts.catalog.find('categories', 'coffee')).toBeUndefined();

    // It learnt that upstream has no change feed: the next change is fetched in full straight away.
    const again = fullCatalogue(nock(UPSTREAM).get('/api/version').reply(200, { version: 5 }), {
      taxes: [{ identifier: '1', name: 'VAT', vat: 10 }],
      categories: [{ identifier: 'drinks', name: 'Drinks' }],
      products: list([{ identifier: '72', name: 'Latte', price: 3.9, tax: '1' }]),
    });
    expect(await sync.syncOnce()).toMatchObject({ mode: 'full', changes: 1 });
    again.done();
  });

  it('with /modifications: follows the change feed part by part, without fetching the lists', async () => {
    const { sync, parts, views } = await setup();
    fullCatalogue(nock(UPSTREAM).get('/api/version').reply(200, { version: 5 }), {
      taxes: [{ identifier: '1', name: 'VAT', vat: 10 }],
      discounts: [{ identifier: '2', name: 'Staff', percentage: 15 }],
      categories: [{ identifier: 'coffee', name: 'Coffee' }],
      products: list([{ identifier: '72', name: 'Latte', price: 3.5, tax: '1', discount: '2' }]),
      commodities: [{ identifier: '72.coffee', product: '72', category: 'coffee' }],
    });
    await sync.syncOnce();
    expect(tablets(views)[0]).toMatchObject({ category: '/Coffee', discountid: 2 });
    const feed = nock(UPSTREAM)
      .get('/api/version')
      .reply(200, { version: 8 })
      .get('/api/modifications')
      .query({ from: '5', to: '8', maxResults: '1000' })
      .reply(200, {
        from: 5,
        to: 7,
        latest: 8,
        items: [
          { entity: 'product', identifier: '72', op: 'update', version: 6, data: { identifier: '72', name: 'Latte XL', price: 4, tax: '1', discount: '2' } },
          { entity: 'stock', identifier: '72', op: 'update', version: 7, data: { product: '72', quantity: 3, tracked: true } },
        ],
      })
      .get('/api/modifications')
      .query({ from: '7', to: '8', maxResults: '1000' })
      .reply(200, {
        from: 7,
        to: 8,
        latest: 8,
        items: [{ entity: 'commodity', identifier: '72.coffee', op: 'delete', version: 8, data: null }],
      })
      .get('/api/stock')
      .query(true)
      .reply(200, list([{ product: '72', quantity: 3, tracked: true, setAt: null }]));
    expect(await sync.syncOnce()).toMatchObject({ mode: 'incremental', version: 8, changes: 2, stockChanges: 1, stock: 'offered' });
    feed.done();
    expect(tablets(views)).toEqual([expect.objectContaining({ id: '72', title: 'Latte XL', price: 4, category: '/', stockqty: 3, attribute: '0' })]);
    expect(parts.catalog.upstreamSync).toMatchObject({ baseUrl: `${UPSTREAM}/api`, version: 8 });
  });

  it("bridge stock: upstream's level less the local sales upstream has not acknowledged", async () => {
    const { sync, parts, views } = await setup();
    let acknowledge = false;
    nock(UPSTREAM)
      .persist()
      .post('/api/sales')
      .reply(() => (acknowledge ? [201, {}] : [503, {}]));
    const catalogue = {
      taxes: [{ identifier: '1', name: 'VAT', vat: 10 }],
      products: list([
        { identifier: '72', name: 'Latte', price: 3.5, tax: '1' },
        { identifier: 'v', name: 'Voucher', price: 10, attribute: 16 },
      ]),
    };
    fullCatalogue(nock(UPSTREAM).get('/api/version').reply(200, { version: 1 }), {
      ...catalogue,
      stock: [
        { product: '72', quantity: 10, tracked: true },
        { product: 'v', quantity: 5, tracked: true },
      ],
    });
    await sync.syncOnce();
    const qty = () => Object.fromEntries(tablets(views).map((p: { id: string; stockqty: number }) => [p.id, p.stockqty]));
    expect(qty()).toEqual({ 72: 10, v: 5 });

    await parts.push([
      invoice(1, [
        { productId: '72', qty: 2, total: 7 },
        { productId: 'v', qty: 1, total: 10 },
      ]),
    ]);
    expect(qty()).toEqual({ 72: 8, v: 5 });
    // Upstream has not seen the sale yet: its level is still 10, and the sale still counts.
    nock(UPSTREAM)
      .get('/api/version')
      .reply(200, { version: 1 })
      .get('/api/stock')
      .query(true)
      .reply(
        200,
        list([
          { product: '72', quantity: 10, tracked: true },
          { product: 'v', quantity: 5, tracked: true },
        ]),
      );
    await sync.syncOnce();
    expect(qty()).toEqual({ 72: 8, v: 5 });
    expect(parts.catalog.stockOf('72')).toMatchObject({ quantity: 8, tracked: true });

    acknowledge = true;
    await eventually(() => parts.outbox.itemsOf('upstream').length === 0, 'the sale acknowledged');
    nock(UPSTREAM)
      .get('/api/version')
      .reply(200, { version: 1 })
      .get('/api/stock')
      .query(true)
      .reply(200, list([{ product: '72', quantity: 8, tracked: true }]));
    await sync.syncOnce();
    expect(qty()).toEqual({ 72: 8, v: 999999 });
    await parts.push([
      invoice(
        1,
        [
          { productId: '72', qty: 2, total: 7 },
          { productId: 'v', qty: 1, total: 10 },
        ],
        { checkoutStatus: '11' },
      ),
    ]);
    expect(qty()).toMatchObject({ 72: 10 });
  });

  it('skips upstream articles that do not fit, keeps the rest', async () => {
    const { sync, parts } = await setup();
    fullCatalogue(nock(UPSTREAM).get('/api/version').reply(200, { version: 1 }), {
      taxes: [
        { identifier: '1', name: 'VAT', vat: 10 },
        { identifier: '12.5', name: 'Odd', vat: 12.5 },
      ],
      products: list([
        { identifier: '72', name: 'Latte', price: 3.5 },
        { identifier: '73', name: 'No price' },
      ]),
    });
    expect(await sync.syncOnce()).toMatchObject({ changes: 2, skipped: 2 });
    expect(parts.catalog.all('products').map((p) => p.identifier)).toEqual(['72']);
    expect(parts.logs.join('')).toContain('upstream articles skipped');
  });

  it('skips upstream prices beyond ±1e12 and serves a stock level beyond it as untracked', async () => {
    const { sync, parts, views } = await setup();
    fullCatalogue(nock(UPSTREAM).get('/api/version').reply(200, { version: 1 }), {
      products: list([
        { identifier: '72', name: 'Latte', price: 3.5 },
        { identifier: '73', name: 'Gold', price: 1e308 },
      ]),
      stock: [{ product: '72', quantity: 1e308, tracked: true }],
    });
    expect(await sync.syncOnce()).toMatchObject({ skipped: 1 });
    expect(parts.catalog.all('products').map((p) => p.identifier)).toEqual(['72']);
    expect(parts.catalog.stockOf('72')).toMatchObject({ tracked: false });
    expect(tablets(views)).toEqual([expect.objectContaining({ id: '72', stockqty: 999999 })]);
  });

  it('keeps the last good catalogue when upstream fails mid-way, and after a restart', async () => {
    const { sync } = await setup();
    fullCatalogue(nock(UPSTREAM).get('/api/version').reply(200, { version: 1 }), { products: list([{ identifier: '72', name: 'Latte', price: 3.5 }]) });
    await sync.syncOnce();
    nock(UPSTREAM)
      .get('/api/version')
      .reply(200, { version: 2 })
      .get('/api/modifications')
      .query(true)
      .reply(404, {})
      .get('/api/taxes')
      .query(true)
      .reply(200, list([]))
      .get('/api/discounts')
      .query(true)
      .reply(500, {});
    await expect(sync.syncOnce()).rejects.toMatchObject({ code: 'upstream_error' });
    const { parts: p } = open.pop()!;
    await sync.stop();
    await p.close();
    const { parts: reopened, sync: sync2, views } = await setup();
    expect(sync2.cached).toBe(true);
    expect(reopened.catalog.upstreamSync).toMatchObject({ version: 1 });
    expect(tablets(views).map((x: { id: string }) => x.id)).toEqual(['72']);
    await expect(sync2.syncOnce()).rejects.toMatchObject({ code: 'upstream_unavailable' });
    expect(tablets(views).map((x: { id: string }) => x.id)).toEqual(['72']);
  });

  it.each([
    [
      'products',
      { identifier: 72, name: 'A', price: 1, tax: 1, discount: null, colour: 'red' },
      { identifier: '72', name: 'A', price: 1, tax: '1', discount: null },
    ],
    ['categories', { identifier: 'c', name: 'C', parent: null }, { identifier: 'c', name: 'C', parent: null }],
    ['taxes', { identifier: '1', name: 'VAT', vat: 25 }, { identifier: '1', name: 'VAT', vat: 25 }],
  ] as const)('sanitises %s %j', (collection, raw, expected) => {
    expect(sanitiseArticle(collection, raw)).toEqual({ ok: true, item: expected });
  });

  it.each([
    ['taxes', { name: 'no id', vat: 1 }, /no identifier/],
    ['taxes', { identifier: 'x', name: 'VAT', vat: 1 }, /taxes x: \/identifier/],
    ['categories', { identifier: 'c', name: 'A/B' }, /\/name/],
    ['products', 'nope', /not an object/],
  ] as const)('refuses %s %j', (collection, raw, problem) => {
    const result = sanitiseArticle(collection, raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toMatch(problem);
  });
});
