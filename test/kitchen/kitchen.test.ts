import { readFile, readdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifySignature } from '../../src/forward/webhook.js';
import type { KitchenListener } from '../../src/kitchen/listener.js';
import { adminAuth, basic, deviceAuth, testGateways, type TestGateway } from '../helpers.js';
import { MISSING_POSTGRES, PG_BIN, queryRows, skipPostgres, startPostgres, type PgCluster } from '../postgres.js';
import { eventReader, listenerFor, order, sendLikeTablet, silentConnection } from './tablet.js';

const KITCHEN = { username: 'pass-1', password: 'pw-kitchen' };
const kitchenAuth = basic(KITCHEN.username, KITCHEN.password);
const KITCHEN_CONFIG = { kitchen: { port: 0, accounts: [KITCHEN] } };

const gateways = testGateways();
const listeners: KitchenListener[] = [];

/** The same suite on both stores: the data dir (lowdb) and PostgreSQL (a fresh database per gateway dir). */
const BACKENDS = ['files', 'PostgreSQL'] as const;
let backend: (typeof BACKENDS)[number] = 'files';
let cluster: PgCluster | undefined;
const databases = new Map<string, string>();

/** timeoutMs: how long a connection may take (10 s in production; short here so silent ones end soon). */
async function start(overrides: Record<string, unknown> = {}, dir?: string, timeoutMs = 300): Promise<{ gw: TestGateway; port: number }> {
  const url = backend === 'PostgreSQL' ? (dir && databases.get(dir)) || (await cluster!.createDatabase()) : null;
  const store = url ? { store: { dataDir: './data', postgres: { url } } } : {};
  const gw = await gateways.start({ ...KITCHEN_CONFIG, ...store, ...overrides }, dir);
  if (url) databases.set(gw.dir, url);
  const listener = await listenerFor(gw, { timeoutMs });
  listeners.push(listener);
  return { gw, port: listener.port };
}

const orders = async (gw: TestGateway, query = 'state=all', auth = adminAuth) => gw.json(`/api/kitchen/orders?${query}`, { auth });

afterEach(async () => {
  for (const l of listeners.splice(0)) await l.close();
  await gateways.cleanup();
});

/** Every message as journaled: in the data dir's kitchen/journal files, or the kitchen_journal table. */
async function journal(gw: TestGateway): Promise<{ orderId: string; source: string; bytes: number; raw: string }[]> {
  const url = databases.get(gw.dir);
  if (backend === 'PostgreSQL' && url) {
    const rows = await queryRows<{ order_id: string; source: string; body: Buffer }>(
      url,
      'SELECT order_id::text, source, body FROM kitchen_journal ORDER BY order_id',
    );
    return rows.map((r) => ({ orderId: r.order_id, source: r.source, bytes: r.body.length, raw: r.body.toString('base64') }));
  }
  const dir = join(gw.dataDir, 'kitchen', 'journal');
  const [file] = await readdir(dir);
  return (await readFile(join(dir, file), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe.each(BACKENDS)('kitchen display on %s', { timeout: 60_000 }, (store) => {
  beforeAll(async () => {
    backend = store;
    if (store === 'PostgreSQL') {
      if (!PG_BIN) throw new Error(MISSING_POSTGRES);
      cluster = await startPostgres();
    }
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    cluster = undefined;
    backend = 'files';
  });
  if (store === 'PostgreSQL' && skipPostgres) {
    it.skip('PostgreSQL is not installed', () => undefined);
    return;
  }

  describe('kitchen display: receiving orders like TabShop sends them', () => {
    it('stores UTF-8 and Windows-1252 orders with non-ASCII names, amounts as decimal strings, newest first', async () => {
      const { gw, port } = await start();
      await sendLikeTablet(
        port,
        order('Tisch 4', [
          { product: 'Käsespätzle', amount: '2' },
          { product: 'Crème brûlée 🍮', amount: 1.5 },
        ]),
      );
      const cp1252 = Buffer.concat([
        Buffer.from('{"table":"Terrasse","positions":[{"product":"Caf', 'latin1'),
        Buffer.from([0xe9, 0x20, 0x80]),
        Buffer.from('","amount":"1"}]}', 'latin1'),
      ]);
      await sendLikeTablet(port, cp1252);

      const { status, body } = await orders(gw, 'state=open');
      expect(status).toBe(200);
      expect(body.total).toBe(2);
      expect(body.items.map((o: { table: string }) => o.table)).toEqual(['Terrasse', 'Tisch 4']);
      expect(body.items[0]).toMatchObject({ id: '2', state: 'open', source: '127.0.0.1', positions: [{ product: 'Café €', amount: '1' }] });
      expect(body.items[1]).toMatchObject({
        id: '1',
        positions: [
          { product: 'Käsespätzle', amount: '2' },
          { product: 'Crème brûlée 🍮', amount: '1.5' },
        ],
      });
      expect(Date.parse(body.items[1].receivedAt)).not.toBeNaN();
    });

    it('reassembles a message split across many small writes', async () => {
      // ~100 pieces 1 ms apart take well over 300 ms on a loaded machine: the production-like limit.
      const { gw, port } = await start({}, undefined, 10_000);
      const text = order('Table 9', [
        { product: 'Burger', amount: '3' },
        { product: 'Süßkartoffel-Pommes', amount: '0.5' },
      ]);
      // Byte-sized pieces also split the multi-byte UTF-8 characters.
      await sendLikeTablet(port, text, { pieces: Buffer.byteLength(text), gapMs: 1 });
      const { body } = await orders(gw);
      expect(body.items).toHaveLength(1);
      expect(body.items[0]).toMatchObject({
        table: 'Table 9',
        state: 'open',
        positions: [
          { product: 'Burger', amount: '3' },
          { product: 'Süßkartoffel-Pommes', amount: '0.5' },
        ],
      });
    });

    it('stores garbage, oversized and silent connections as rejected (reason, bounded raw bytes); the listener goes on', async () => {
      const { gw, port } = await start();
      await sendLikeTablet(port, Buffer.from([0xff, 0x00, 0x41, 0x7b]));
      await sendLikeTablet(port, '{"table":"T1","positions":[{"product":"Soup"}]}');
      const big = Buffer.alloc(70 * 1024, 0x61);
      await sendLikeTablet(port, big);
      await silentConnection(port);
      await sendLikeTablet(port, order('After', [{ product: 'Tea', amount: 1 }]));

      const rejected = (await orders(gw, 'state=rejected')).body;
      expect(rejected.total).toBe(4);
      const [silent, oversized, shape, garbage] = rejected.items;
      expect(garbage.reason).toMatch(/^not JSON/);
      expect(Buffer.from(garbage.rawBase64, 'base64')).toEqual(Buffer.from([0xff, 0x00, 0x41, 0x7b]));
      expect(shape.reason).toBe('positions[0].amount is missing or not a number');
      expect(oversized.reason).toBe('the message is larger than 65536 bytes');
      expect(oversized.bytes).toBe(64 * 1024);
      expect(Buffer.from(oversized.rawBase64, 'base64')).toEqual(big.subarray(0, 4096));
      // The journal keeps every byte read (up to the limit).
      expect(Buffer.from((await journal(gw)).find((e) => e.orderId === oversized.id)!.raw, 'base64')).toEqual(big.subarray(0, 64 * 1024));
      expect(silent.reason).toBe('the message did not end within 0.3 s');
      expect(silent.rawBase64).toBe('');
      const open = (await orders(gw, 'state=open')).body;
      expect(open.items.map((o: { table: string }) => o.table)).toEqual(['After']);
      expect((await gw.json('/healthz')).status).toBe(200);
    });

    it('a connection reset after a whole order keeps the order; one reset mid-way is stored as rejected', async () => {
      const { gw, port } = await start();
      const reset = async (text: string) => {
        const socket = connect({ host: '127.0.0.1', port });
        socket.on('error', () => undefined);
        await new Promise((resolve) => socket.once('connect', resolve));
        await new Promise((resolve) => socket.write(text, resolve));
        await delay(50);
        const closed = new Promise((resolve) => socket.once('close', resolve));
        socket.resetAndDestroy();
        await closed;
      };
      await reset(order('Whole', [{ product: 'Soup', amount: 1 }]));
      await reset('{"table":"Half","posi');
      const until = Date.now() + 3000;
      while ((await orders(gw)).body.total < 2 && Date.now() < until) await delay(20);
      const { body } = await orders(gw);
      expect(body.items.map((o: { table: string | null; state: string }) => [o.table, o.state])).toEqual([
        [null, 'rejected'],
        ['Whole', 'open'],
      ]);
      expect(body.items[0].reason).toMatch(/^the connection (failed|closed) before the message ended/);
    });

    it('many tablets at once, valid and garbage mixed: every message stored once, the gateway unharmed', async () => {
      const { gw, port } = await start();
      const garbage = (n: number) => Buffer.from(Array.from({ length: 50 + n * 37 }, (_, i) => (i * 7919 + n * 104729) % 256));
      await Promise.all(
        Array.from({ length: 40 }, (_, n) =>
          n % 2 === 0
            ? sendLikeTablet(port, order(`T${n}`, [{ product: `Gericht ${n} – Spätzle`, amount: n }]), { pieces: 3, gapMs: 2 })
            : sendLikeTablet(port, garbage(n)),
        ),
      );
      const all = (await orders(gw, 'state=all&maxResults=1000')).body;
      expect(all.total).toBe(40);
      expect(new Set(all.items.map((o: { id: string }) => o.id)).size).toBe(40);
      expect(all.items.filter((o: { state: string }) => o.state === 'open')).toHaveLength(20);
      expect(all.items.filter((o: { state: string }) => o.state === 'rejected')).toHaveLength(20);
      expect((await gw.json('/readyz')).status).toBe(200);
    });

    it('journals every message (bytes, source, time)', async () => {
      const { gw, port } = await start();
      await sendLikeTablet(port, order('J', [{ product: 'X', amount: '1' }]));
      await sendLikeTablet(port, 'nonsense');
      const lines = await journal(gw);
      expect(lines.map((l) => Buffer.from(l.raw, 'base64').toString('utf8'))).toEqual([order('J', [{ product: 'X', amount: '1' }]), 'nonsense']);
      expect(lines[0]).toMatchObject({ source: '127.0.0.1', orderId: '1', bytes: Buffer.byteLength(order('J', [{ product: 'X', amount: '1' }])) });
    });

    it('closes connections from outside `allow` at once: logged, counted, not stored', async () => {
      const { gw } = await start();
      const guarded = await listenerFor(gw, { allow: ['10.0.0.0/8'] });
      listeners.push(guarded);
      await sendLikeTablet(guarded.port, order('Intruder', [{ product: 'X', amount: 1 }]));
      expect((await orders(gw)).body.total).toBe(0);
      expect(gw.logs.join('')).toContain('"reason":"not_allowed"');
      const metrics = await (await gw.fetch('/metrics', { auth: null })).text();
      expect(metrics).toContain('tabshop_kitchen_connections_refused_total{reason="not_allowed"} 1');
    });

    it('holds the per-address rate limit', async () => {
      const { gw } = await start();
      const slow = await listenerFor(gw, { ratePerSecond: 1 });
      listeners.push(slow);
      await Promise.all([1, 2, 3].map((n) => sendLikeTablet(slow.port, order(`R${n}`, [{ product: 'X', amount: 1 }]))));
      expect((await orders(gw)).body.total).toBe(1);
      const metrics = await (await gw.fetch('/metrics', { auth: null })).text();
      expect(metrics).toContain('tabshop_kitchen_connections_refused_total{reason="rate_limited"} 2');
      expect(metrics).toContain('tabshop_kitchen_orders_received_total 1');
    });

    it('counts received and rejected messages in /metrics', async () => {
      const { gw, port } = await start();
      await sendLikeTablet(port, order('M', [{ product: 'X', amount: 1 }]));
      await sendLikeTablet(port, 'x');
      const metrics = await (await gw.fetch('/metrics', { auth: null })).text();
      expect(metrics).toContain('tabshop_kitchen_orders_received_total 1');
      expect(metrics).toContain('tabshop_kitchen_messages_rejected_total{reason="invalid"} 1');
    });

    it('a restart keeps open and done orders, and numbering goes on', async () => {
      const first = await start();
      await sendLikeTablet(first.port, order('Stays open', [{ product: 'Soup', amount: 1 }]));
      await sendLikeTablet(first.port, order('Was done', [{ product: 'Cake', amount: 2 }]));
      expect((await first.gw.json('/api/kitchen/orders/2/done', { method: 'POST', auth: adminAuth })).status).toBe(200);
      await listeners.pop()!.close();
      await gateways.stop(first.gw);

      const second = await start({}, first.gw.dir);
      expect((await orders(second.gw, 'state=open')).body.items).toMatchObject([{ id: '1', table: 'Stays open', state: 'open' }]);
      expect((await orders(second.gw, 'state=done')).body.items).toMatchObject([{ id: '2', table: 'Was done', state: 'done' }]);
      await sendLikeTablet(second.port, order('New', [{ product: 'Tea', amount: 1 }]));
      expect((await orders(second.gw, 'state=open')).body.items.map((o: { id: string }) => o.id)).toEqual(['3', '1']);
    });
  });

  describe('kitchen API', () => {
    it('done, reopen, filters, errors', async () => {
      const { gw, port } = await start();
      await sendLikeTablet(port, order('A', [{ product: 'X', amount: 1 }]));
      await sendLikeTablet(port, 'garbage');
      const done = await gw.json('/api/kitchen/orders/1/done', { method: 'POST', auth: kitchenAuth });
      expect(done.status).toBe(200);
      expect(done.body).toMatchObject({ id: '1', state: 'done' });
      expect(Date.parse(done.body.doneAt)).not.toBeNaN();
      expect((await gw.json('/api/kitchen/orders/1/done', { method: 'POST', auth: kitchenAuth })).body.state).toBe('done');
      expect((await orders(gw, 'state=open')).body.total).toBe(0);
      expect((await orders(gw, 'state=done')).body.total).toBe(1);
      expect((await gw.json('/api/kitchen/orders/1/reopen', { method: 'POST', auth: adminAuth })).body).toMatchObject({ state: 'open' });
      expect((await orders(gw, 'state=open')).body.total).toBe(1);
      expect((await orders(gw)).body.total).toBe(2);

      const rejected = await gw.json('/api/kitchen/orders/2/done', { method: 'POST', auth: adminAuth });
      expect(rejected.status).toBe(409);
      expect(rejected.body.error.code).toBe('kitchen_order_rejected');
      expect((await gw.json('/api/kitchen/orders/99/done', { method: 'POST', auth: adminAuth })).body.error.code).toBe('not_found');
      expect((await orders(gw, 'state=eaten')).status).toBe(400);
      const future = new Date(Date.now() + 3600_000).toISOString();
      expect((await orders(gw, `state=all&from=${future}`)).body.total).toBe(0);
      expect((await orders(gw, `state=all&to=${future}`)).body.total).toBe(2);
      expect((await orders(gw, 'state=all&from=yesterday')).status).toBe(400);
      // A browser's remembered credentials on a post from another site are refused.
      const crossSite = await gw.json('/api/kitchen/orders/1/done', { method: 'POST', auth: adminAuth, headers: { origin: 'http://evil.example' } });
      expect(crossSite.status).toBe(403);
    });

    it('kitchen accounts see only the kitchen; devices and anonymous callers see none of it', async () => {
      const { gw } = await start();
      expect((await orders(gw, 'state=all', kitchenAuth)).status).toBe(200);
      expect((await gw.fetch('/kitchen', { auth: kitchenAuth })).status).toBe(200);
      expect((await gw.json('/api/sales', { auth: kitchenAuth })).status).toBe(401);
      expect((await gw.json('/api/products', { auth: kitchenAuth })).status).toBe(401);
      expect((await gw.json('/api/sales', { method: 'POST', auth: kitchenAuth, body: {} })).status).toBe(401);
      expect((await gw.fetch('/stock', { auth: kitchenAuth })).status).toBe(401);
      expect((await gw.fetch('/status', { auth: kitchenAuth })).status).toBe(401);
      expect((await orders(gw, 'state=all', deviceAuth)).status).toBe(401);
      const anonymous = await gw.fetch('/kitchen', { auth: null });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toContain('Basic');
    });

    it('without `kitchen` in the config there is no kitchen', async () => {
      const gw = await gateways.start({});
      expect(gw.gateway.kitchen).toBeUndefined();
      expect((await gw.fetch('/kitchen', { auth: adminAuth })).status).toBe(404);
      expect((await gw.json('/api/kitchen/orders', { auth: adminAuth })).status).toBe(404);
    });
  });

  describe('kitchen live stream (Server-Sent Events)', () => {
    it('sends the picture, then each change once; a reconnect with Last-Event-ID gets exactly what it missed', async () => {
      const { gw, port } = await start();
      await sendLikeTablet(port, order('Before', [{ product: 'X', amount: 1 }]));
      // Done and back: event ids (change seqs) and order ids part ways.
      await gw.json('/api/kitchen/orders/1/done', { method: 'POST', auth: adminAuth });
      await gw.json('/api/kitchen/orders/1/reopen', { method: 'POST', auth: adminAuth });
      const first = eventReader(await gw.fetch('/kitchen/events', { auth: kitchenAuth }));
      await first.waitFor(() => first.orders().length === 1);
      expect(first.events[0].event).toBe('hello');
      expect(first.events.some((e) => e.event === 'reset')).toBe(true);

      await sendLikeTablet(port, order('Live', [{ product: 'Y', amount: 2 }]));
      await first.waitFor(() => first.orders().length === 2);
      expect(first.orders()[1]).toMatchObject({ table: 'Live', state: 'open', live: true });
      const lastId = first.orders()[1].eventId;
      expect([first.orders()[0].eventId, lastId]).toEqual(['3', '4']);
      await first.close();

      // While the screen is away: one order done, one new, one rejected message.
      await gw.json('/api/kitchen/orders/1/done', { method: 'POST', auth: adminAuth });
      await sendLikeTablet(port, order('Missed', [{ product: 'Z', amount: 3 }]));
      await sendLikeTablet(port, 'junk');

      const again = eventReader(await gw.fetch('/kitchen/events', { auth: kitchenAuth, headers: { 'last-event-id': lastId } }));
      await again.waitFor(() => again.orders().length === 2);
      await delay(100);
      expect(again.events.some((e) => e.event === 'reset')).toBe(false);
      expect(again.orders().map((o) => [o.table, o.state])).toEqual([
        ['Before', 'done'],
        ['Missed', 'open'],
      ]);
      await again.close();
    });

    it('a stop ends the streams at once (the gateway does not wait for them)', async () => {
      const { gw } = await start();
      const stream = eventReader(await gw.fetch('/kitchen/events', { auth: adminAuth }));
      await stream.waitFor(() => stream.events.some((e) => e.event === 'hello'));
      const cut = vi.spyOn(gw.running.server, 'closeAllConnections');
      await listeners.pop()!.close();
      await gateways.stop(gw);
      await stream.close();
      // Had the stop waited for the open stream, its grace period (1 s in tests) would have ended by cutting it.
      expect(cut).not.toHaveBeenCalled();
    });
  });

  describe('kitchen screen', () => {
    it('serves the page and its local files under a strict CSP; done needs the CSRF token and the same origin', async () => {
      const { gw, port } = await start();
      const page = await gw.fetch('/kitchen', { auth: adminAuth });
      expect(page.status).toBe(200);
      const csp = page.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      const text = await page.text();
      expect(text).toContain('<script src="kitchen/kitchen.js" defer></script>');
      expect(text).not.toMatch(/<script>|<style>| style=/);
      expect((await gw.fetch('/kitchen/kitchen.js', { auth: adminAuth })).headers.get('content-type')).toContain('javascript');
      expect((await gw.fetch('/kitchen/kitchen.css', { auth: adminAuth })).headers.get('content-type')).toContain('text/css');
      expect((await gw.fetch('/kitchen/nothing.js', { auth: adminAuth })).status).toBe(404);

      await sendLikeTablet(port, order('C', [{ product: 'X', amount: 1 }]));
      const stream = eventReader(await gw.fetch('/kitchen/events', { auth: adminAuth }));
      await stream.waitFor(() => stream.events.some((e) => e.event === 'hello'));
      const { csrfToken } = JSON.parse(stream.events.find((e) => e.event === 'hello')!.data);
      await stream.close();
      expect((await gw.json('/kitchen/orders/1/done', { method: 'POST', auth: adminAuth })).status).toBe(403);
      expect((await gw.json('/kitchen/orders/1/done', { method: 'POST', auth: adminAuth, headers: { 'x-csrf-token': 'wrong' } })).status).toBe(403);
      expect(
        (await gw.json('/kitchen/orders/1/done', { method: 'POST', auth: adminAuth, headers: { 'x-csrf-token': csrfToken, origin: 'http://evil.example' } }))
          .status,
      ).toBe(403);
      const ok = await gw.json('/kitchen/orders/1/done', { method: 'POST', auth: adminAuth, headers: { 'x-csrf-token': csrfToken, origin: gw.url } });
      expect(ok.status).toBe(200);
      expect(ok.body.state).toBe('done');
    });
  });

  describe('kitchen.order webhook', () => {
    let hook: Server | undefined;
    afterEach(async () => {
      if (hook) await new Promise((resolve) => hook!.close(resolve));
      hook = undefined;
    });

    it('a delivery recorded while the chef presses Done overwrites neither', async () => {
      const url = 'http://127.0.0.1:9/unreachable';
      const { gw, port } = await start({ webhooks: [{ url, secret: 's', retryCapMs: 60_000 }] });
      await sendLikeTablet(port, order('Race', [{ product: 'X', amount: 1 }]));
      const { kitchen } = gw.gateway.kitchen!;
      expect((await kitchen.get('1'))!.pendingHooks, gw.logs.join('')).toEqual([`webhook:${url}`]);
      await Promise.all([kitchen.markDone('1'), kitchen.hookFinished('1', `webhook:${url}`)]);
      const after = (await kitchen.get('1'))!;
      expect(after.state).toBe('done');
      expect(after.pendingHooks).toEqual([]);
    });

    it('is signed like sale events and retried until delivered', async () => {
      const received: { headers: IncomingMessage['headers']; body: string }[] = [];
      let failFirst = true;
      hook = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          if (failFirst) {
            failFirst = false;
            res.writeHead(503).end();
            return;
          }
          received.push({ headers: req.headers, body });
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((resolve) => hook!.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
      const { gw, port } = await start({ webhooks: [{ url, secret: 's3cret', retryCapMs: 50 }] });
      await sendLikeTablet(port, order('Hook', [{ product: 'Crêpe', amount: '2' }]));
      const until = Date.now() + 5000;
      while (received.length === 0 && Date.now() < until) await delay(20);
      expect(received).toHaveLength(1);
      const [{ headers, body }] = received;
      expect(headers['x-event-type']).toBe('kitchen.order');
      expect(headers['x-event-id']).toBe('kitchen:1');
      expect(verifySignature(body, 's3cret', headers['x-signature'] as string)).toBe(true);
      expect(JSON.parse(body)).toMatchObject({
        id: 'kitchen:1',
        type: 'kitchen.order',
        order: { id: '1', table: 'Hook', positions: [{ product: 'Crêpe', amount: '2' }], state: 'open' },
      });
      // Delivered: recorded with the order, so a restart does not send it again.
      while ((await gw.gateway.kitchen!.kitchen.undelivered()).length > 0 && Date.now() < until) await delay(20);
      expect(await gw.gateway.kitchen!.kitchen.undelivered()).toEqual([]);
    });

    it('an order the webhook refuses for good becomes a dead letter: counted by /readyz, retried from it, then delivered', async () => {
      const received: { headers: IncomingMessage['headers']; body: string }[] = [];
      let refuse = true;
      hook = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          if (refuse) {
            res.writeHead(400).end('unknown table');
            return;
          }
          received.push({ headers: req.headers, body });
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((resolve) => hook!.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
      const config = { webhooks: [{ url, secret: 's3cret', retryCapMs: 50 }] };
      const first = await start(config);
      await sendLikeTablet(first.port, order('Table 4', [{ product: 'Burger', amount: '2' }]));
      const until = Date.now() + 5000;
      let dead = (await first.gw.json('/api/deadletters', { auth: adminAuth })).body;
      while (dead.total === 0 && Date.now() < until) {
        await delay(20);
        dead = (await first.gw.json('/api/deadletters', { auth: adminAuth })).body;
      }
      expect(dead.items).toMatchObject([
        {
          identifier: 'kitchen:1',
          key: 'kitchen:1',
          event: 'kitchen.order',
          target: `webhook:${url}`,
          status: 400,
          response: 'unknown table',
          state: 'open',
          order: { id: '1', table: 'Table 4', positions: [{ product: 'Burger', amount: '2' }] },
        },
      ]);
      expect((await first.gw.json('/readyz', { auth: adminAuth })).body).toMatchObject({ status: 'degraded', checks: { outbox: { deadLetters: 1 } } });
      // The dead letter is stored first, then the order records that the webhook is done with it.
      while ((await first.gw.gateway.kitchen!.kitchen.undelivered()).length > 0 && Date.now() < until) await delay(20);
      expect(await first.gw.gateway.kitchen!.kitchen.undelivered()).toEqual([]);

      // Kept across a restart; a retry sends the same event (same id, signed) once the receiver is fixed.
      await first.gw.stop();
      const second = await start(config, first.gw.dir);
      expect((await second.gw.json('/api/deadletters', { auth: adminAuth })).body.total).toBe(1);
      refuse = false;
      expect((await second.gw.json('/api/deadletters/kitchen:1/retry', { method: 'POST', auth: adminAuth })).status).toBe(202);
      while (received.length === 0 && Date.now() < until + 5000) await delay(20);
      expect(received).toHaveLength(1);
      const [{ headers, body }] = received;
      expect(headers['x-event-id']).toBe('kitchen:1');
      expect(headers['x-event-type']).toBe('kitchen.order');
      expect(verifySignature(body, 's3cret', headers['x-signature'] as string)).toBe(true);
      expect(JSON.parse(body)).toMatchObject({ id: 'kitchen:1', type: 'kitchen.order', order: { id: '1', table: 'Table 4' } });
      expect((await second.gw.json('/api/deadletters?state=all', { auth: adminAuth })).body.total).toBe(0);
    });
  });
});
