import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LowdbStore } from '../../src/store/lowdb-store.js';
import { loadMigrations, migrate } from '../../src/store/postgres/migrate.js';
import { jsonbText } from '../../src/store/postgres/sql-values.js';
import type { ArticlesData, Modification, SaleRecord } from '../../src/store/records.js';
import { adminAuth, device2Auth, deviceAuth, invoice, testGateways, type TestGateway } from '../helpers.js';
import { MISSING_POSTGRES, PG_BIN, skipPostgres, startPostgres, type PgCluster, queryRows } from '../postgres.js';

let cluster: PgCluster;
const gateways = testGateways();
const RELATIONAL = loadMigrations().find((m) => m.name === 'relational_sales_articles')!.version;

const burger = (id: number, extra: Record<string, unknown> = {}) =>
  invoice(
    id,
    [
      { productId: '18', qty: 1, total: 3.19 },
      { productId: '24', qty: 0.5, total: '1.10' },
    ],
    extra,
  );

/** Articles, stock, sales on two registers with several payment methods, a refund and a receipt: through the API of `g`. */
async function fill(g: TestGateway): Promise<void> {
  const admin = (path: string, method = 'GET', body?: unknown) => g.json(`/api${path}`, { method, body, auth: adminAuth });
  expect((await admin('/taxes/1', 'PUT', { name: 'Reduced', vat: 10 })).status).toBe(201);
  expect((await admin('/discounts/1', 'PUT', { name: 'Staff', percentage: 20 })).status).toBe(201);
  expect((await admin('/categories/food', 'PUT', { name: 'Food' })).status).toBe(201);
  for (const id of ['18', '24'])
    expect((await admin(`/products/${id}`, 'PUT', { name: `Product ${id}`, price: 3.19, costPrice: 1.25, tax: '1' })).status).toBe(201);
  expect((await admin('/commodities/c1', 'PUT', { product: '18', category: 'food' })).status).toBe(201);
  expect((await admin('/stock/18', 'PUT', { quantity: 50 })).status).toBeLessThan(300);
  expect((await admin('/stock/18/adjustments', 'POST', { delta: -2, reason: 'broken' })).status).toBeLessThan(300);
  const push = async (invoices: unknown[], auth = deviceAuth) =>
    expect((await g.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }), auth })).status).toBe(200);
  // checkoutType 0: cash, 1: credit_card, 99: a custom method (kept with its code).
  await push(Array.from({ length: 12 }, (_, i) => burger(202611230100000 + i, { checkoutType: String(i % 3 === 2 ? 99 : i % 3) })));
  await push([burger(202611230100003, { checkoutType: '0', checkoutStatus: '11' })]);
  await push(
    Array.from({ length: 5 }, (_, i) => burger(202611240200000 + i, { checkoutType: '1' })),
    device2Auth,
  );
}

/** What the API answers about articles, sales, payments and stats. */
async function answers(g: TestGateway) {
  const get = async (path: string) => (await g.json(`/api${path}`, { auth: adminAuth })).body;
  const byId = (list: { items: { identifier: string }[] }) => [...list.items].sort((a, b) => a.identifier.localeCompare(b.identifier));
  return {
    version: await get('/version'),
    feed: await get('/modifications?from=0&to=1000&maxResults=1000'),
    taxes: await get('/taxes'),
    discounts: await get('/discounts'),
    categories: await get('/categories'),
    products: await get('/products'),
    commodities: await get('/commodities'),
    stock: await get('/stock'),
    sales: byId(await get('/sales?maxResults=1000')),
    registrations: await get('/registrations/stats'),
    productStats: await get('/products/stats'),
  };
}

/** The statements the store used at schema version 6 (the articles as ONE document row, payments only inside the sale record). */
function schema6Statements(client: pg.Client) {
  return {
    articles: (doc: ArticlesData) =>
      client.query(
        `INSERT INTO articles (id, version, doc, saved_at) VALUES (true, ($1::json->>'version')::integer, $1::json, now())
      ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, doc = EXCLUDED.doc, saved_at = EXCLUDED.saved_at`,
        [JSON.stringify(doc)],
      ),
    modification: (m: Modification) =>
      client.query('INSERT INTO modifications (version, entity, identifier, op, at, modification) VALUES ($1, $2, $3, $4, $5, $6::json)', [
        m.version,
        m.entity,
        m.identifier,
        m.op,
        m.at,
        JSON.stringify(m),
      ]),
    async sale(r: SaleRecord) {
      const { sale } = r;
      const last = r.history[r.history.length - 1];
      await client.query(
        `INSERT INTO sales (identifier, cash_register, invoice_id, status, created_at, received_at, changed_at, seq, day_id, total, vat, discount, cost_price, invoice, record)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15::json)
        ON CONFLICT (identifier) DO UPDATE SET status = EXCLUDED.status, changed_at = EXCLUDED.changed_at, seq = EXCLUDED.seq, total = EXCLUDED.total, record = EXCLUDED.record`,
        [
          sale.identifier,
          sale.cashRegisterName,
          sale.source?.invoiceId ?? null,
          sale.status,
          sale.createdAt,
          r.history[0].at,
          last.at,
          last.seq,
          sale.dayId ?? last.dayId ?? null,
          sale.total,
          sale.vat,
          sale.discount,
          sale.costPrice,
          jsonbText(sale.source?.invoice),
          JSON.stringify(r),
        ],
      );
      await client.query('DELETE FROM sale_lines WHERE sale_identifier = $1', [sale.identifier]);
      for (const [i, l] of sale.lines.entries()) {
        await client.query(
          `INSERT INTO sale_lines (sale_identifier, position, line_no, product, name, quantity, subtotal, discount, vat, total, cost_price)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [sale.identifier, i + 1, l.lineNo, l.product, l.name, l.quantity, l.subtotal, l.discount, l.vat, l.total, l.costPrice],
        );
      }
    },
  };
}

/** What a lowdb data dir holds: articles, change feed, sale records. */
async function readDataDir(dataDir: string) {
  const source = new LowdbStore(dataDir);
  const records: SaleRecord[] = [];
  const feed: Modification[] = [];
  await source.open({ onSale: (r) => records.push(r), onQuarantine: () => undefined, onModification: (m) => feed.push(m) });
  const articles = structuredClone(source.articles);
  await source.close();
  return { articles, records, feed };
}

/** A database at schema version 6 holding the data of a lowdb data dir, written as a gateway of that version wrote it. */
async function writeSchema6(url: string, dataDir: string, edit: (records: SaleRecord[]) => void = () => undefined): Promise<void> {
  const { articles, records, feed } = await readDataDir(dataDir);
  edit(records);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await migrate(client, { migrations: loadMigrations().filter((m) => m.version < RELATIONAL) });
    const old = schema6Statements(client);
    await client.query('BEGIN');
    await old.articles(articles);
    for (const m of feed) await old.modification(m);
    for (const r of records) await old.sale(r);
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
}

describe.skipIf(skipPostgres)('the relational PostgreSQL schema (version 7)', { timeout: 90_000 }, () => {
  beforeAll(async () => {
    if (!PG_BIN) throw new Error(MISSING_POSTGRES);
    cluster = await startPostgres();
  }, 60_000);
  afterEach(async () => {
    await gateways.cleanup();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('migrates a database at version 6: every article, sale and payment kept, the API answers the same', async () => {
    const lowdb = await gateways.start({});
    await fill(lowdb);
    const expected = await answers(lowdb);
    await gateways.stop(lowdb);
    // One record with what PostgreSQL cannot navigate in json (a NUL, a lone surrogate): the record stays exact, its SQL copies get U+FFFD.
    const odd = 'TAB-1:202611230100005';
    const url = await cluster.createDatabase();
    await writeSchema6(url, lowdb.dataDir, (records) => {
      const r = records.find((x) => x.sale.identifier === odd)!;
      r.sale.customer.name = 'Zoë\u0000';
      r.sale.payments[0].code = '1\ud800';
    });
    const oddSale = expected.sales.find((s: { identifier: string }) => s.identifier === odd) as any;
    oddSale.customer.name = 'Zoë\u0000';
    oddSale.payments[0].code = '1\ud800';

    const onPg = await gateways.start({ store: { dataDir: './data', postgres: { url } } });
    expect(await queryRows(url, 'SELECT max(version) AS version FROM schema_migrations')).toEqual([{ version: loadMigrations().at(-1)!.version }]);
    expect(await answers(onPg)).toEqual(expected);

    // Payments are rows now, one per payment of every sale, in their sale's order.
    const payments = await queryRows<{ n: string; total: string }>(url, 'SELECT count(*)::text AS n, sum(amount)::text AS total FROM sale_payments');
    const all = expected.sales.flatMap((s) => (s as any).payments as { amount: number }[]);
    expect(payments).toEqual([{ n: String(all.length), total: '72.93' }]);
    expect(all.length).toBe(17);
    expect(await queryRows(url, 'SELECT method, code, amount::text FROM sale_payments WHERE sale_identifier = $1', [odd])).toEqual([
      { method: 'custom', code: '1\ufffd', amount: '4.29' },
    ]);
    // The articles document became one row per article and stock level, with typed columns beside the exact json.
    expect(
      await queryRows(
        url,
        'SELECT entity, identifier, version, name, price::text, cost_price::text, rate::text, tax, product, category FROM article_rows ORDER BY entity, identifier',
      ),
    ).toEqual([
      { entity: 'category', identifier: 'food', version: 3, name: 'Food', price: null, cost_price: null, rate: null, tax: null, product: null, category: null },
      { entity: 'commodity', identifier: 'c1', version: 6, name: null, price: null, cost_price: null, rate: null, tax: null, product: '18', category: 'food' },
      { entity: 'discount', identifier: '1', version: 2, name: 'Staff', price: null, cost_price: null, rate: '20', tax: null, product: null, category: null },
      {
        entity: 'product',
        identifier: '18',
        version: 4,
        name: 'Product 18',
        price: '3.19',
        cost_price: '1.25',
        rate: null,
        tax: '1',
        product: null,
        category: null,
      },
      {
        entity: 'product',
        identifier: '24',
        version: 5,
        name: 'Product 24',
        price: '3.19',
        cost_price: '1.25',
        rate: null,
        tax: '1',
        product: null,
        category: null,
      },
      { entity: 'stock', identifier: '18', version: 8, name: null, price: null, cost_price: null, rate: null, tax: null, product: '18', category: null },
      { entity: 'tax', identifier: '1', version: 1, name: 'Reduced', price: null, cost_price: null, rate: '10', tax: null, product: null, category: null },
    ]);
    expect(await queryRows(url, 'SELECT version FROM articles_state')).toEqual([{ version: 8 }]);
    expect(await queryRows(url, 'SELECT last_value::int AS v FROM article_versions')).toEqual([{ v: 8 }]);
    expect(await queryRows(url, 'SELECT identifier, price::text FROM products ORDER BY identifier')).toEqual([
      { identifier: '18', price: '3.19' },
      { identifier: '24', price: '3.19' },
    ]);

    // And after a restart on the migrated database, still the same.
    await gateways.stop(onPg);
    const again = await gateways.start({ store: { dataDir: './data', postgres: { url } } }, onPg.dir);
    expect(await answers(again)).toEqual(expected);
  });

  it('a gateway of version 6 still running during the upgrade keeps writing, in the new shape (triggers)', async () => {
    const lowdb = await gateways.start({});
    await fill(lowdb);
    await gateways.stop(lowdb);
    const url = await cluster.createDatabase();
    await writeSchema6(url, lowdb.dataDir);
    const { articles, records } = await readDataDir(lowdb.dataDir);
    // A new process migrates the database at its start, while the old one still leads it.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await migrate(client);
      // The old leader's next round: an article renamed, one added, one deleted; a new sale paid by card.
      const old = schema6Statements(client);
      const v = articles.version;
      const at = '2026-11-25T10:00:00.000Z';
      articles.products['24'] = { ...articles.products['24'], name: 'Fries' };
      articles.products['31'] = { identifier: '31', name: 'Shake', price: 2.5 };
      delete articles.commodities.c1;
      articles.version = v + 3;
      const sale = structuredClone(records.find((r) => r.sale.identifier === 'TAB-1:202611230100000')!);
      sale.sale.identifier = 'TAB-1:202611230199999';
      sale.sale.source!.invoiceId = '202611230199999';
      sale.sale.payments = [
        { method: 'credit_card', code: '1', amount: 4.29 },
        { method: 'cash', code: '0', amount: 0 },
      ];
      sale.history = [{ ...sale.history[0], seq: 1000 }];
      await client.query('BEGIN');
      await old.sale(sale);
      await old.articles(articles);
      await old.modification({ version: v + 1, entity: 'product', identifier: '24', op: 'update', data: articles.products['24'], at });
      await old.modification({ version: v + 2, entity: 'product', identifier: '31', op: 'create', data: articles.products['31'], at });
      await old.modification({ version: v + 3, entity: 'commodity', identifier: 'c1', op: 'delete', data: null, at });
      await client.query('COMMIT');
    } finally {
      await client.end();
    }
    expect(await queryRows(url, 'SELECT count(*)::int AS n FROM articles')).toEqual([{ n: 0 }]);
    expect(await queryRows(url, `SELECT entity, identifier, version, name FROM article_rows WHERE entity IN ('product', 'commodity') ORDER BY 1, 2`)).toEqual([
      { entity: 'product', identifier: '18', version: 4, name: 'Product 18' },
      { entity: 'product', identifier: '24', version: 11, name: 'Fries' },
      { entity: 'product', identifier: '31', version: 11, name: 'Shake' },
    ]);
    expect(await queryRows(url, 'SELECT version FROM articles_state')).toEqual([{ version: 11 }]);
    expect(await queryRows(url, `SELECT method, amount::text FROM sale_payments WHERE sale_identifier = 'TAB-1:202611230199999' ORDER BY position`)).toEqual([
      { method: 'credit_card', amount: '4.29' },
      { method: 'cash', amount: '0' },
    ]);

    // The new version takes over: it answers what the old one wrote.
    const g = await gateways.start({ store: { dataDir: './data', postgres: { url } } });
    const get = async (path: string) => (await g.json(`/api${path}`, { auth: adminAuth })).body;
    expect(await get('/version')).toEqual({ version: 11 });
    expect(await get('/products/24')).toMatchObject({ name: 'Fries' });
    expect(await get('/products/31')).toMatchObject({ name: 'Shake' });
    expect((await get('/commodities')).total).toBe(0);
    expect((await get('/sales/TAB-1:202611230199999')).payments).toEqual([
      { method: 'credit_card', code: '1', amount: 4.29 },
      { method: 'cash', code: '0', amount: 0 },
    ]);
    // Its own sale writes carry their payments.
    expect(
      (await g.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: [burger(202611260100001, { checkoutType: '1' })] }), auth: deviceAuth }))
        .status,
    ).toBe(200);
    expect(await queryRows(url, `SELECT method, amount::text FROM sale_payments WHERE sale_identifier = 'TAB-1:202611260100001'`)).toEqual([
      { method: 'credit_card', amount: '4.29' },
    ]);
  });

  it('writes payments with their sale, and SQL over sales and payments gives the figures of the stats', async () => {
    const url = await cluster.createDatabase();
    const g = await gateways.start({ store: { dataDir: './data', postgres: { url } } });
    await fill(g);
    const byMethod = await queryRows<{ method: string; code: string; n: number; amount: string }>(
      url,
      `
      SELECT p.method, p.code, count(*)::int AS n, sum(p.amount)::text AS amount
        FROM sale_payments p JOIN sales s ON s.identifier = p.sale_identifier
       WHERE s.status = 'completed' AND s.cash_register = 'TAB-1'
       GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    // 12 sales on TAB-1, one of them (a cash sale) refunded.
    expect(byMethod).toEqual([
      { method: 'cash', code: '0', n: 3, amount: '12.87' },
      { method: 'credit_card', code: '1', n: 4, amount: '17.16' },
      { method: 'custom', code: '99', n: 4, amount: '17.16' },
    ]);
    const [tab1] = (await g.json('/api/registrations/stats?cashRegisterName=TAB-1', { auth: adminAuth })).body.items;
    expect(tab1.payments).toEqual({ cash: 12.87, credit_card: 17.16, custom: 17.16 });
    // A sale's change replaces its payments (a refund keeps them, and flips the status the reports filter by).
    expect(
      await queryRows(
        url,
        `SELECT s.status, p.method, p.amount::text FROM sales s JOIN sale_payments p ON p.sale_identifier = s.identifier WHERE s.identifier = 'TAB-1:202611230100003'`,
      ),
    ).toEqual([{ status: 'refunded', method: 'cash', amount: '4.29' }]);
    // docs/postgres.md's example: products with their tax rate.
    expect(
      await queryRows(
        url,
        `SELECT p.identifier, p.name, p.price::text, t.rate::text AS vat
      FROM article_rows p LEFT JOIN article_rows t ON t.entity = 'tax' AND t.identifier = p.tax WHERE p.entity = 'product' ORDER BY 1`,
      ),
    ).toEqual([
      { identifier: '18', name: 'Product 18', price: '3.19', vat: '10' },
      { identifier: '24', name: 'Product 24', price: '3.19', vat: '10' },
    ]);
    // The indexes reports and stats filter by.
    const indexes = (
      await queryRows<{ indexname: string }>(url, `SELECT indexname FROM pg_indexes WHERE tablename IN ('sales', 'sale_payments') ORDER BY 1`)
    ).map((r) => r.indexname);
    expect(indexes).toEqual(
      expect.arrayContaining([
        'sales_day',
        'sales_day_status',
        'sales_register_created_at',
        'sales_seq',
        'sales_status_created_at',
        'sale_payments_method',
        'sale_payments_pkey',
      ]),
    );
  });

  it('an article change writes only its own rows, with the version of its change', async () => {
    const url = await cluster.createDatabase();
    const start = (dir?: string) => gateways.start({ store: { dataDir: './data', postgres: { url } } }, dir);
    const g = await start();
    const admin = (path: string, method = 'GET', body?: unknown) => g.json(`/api${path}`, { method, body, auth: adminAuth });
    expect((await admin('/taxes/1', 'PUT', { name: 'Reduced', vat: 10 })).status).toBe(201);
    for (let i = 1; i <= 40; i++) expect((await admin(`/products/${i}`, 'PUT', { name: `P${i}`, price: i, tax: '1' })).status).toBe(201);
    for (const id of ['1', '2']) expect((await admin(`/stock/${id}`, 'PUT', { quantity: 10 })).status).toBeLessThan(300);
    // xmin: the transaction that last wrote a row.
    const rows = async () =>
      new Map(
        (
          await queryRows<{ key: string; xmin: string; version: number }>(
            url,
            "SELECT entity || '/' || identifier AS key, xmin::text, version FROM article_rows",
          )
        ).map((r) => [r.key, r]),
      );
    const changedSince = (before: Map<string, { xmin: string }>, after: Map<string, { xmin: string }>) =>
      [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k)?.xmin !== after.get(k)?.xmin).sort();
    const version = async () => (await admin('/version')).body.version as number;

    let before = await rows();
    expect(before.size).toBe(43);
    expect((await admin('/products/7', 'PUT', { name: 'Seven', price: 7.5, tax: '1' })).status).toBe(200);
    let after = await rows();
    expect(changedSince(before, after)).toEqual(['product/7']);
    expect(after.get('product/7')!.version).toBe(await version());
    expect(await queryRows(url, 'SELECT name, price::text FROM article_rows WHERE entity = $1 AND identifier = $2', ['product', '7'])).toEqual([
      { name: 'Seven', price: '7.5' },
    ]);

    // A stock adjustment changes its level in place: its row is written all the same.
    before = after;
    expect((await admin('/stock/2/adjustments', 'POST', { delta: 3, reason: 'found' })).status).toBeLessThan(300);
    after = await rows();
    expect(changedSince(before, after)).toEqual(['stock/2']);

    // Deleting a tracked product deletes its row and its stock level's.
    before = after;
    expect((await admin('/products/1', 'DELETE')).status).toBe(204);
    after = await rows();
    expect(changedSince(before, after)).toEqual(['product/1', 'stock/1']);
    expect(after.has('product/1')).toBe(false);
    expect(await queryRows(url, 'SELECT version FROM articles_state')).toEqual([{ version: await version() }]);
    expect(await queryRows(url, 'SELECT last_value::int AS v FROM article_versions')).toEqual([{ v: await version() }]);
    // The change feed: a table ordered by version, one entry per change.
    const feed = await queryRows<{ version: number }>(url, 'SELECT version FROM modifications ORDER BY version');
    expect(feed.map((r) => r.version)).toEqual(Array.from({ length: await version() }, (_, i) => i + 1));

    // A restart loads the rows back: the same articles, the same answers.
    const products = (await admin('/products?maxResults=100')).body;
    const stock = (await admin('/stock?maxResults=100')).body;
    await gateways.stop(g);
    const h = await start(g.dir);
    expect((await h.json('/api/products?maxResults=100', { auth: adminAuth })).body).toEqual(products);
    expect((await h.json('/api/stock?maxResults=100', { auth: adminAuth })).body).toEqual(stock);
    expect((await h.json('/api/stock/2', { auth: adminAuth })).body).toMatchObject({ quantity: 13 });
  });
});
