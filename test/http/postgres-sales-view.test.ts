import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, adminAuth, device2Auth, deviceAuth, invoice, testGateways, type TestGateway } from '../helpers.js';
import { queryRows, skipPostgres } from '../postgres.js';
import { usePostgresCluster } from '../postgres-suite.js';

const gateways = testGateways();
const gateway = (url: string, dir?: string) => gateways.start({ store: { dataDir: './data', postgres: { url } } }, dir);

const push = async (g: TestGateway, invoices: unknown[], auth = deviceAuth) => {
  const res = await g.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }), auth, headers: { accept: 'application/json' } });
  return (await res.json()) as { created: number; updated: number; unchanged: number; quarantined: number };
};
const burger = (id: number, extra: Record<string, unknown> = {}) => invoice(id, [{ productId: '18', qty: 1, total: 3.19 }], extra);
const ids = (body: { items: { identifier: string }[] }) => body.items.map((s) => s.identifier);

/**
 * On PostgreSQL the sale index, the change feed and the quarantine summaries are SQL: a gateway
 * answers about sales its start-up never visited (written by another gateway, or by hand behind
 * its back) exactly as about its own.
 */
describe.skipIf(skipPostgres)('the sales view on PostgreSQL', { timeout: 60_000 }, () => {
  const db = usePostgresCluster();
  afterEach(() => gateways.cleanup());

  it('serves tabshop_sales_stored from the sales_count row, moved in the transaction of every insert and delete, in any schema', async () => {
    const url = await db.cluster.createDatabase();
    for (const schema of ['public', 'shop_b']) {
      const g = await gateways.start({ store: { dataDir: './data', postgres: { url, schema } } });
      const count = async () =>
        (
          await queryRows<{ n: string; rows: string }>(url, `SELECT n::text, (SELECT count(*) FROM ${schema}.sales)::text AS rows FROM ${schema}.sales_count`)
        )[0];
      const stored = async () => Number(/^tabshop_sales_stored (\d+)$/m.exec(await (await g.fetch('/metrics', { auth: null })).text())?.[1]);
      expect(await push(g, [burger(202611230900001), burger(202611230900002)])).toMatchObject({ created: 2 });
      // Re-pushed, changed, unchanged: upserts of rows that exist count nothing.
      expect(await push(g, [burger(202611230900001), burger(202611230900002, { checkoutStatus: '11' }), burger(202611230900003)])).toMatchObject({
        created: 1,
        updated: 1,
        unchanged: 1,
      });
      expect(await count()).toEqual({ n: '3', rows: '3' });
      expect(await stored()).toBe(3);
      // The figure is the row's, not a count of the table (a scrape costs one row read whatever the history).
      await queryRows(url, `UPDATE ${schema}.sales_count SET n = 1000`);
      expect(await stored()).toBe(1000);
      await queryRows(url, `UPDATE ${schema}.sales_count SET n = 3`);
      await queryRows(url, `DELETE FROM ${schema}.sales WHERE identifier = 'TAB-1:202611230900003'`);
      expect(await count()).toEqual({ n: '2', rows: '2' });
      expect(await stored()).toBe(2);
      await gateways.stop(g);
    }
  });

  it('lists, pages, feeds, looks up and quarantines from SQL, including sales and items written behind its back', async () => {
    const url = await db.cluster.createDatabase();
    const a = await gateway(url);
    expect(await push(a, [burger(202611230700001), burger(202611230700002), { id: 'x', date: 'nope' }])).toMatchObject({ created: 2, quarantined: 1 });
    expect(await push(a, [burger(202611230700003)], device2Auth)).toMatchObject({ created: 1 });
    expect(await push(a, [burger(202611230700001, { checkoutStatus: '11' })])).toMatchObject({ updated: 1 });
    await gateways.stop(a);

    const b = await gateway(url, a.dir);
    const api = async (path: string) => (await b.json(`/api${path}`, { auth: adminAuth })).body;
    // Listing: first-stored order, filters, pages with the total.
    expect(ids(await api('/sales?maxResults=100'))).toEqual(['TAB-1:202611230700001', 'TAB-1:202611230700002', 'TAB-2:202611230700003']);
    expect(await api('/sales?firstResult=1&maxResults=1')).toMatchObject({ total: 3, items: [{ identifier: 'TAB-1:202611230700002' }] });
    expect(ids(await api('/sales?cashRegisterName=TAB-2'))).toEqual(['TAB-2:202611230700003']);
    expect(ids(await api('/sales?status=refunded'))).toEqual(['TAB-1:202611230700001']);
    // The feed: each sale once, at its latest seq.
    const feed = await api('/sales-diff/0/latest');
    expect(feed.items.map((i: { identifier: string; seq: number; op: string }) => [i.identifier, i.seq, i.op])).toEqual([
      ['TAB-1:202611230700002', 2, 'create'],
      ['TAB-2:202611230700003', 3, 'create'],
      ['TAB-1:202611230700001', 4, 'create'],
    ]);
    expect(feed.latest).toBe(4);
    expect((await api('/sales-diff/2/latest')).items.map((i: { identifier: string }) => i.identifier)).toEqual([
      'TAB-2:202611230700003',
      'TAB-1:202611230700001',
    ]);
    // The upsert's lookups: unchanged, and a collision (same invoice id, other positions) quarantined.
    expect(await push(b, [burger(202611230700002), burger(202611230700001, { checkoutStatus: '11' })])).toMatchObject({ unchanged: 2, created: 0 });
    const collision = invoice(202611230700002, [{ productId: '24', qty: 2, total: 5 }]);
    expect(await push(b, [collision])).toMatchObject({ quarantined: 1, created: 0, updated: 0 });
    const quarantine = await api('/quarantine');
    expect(quarantine.total).toBe(2);
    expect(quarantine.items.map((q: { code: string }) => q.code).sort()).toEqual(['collision', 'invalid_invoice']);
    // The sequence continues from the highest stored (read with SQL at open).
    expect(await push(b, [burger(202611230700005)])).toMatchObject({ created: 1 });
    expect((await api('/sales-diff/4/latest')).items).toMatchObject([{ identifier: 'TAB-1:202611230700005', seq: 5, op: 'create' }]);
    expect(await api('/sales/stats')).toMatchObject({ items: expect.arrayContaining([expect.objectContaining({ identifier: 'TAB-1:202611230700005' })]) });

    // Written behind the gateway's back: nothing about them can come from its start-up.
    await queryRows(
      url,
      `INSERT INTO sales (identifier, cash_register, invoice_id, status, created_at, received_at, changed_at, seq, first_seq, day_id, total, vat, discount, cost_price, invoice, record)
       SELECT 'TAB-1:202611230700009', cash_register, '202611230700009', status, created_at, received_at, changed_at, 1000, 1000, day_id, total, vat, discount, cost_price, invoice,
              jsonb_set(jsonb_set(jsonb_set(record::jsonb, '{sale,identifier}', '"TAB-1:202611230700009"'), '{sale,source,invoiceId}', '"202611230700009"'),
                        '{history}', jsonb_build_array(jsonb_set((record::jsonb) -> 'history' -> 0, '{seq}', '1000')))::json
         FROM sales WHERE identifier = 'TAB-1:202611230700002'`,
    );
    await queryRows(
      url,
      `INSERT INTO quarantine (id, at, code, cash_register, reason, state, count, item)
       VALUES ('q-by-hand', '2026-11-23T12:00:00Z', 'invalid_invoice', 'TAB-1', 'by hand', 'dismissed', 1,
               '{"id":"q-by-hand","at":"2026-11-23T12:00:00.000Z","code":"invalid_invoice","reason":"by hand","state":"dismissed","cashRegisterName":"TAB-1","payload":{}}')`,
    );
    expect(await api('/sales?maxResults=100')).toMatchObject({ total: 5 });
    expect(ids(await api('/sales?maxResults=100')).at(-1)).toBe('TAB-1:202611230700009');
    expect(await api('/sales/TAB-1:202611230700009')).toMatchObject({ identifier: 'TAB-1:202611230700009' });
    // (The feed serves up to this process's own sequence, the leader's: a seq written by hand is beyond it.)
    // Its identifier is taken: a push of that invoice id is compared with it, not created.
    expect(await push(b, [invoice(202611230700009, [{ productId: '24', qty: 2, total: 5 }])])).toMatchObject({ created: 0, quarantined: 1 });
    expect((await api('/quarantine?state=dismissed')).items.map((q: { id: string }) => q.id)).toEqual(['q-by-hand']);
    expect((await api('/quarantine?state=all')).total).toBe(4);
    // A writer of a previous version does not write first_seq: the trigger of migration 0010 takes it from the record.
    await queryRows(
      url,
      `INSERT INTO sales (identifier, cash_register, invoice_id, status, created_at, received_at, changed_at, seq, day_id, total, vat, discount, cost_price, invoice, record)
       SELECT 'TAB-2:202611230700008', cash_register, '202611230700008', status, created_at, received_at, changed_at, 1001, day_id, total, vat, discount, cost_price, invoice,
              jsonb_set(jsonb_set(record::jsonb, '{sale,identifier}', '"TAB-2:202611230700008"'), '{history}', jsonb_build_array(jsonb_set((record::jsonb) -> 'history' -> 0, '{seq}', '3.0')))::json
         FROM sales WHERE identifier = 'TAB-2:202611230700003'`,
    );
    expect(await queryRows(url, `SELECT first_seq::int AS first_seq FROM sales WHERE identifier = 'TAB-2:202611230700008'`)).toEqual([{ first_seq: 3 }]);
    expect(ids(await api('/sales?cashRegisterName=TAB-2'))).toEqual(['TAB-2:202611230700003', 'TAB-2:202611230700008']);
    await queryRows(url, `DELETE FROM sales WHERE identifier = 'TAB-2:202611230700008'`);
    const metrics = await (await b.fetch('/metrics', { auth: null })).text();
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect([gauge('tabshop_sales_stored'), gauge('tabshop_quarantine_items'), gauge('tabshop_quarantine_open')]).toEqual([5, 4, 3]);

    // The back office's pages ask the same view: newest first, counts, the open quarantine.
    const signIn = await b.fetch('/admin/sign-in', {
      method: 'POST',
      auth: null,
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: ADMIN.username, password: ADMIN.password, next: 'sales' }).toString(),
    });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0];
    const admin = async (path: string) => (await b.fetch(`/admin/${path}`, { auth: null, headers: { cookie } })).text();
    const salesPage = await admin('sales');
    expect([...salesPage.matchAll(/data-sale="([^"]+)"/g)].map((m) => m[1])).toEqual([
      'TAB-1:202611230700009',
      'TAB-1:202611230700005',
      'TAB-2:202611230700003',
      'TAB-1:202611230700002',
      'TAB-1:202611230700001',
    ]);
    expect(salesPage).toContain('5 sale(s)');
    expect([...(await admin('sales?register=TAB-2')).matchAll(/data-sale="([^"]+)"/g)].map((m) => m[1])).toEqual(['TAB-2:202611230700003']);
    expect((await admin('quarantine')).match(/data-quarantine="/g)).toHaveLength(3);
    expect(await admin('')).toMatch(/data-field="quarantine">3</);
    // Today's sales (each register's open day), by SQL: the four not reversed, and the refund.
    const dashboard = await admin('');
    expect(dashboard).toMatch(/data-field="sales-today">4</);
    expect(dashboard).toMatch(/data-field="refunds">1</);
  });
});
