import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { adminAuth, deviceAuth, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';
import { eventually } from './bridge-helpers.js';

const API_KEY = 'KEY-1';
const SECRET = 'whsec-1';

const servers: Server[] = [];
let a: TestGateway | null = null;
afterEach(async () => {
  if (a) {
    await a.stop();
    await removeDir(a.dir);
    a = null;
  }
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * A srv4pos-style server with only the basic routes: articles (paged, at most 2 per page), /version,
 * POST /sales and PUT /sales/{id}. No /discounts, /modifications or /stock. srv4pos's error shape.
 */
async function fakeSrv4pos() {
  const articles = {
    taxes: [
      { identifier: '25', name: 'Moms 25%', vat: 25 },
      { identifier: '12', name: 'Moms 12%', vat: 12 },
    ],
    categories: [
      { identifier: 'food', name: 'Food' },
      { identifier: 'burgers', name: 'Burgers', parent: 'food' },
    ],
    products: [
      { identifier: 'p1', name: 'Cheese Burger', price: 3.99, tax: '12', netto: 3.56, custom: null },
      { identifier: 'p2', name: 'Cola', price: 2, tax: '25' },
      { identifier: 'p3', name: 'Fries', price: 1.5, tax: '12' },
    ],
    commodities: [
      { identifier: 'c1', product: 'p1', category: 'burgers' },
      { identifier: 'c3', product: 'p3', category: 'food' },
    ],
  };
  const sales = new Map<string, { status: string; writes: number }>();
  const requests: string[] = [];
  let posts = 0;
  let rejectBad = true;
  const app = express();
  app.use(express.json());
  app.use((req, res, next) => {
    requests.push(`${req.method} ${req.path}`);
    if (req.headers.authorization !== `Basic ${Buffer.from(API_KEY).toString('base64')}`) return res.status(401).json({ error: 'UnauthorizedJsonException' });
    next();
  });
  const base = '/v1/seller-1';
  app.get(`${base}/version`, (_req, res) => res.json({ version: 7 }));
  for (const [name, items] of Object.entries(articles)) {
    app.get(`${base}/${name}`, (req, res) => {
      const first = Number(req.query.firstResult ?? 0);
      const max = Math.min(Number(req.query.maxResults ?? 100), 2);
      res.json({ items: items.slice(first, first + max), total: items.length });
    });
  }
  app.post(`${base}/sales`, (req, res) => {
    if (++posts === 1) return res.status(503).json({ error: 'ServiceUnavailableJsonException' });
    const sale = req.body;
    if (rejectBad && sale.lines.some((l: { product: string }) => l.product === 'bad')) {
      return res.status(400).json({ error: 'ValidationJsonException', details: [{ field: 'lines[0].product', message: 'unknown product bad' }] });
    }
    if (sales.has(sale.identifier)) return res.status(409).json({ error: 'ConflictJsonException' });
    sales.set(sale.identifier, { status: sale.status, writes: 1 });
    res.status(201).json(sale);
  });
  app.put(`${base}/sales/:id`, (req, res) => {
    const s = sales.get(req.params.id);
    sales.set(req.params.id, { status: req.body.status, writes: (s?.writes ?? 0) + 1 });
    res.json(req.body);
  });
  app.use((_req, res) => res.status(404).json({ error: 'NotFoundJsonException' }));
  const url = await listen(app);
  return {
    url: `${url}${base}/`,
    sales,
    requests,
    accept: () => {
      rejectBad = false;
    },
  };
}

/** An integrator's webhook endpoint: verifies the signature over the raw body; the first delivery fails. */
async function webhookReceiver() {
  const received: { headers: IncomingHttpHeaders; raw: Buffer; valid: boolean }[] = [];
  let calls = 0;
  const url = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`);
      const given = Buffer.from(String(req.headers['x-signature'] ?? ''));
      received.push({ headers: req.headers, raw, valid: given.length === expected.length && timingSafeEqual(given, expected) });
      res.statusCode = ++calls === 1 ? 500 : 204;
      res.end();
    });
  });
  return { url: `${url}/hooks/tabshop`, received };
}

describe('bridge gateway in front of a srv4pos-style server, with a webhook', { timeout: 60_000 }, () => {
  it('serves its catalogue, forwards sales exactly once in effect, shows dead letters, signs webhook events', async () => {
    const upstream = await fakeSrv4pos();
    const hook = await webhookReceiver();
    a = await startTestGateway({
      upstream: { baseUrl: upstream.url, apiKey: API_KEY, pollIntervalMs: 150, retryCapMs: 100, timeoutMs: 1_000 },
      webhooks: [{ url: hook.url, secret: SECRET, retryCapMs: 100 }],
    });
    await eventually(async () => (await a!.fetch('/home')).status === 200, 'A ready');
    const stock = await (await a.fetch('/stock')).json();
    expect(
      stock.products.map((p: { id: string; category: string; taxid: number; stockqty: number; price: number }) => [
        p.id,
        p.category,
        p.taxid,
        p.stockqty,
        p.price,
      ]),
    ).toEqual([
      ['p1', '/Food/Burgers', 12, 999999, 3.99],
      ['p2', '/', 25, 999999, 2],
      ['p3', '/Food', 12, 999999, 1.5],
    ]);
    const none = { id: 0, percentage: 0, name: '-' };
    expect(await (await a.fetch('/tax')).json()).toEqual({
      taxes: [none, { id: 12, percentage: 0.12, name: 'Moms 12%' }, { id: 25, percentage: 0.25, name: 'Moms 25%' }],
    });
    expect(await (await a.fetch('/discount')).json()).toEqual({ discounts: [none] });

    const push = (invoices: unknown[]) => a!.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }) });
    const sale = invoice(201409200100001, [{ productId: 'p1', qty: 1, total: 3.99 }]);
    expect((await push([sale])).status).toBe(200);
    expect((await push([{ ...sale, checkoutStatus: '11' }])).status).toBe(200);
    await eventually(() => upstream.sales.get('TAB-1:201409200100001')?.status === 'refunded', 'the refund upstream');
    expect(upstream.sales.get('TAB-1:201409200100001')).toEqual({ status: 'refunded', writes: 2 });
    expect(upstream.requests.filter((r) => r.includes('/sales'))).toEqual([
      'POST /v1/seller-1/sales',
      'POST /v1/seller-1/sales',
      'PUT /v1/seller-1/sales/TAB-1:201409200100001',
    ]);
    // Polls are cheap: the version did not move, so the lists (2 pages of products, at most 2 per page) were read once.
    await eventually(() => upstream.requests.filter((r) => r === 'GET /v1/seller-1/version').length >= 3, 'a few polls');
    expect(upstream.requests.filter((r) => r === 'GET /v1/seller-1/products')).toHaveLength(2);

    // Upstream refuses a sale: a dead letter with its answer, retried once upstream accepts it.
    const bad = invoice(201409200100002, [{ productId: 'bad', qty: 1, total: 1 }]);
    await push([bad]);
    await eventually(async () => (await a!.json('/api/deadletters', { auth: adminAuth })).body.total === 1, 'a dead letter');
    const dead = await a.json('/api/deadletters', { auth: adminAuth });
    expect(dead.body.items[0]).toMatchObject({
      identifier: 'TAB-1:201409200100002',
      target: 'upstream',
      attempts: 1,
      status: 400,
      event: 'sale.created',
      sale: { identifier: 'TAB-1:201409200100002' },
      response: expect.stringContaining('unknown product bad'),
    });
    expect((await a.json('/api/outbox', { auth: adminAuth })).body).toMatchObject({ depth: 0, deadLetters: 1 });
    expect((await a.json('/api/deadletters', { auth: deviceAuth })).status).toBe(403);
    upstream.accept();
    const retry = await a.json('/api/deadletters/TAB-1:201409200100002/retry', { method: 'POST', auth: adminAuth });
    expect(retry.status).toBe(202);
    await eventually(() => upstream.sales.has('TAB-1:201409200100002'), 'the retried sale upstream');
    expect((await a.json('/api/deadletters', { auth: adminAuth })).body.total).toBe(0);
    expect((await a.json('/api/deadletters/TAB-1:201409200100002/retry', { method: 'POST', auth: adminAuth })).status).toBe(404);

    // The webhook got every event, signed; the failed first delivery came again, byte for byte.
    await eventually(
      () => new Set(hook.received.map((r) => r.headers['x-event-id'])).size === 3 && hook.received.length === 4,
      'three events (one sent twice)',
    );
    expect(hook.received.every((r) => r.valid)).toBe(true);
    expect(hook.received[0].raw.equals(hook.received[1].raw)).toBe(true);
    const events = hook.received.slice(1).map((r) => JSON.parse(r.raw.toString()));
    expect(events.map((e) => [e.type, e.sale.identifier, e.sale.status])).toEqual([
      ['sale.created', 'TAB-1:201409200100001', 'completed'],
      ['sale.reversed', 'TAB-1:201409200100001', 'refunded'],
      ['sale.created', 'TAB-1:201409200100002', 'completed'],
    ]);
    for (const [i, r] of hook.received.slice(1).entries()) {
      expect(r.headers['x-event-id']).toBe(events[i].id);
      expect(r.headers['x-event-type']).toBe(events[i].type);
      expect(r.headers['content-type']).toBe('application/json');
      expect(Date.parse(events[i].createdAt)).not.toBeNaN();
    }
    expect(events[0].sale.source.invoice).toEqual(sale);
  });
});
