import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KitchenListener } from '../../src/kitchen/listener.js';
import { copyLowdbToPostgres } from '../../src/store/postgres/copy-from-lowdb.js';
import { adminAuth, testGateways } from '../helpers.js';
import { MISSING_POSTGRES, PG_BIN, queryRows, skipPostgres, startPostgres, type PgCluster } from '../postgres.js';
import { eventReader, listenerFor, order, sendLikeTablet } from './tablet.js';

let cluster: PgCluster;
const gateways = testGateways();
const listeners: KitchenListener[] = [];

describe.skipIf(skipPostgres)('kitchen display on PostgreSQL', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    if (!PG_BIN) throw new Error(MISSING_POSTGRES);
    cluster = await startPostgres();
  }, 60_000);
  afterEach(async () => {
    for (const l of listeners.splice(0)) await l.close();
    await gateways.cleanup();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('an order a webhook refuses for good is a dead letter in the database, kept across a restart', async () => {
    const hook: Server = createServer((req, res) => req.resume().on('end', () => res.writeHead(410).end('gone')));
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const url = await cluster.createDatabase();
      const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/h`;
      const config = {
        store: { dataDir: './data', postgres: { url } },
        kitchen: { port: 0 },
        webhooks: [{ url: hookUrl, secret: 'a-long-enough-secret', retryCapMs: 50 }],
      };
      const a = await gateways.start(config);
      const la = await listenerFor(a);
      listeners.push(la);
      await sendLikeTablet(la.port, order('Tisch 9', [{ product: 'Knödel', amount: '3' }]));
      const until = Date.now() + 5000;
      while ((await a.json('/api/deadletters', { auth: adminAuth })).body.total === 0 && Date.now() < until) await delay(20);
      await listeners.pop()!.close();
      await gateways.stop(a);
      const b = await gateways.start(config, a.dir);
      expect((await b.json('/api/deadletters', { auth: adminAuth })).body.items).toMatchObject([
        { identifier: 'kitchen:1', event: 'kitchen.order', status: 410, order: { table: 'Tisch 9', positions: [{ product: 'Knödel', amount: '3' }] } },
      ]);
    } finally {
      await new Promise((r) => hook.close(r));
    }
  });

  it('stores orders, rejected messages and the journal in the database; a restart keeps them', async () => {
    const url = await cluster.createDatabase();
    const config = { store: { dataDir: './data', postgres: { url } }, kitchen: { port: 0 } };
    const a = await gateways.start(config);
    const la = await listenerFor(a);
    listeners.push(la);
    await sendLikeTablet(
      la.port,
      order('Tisch 2', [
        { product: 'Gulasch', amount: '1' },
        { product: 'Bier', amount: 0.5 },
      ]),
    );
    await sendLikeTablet(la.port, Buffer.from([0x7b, 0xff]));
    await sendLikeTablet(la.port, order('Tisch 3', [{ product: 'Strudel', amount: 1 }]));
    expect((await a.json('/api/kitchen/orders/3/done', { method: 'POST', auth: adminAuth })).status).toBe(200);

    expect(await queryRows(url, 'SELECT id::text, state, table_name, source FROM kitchen_orders ORDER BY id')).toEqual([
      { id: '1', state: 'open', table_name: 'Tisch 2', source: '127.0.0.1' },
      { id: '2', state: 'rejected', table_name: null, source: '127.0.0.1' },
      { id: '3', state: 'done', table_name: 'Tisch 3', source: '127.0.0.1' },
    ]);
    const journal = await queryRows<{ order_id: string; body: Buffer }>(url, 'SELECT order_id::text, body FROM kitchen_journal ORDER BY order_id');
    expect(journal.map((r) => r.order_id)).toEqual(['1', '2', '3']);
    expect(journal[1].body).toEqual(Buffer.from([0x7b, 0xff]));

    await listeners.pop()!.close();
    await gateways.stop(a);
    const b = await gateways.start(config, a.dir);
    const lb = await listenerFor(b);
    listeners.push(lb);
    expect((await b.json('/api/kitchen/orders?state=all', { auth: adminAuth })).body.items.map((o: { id: string; state: string }) => [o.id, o.state])).toEqual([
      ['3', 'done'],
      ['2', 'rejected'],
      ['1', 'open'],
    ]);
    // A screen opened now gets the open order and the done one (read back from the database), then live ones.
    const screen = eventReader(await b.fetch('/kitchen/events', { auth: adminAuth }));
    await screen.waitFor(() => screen.orders().length === 2);
    expect(screen.orders().map((o) => [o.table, o.state])).toEqual([
      ['Tisch 2', 'open'],
      ['Tisch 3', 'done'],
    ]);
    await sendLikeTablet(lb.port, order('Tisch 4', [{ product: 'Kaffee', amount: 2 }]));
    await screen.waitFor(() => screen.orders().length === 3);
    expect(screen.orders()[2]).toMatchObject({ id: '4', table: 'Tisch 4', live: true });
    await screen.close();
    expect((await b.json('/api/kitchen/orders?state=open', { auth: adminAuth })).body.items.map((o: { id: string }) => o.id)).toEqual(['4', '1']);
  });

  it("migrate-store copies a data dir's kitchen orders and journal, once", async () => {
    const lowdb = await gateways.start({ kitchen: { port: 0 } });
    const l = await listenerFor(lowdb);
    listeners.push(l);
    await sendLikeTablet(l.port, order('Tisch 1', [{ product: 'Knödel', amount: '3' }]));
    await sendLikeTablet(l.port, 'kaputt');
    await lowdb.json('/api/kitchen/orders/1/done', { method: 'POST', auth: adminAuth });
    await listeners.pop()!.close();
    await gateways.stop(lowdb);

    const url = await cluster.createDatabase();
    const report = await copyLowdbToPostgres({ dataDir: lowdb.dataDir, url });
    expect(report.ok).toBe(true);
    expect(report.copied).toMatchObject({ kitchenOrders: 2, kitchenJournal: 2 });
    expect(report.checks.filter((c) => c.what.startsWith('kitchen'))).toEqual([
      { what: 'kitchen orders', source: '2', target: '2', ok: true },
      { what: 'kitchen journal lines', source: '2', target: '2', ok: true },
    ]);
    const pg = await gateways.start({ store: { dataDir: './data', postgres: { url } }, kitchen: { port: 0 } });
    expect(
      (await pg.json('/api/kitchen/orders?state=all', { auth: adminAuth })).body.items.map((o: { table: string | null; state: string }) => [o.table, o.state]),
    ).toEqual([
      [null, 'rejected'],
      ['Tisch 1', 'done'],
    ]);
    // Numbering goes on after the copied orders (their ids and seqs were not taken from the database's sequences).
    const lp = await listenerFor(pg);
    listeners.push(lp);
    await sendLikeTablet(lp.port, order('Tisch 2', [{ product: 'Bier', amount: '1' }]));
    expect((await pg.json('/api/kitchen/orders?state=all', { auth: adminAuth })).body.items.map((o: { id: string }) => o.id)).toEqual(['3', '2', '1']);
    expect(await queryRows(url, 'SELECT id::text, seq::text FROM kitchen_orders ORDER BY id')).toMatchObject([{ id: '1' }, { id: '2' }, { id: '3', seq: '4' }]);
  });

  it('two gateways on one database: an order received by one is live on a screen of the other; its Done, posted to the first, reaches it', async () => {
    const url = await cluster.createDatabase();
    const config = { store: { dataDir: './data', postgres: { url } }, kitchen: { port: 0 } };
    const a = await gateways.start(config);
    const b = await gateways.start(config);
    const la = await listenerFor(a);
    listeners.push(la);
    const screen = eventReader(await b.fetch('/kitchen/events', { auth: adminAuth }));
    await screen.waitFor(() => screen.events.some((e) => e.event === 'hello'));
    const { csrfToken } = JSON.parse(screen.events.find((e) => e.event === 'hello')!.data);
    await sendLikeTablet(la.port, order('Tisch 8', [{ product: 'Schnitzel', amount: '1' }]));
    await screen.waitFor(() => screen.orders().length === 1);
    expect(screen.orders()[0]).toMatchObject({ id: '1', table: 'Tisch 8', state: 'open', live: true });
    // The screen's token (from B) is accepted by A: one per database.
    const done = await a.json('/kitchen/orders/1/done', { method: 'POST', auth: adminAuth, headers: { 'x-csrf-token': csrfToken, origin: a.url } });
    expect(done.status).toBe(200);
    await screen.waitFor(() => screen.orders().length === 2);
    expect(screen.orders()[1]).toMatchObject({ id: '1', state: 'done', live: true });
    expect((await b.json('/api/kitchen/orders/1/reopen', { method: 'POST', auth: adminAuth })).body.state).toBe('open');
    expect((await a.json('/api/kitchen/orders?state=open', { auth: adminAuth })).body.items.map((o: { id: string }) => o.id)).toEqual(['1']);
    await screen.close();
  });
});
