import { rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, adminAuth, basic, DEVICE, deviceAuth, device2Auth, invoice, removeDir, seedInvoices, startTestGateway, type TestGateway } from '../helpers.js';

let gw: TestGateway;
beforeEach(async () => {
  gw = await startTestGateway({ store: { dataDir: './data', seedDemo: true } });
});
afterEach(async () => {
  await gw.stop();
  await removeDir(gw.dir);
});

const push = (body: unknown, init: RequestInit & { auth?: string | null } = {}) =>
  gw.fetch('/invoice', { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), ...init });
const pushJson = async (body: unknown, auth = deviceAuth) => {
  const res = await push(body, { auth, headers: { accept: 'application/json', 'content-type': 'application/json' } });
  return { status: res.status, body: await res.json() };
};

describe('auth on TabShop routes', () => {
  it.each(['/home', '/stock', '/tax', '/discount', '/invoice'])('%s without credentials: 401 with a Basic challenge and a JSON error', async (path) => {
    const res = await gw.fetch(path, { auth: null, method: path === '/invoice' ? 'POST' : 'GET' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="tabshop-gateway"');
    expect((await res.json()).error.code).toBe('unauthorized');
  });

  it('refuses a wrong password and an admin account (admins are not tablets)', async () => {
    expect((await gw.fetch('/home', { auth: basic(DEVICE.username, 'nope') })).status).toBe(401);
    const res = await gw.fetch('/stock', { auth: adminAuth });
    expect(res.status).toBe(401);
    expect((await res.json()).error.message).toContain(ADMIN.username);
  });

  it('throttles repeated failures from one address with 429 and Retry-After, not a tablet on another address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await gw.fetch('/home', { auth: basic(DEVICE.username, `guess-${i}`) })).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.at(-1)).toBe(429);
    const locked = await gw.fetch('/home', { auth: deviceAuth });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    const other = await getFrom('127.0.0.2', '/home', deviceAuth);
    expect(other).toEqual({ status: 200, body: 'true' });
  });
});

function getFrom(localAddress: string, path: string, auth: string): Promise<{ status: number; body: string }> {
  const url = new URL(gw.url + path);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, localAddress, headers: { authorization: auth } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('home', () => {
  it('answers exactly "true" as text/plain, on GET and POST, with tolerant paths', async () => {
    for (const [method, path] of [
      ['GET', '/home'],
      ['POST', '/home'],
      ['GET', '/home/'],
      ['GET', '//home'],
      ['GET', '//home//'],
    ]) {
      const res = await gw.fetch(path, { method });
      expect(res.status, `${method} ${path}`).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toBe('true');
    }
  });

  it('answers 503 when the store is not writable', async () => {
    await rm(gw.dataDir, { recursive: true, force: true });
    const res = await gw.fetch('/home');
    expect(res.status).toBe(503);
    expect((await res.json()).error.code).toBe('not_ready');
  });
});

describe('stock, tax, discount', () => {
  it('serve the catalogue in TabShop shapes, on GET and POST', async () => {
    for (const method of ['GET', 'POST']) {
      const stock = await (await gw.fetch('/stock', { method })).json();
      expect(stock.products.length).toBeGreaterThan(10);
      for (const p of stock.products) {
        for (const k of ['id', 'category', 'title', 'description', 'attribute']) expect(typeof p[k]).toBe('string');
        for (const k of ['price', 'costprice', 'discountid', 'stockqty', 'taxid']) expect(typeof p[k]).toBe('number');
        expect(p.category.startsWith('/')).toBe(true);
      }
      const taxes = await (await gw.fetch('/tax', { method })).json();
      expect(taxes.taxes.length).toBeGreaterThan(0);
      for (const t of taxes.taxes) expect(t.percentage).toBeLessThan(1);
      const discounts = await (await gw.fetch('/discount', { method })).json();
      expect(Array.isArray(discounts.discounts)).toBe(true);
    }
  });

  it('serves untracked products as sell-beyond-stock and honours If-None-Match', async () => {
    const res = await gw.fetch('/stock');
    const { products } = await res.json();
    const untracked = products.find((p: { stockqty: number }) => p.stockqty === 999999);
    expect(Number(untracked.attribute) & 4).toBe(4);
    const again = await gw.fetch('/stock', { headers: { 'if-none-match': res.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });
});

describe('invoice push', () => {
  it('stores the seed example and answers "true" as text/plain', async () => {
    const res = await push(seedInvoices, { headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('true');
    const sale = await gw.json('/api/sales/TAB-1:201409200100001', { auth: adminAuth });
    expect(sale.status).toBe(200);
    expect(sale.body).toMatchObject({ identifier: 'TAB-1:201409200100001', cashRegisterName: 'TAB-1', status: 'completed', total: 6.38 });
    expect(sale.body.source.invoice).toEqual(seedInvoices.invoices[0]);
  });

  it.each([['application/json; charset=utf-8'], ['text/plain'], ['application/x-www-form-urlencoded'], ['']])(
    'parses the body as JSON whatever the Content-Type (%s)',
    async (type) => {
      const headers: Record<string, string> = type ? { 'content-type': type } : {};
      const res = await push(seedInvoices, { headers: { ...headers, accept: 'application/json' } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ received: 2, created: 2, updated: 0, unchanged: 0, quarantined: 0 });
    },
  );

  it('gives the JSON summary only when application/json is named explicitly', async () => {
    const wildcard = await push(seedInvoices, { headers: { accept: '*/*' } });
    expect(await wildcard.text()).toBe('true');
    const explicit = await push(seedInvoices, { headers: { accept: 'text/html, application/json;q=0.9' } });
    expect(await explicit.json()).toEqual({ received: 2, created: 0, updated: 0, unchanged: 2, quarantined: 0 });
  });

  it('is idempotent: a re-push, with numbers as strings or reordered positions, is unchanged', async () => {
    expect((await pushJson(seedInvoices)).body.created).toBe(2);
    const asStrings = structuredClone(seedInvoices) as any;
    asStrings.invoices[0].id = '201409200100001';
    asStrings.invoices[0].total = '6.380';
    asStrings.invoices[0].positions.reverse();
    for (const p of asStrings.invoices[0].positions) p.qty = '1.0';
    expect((await pushJson(asStrings)).body).toEqual({ received: 2, created: 0, updated: 0, unchanged: 2, quarantined: 0 });
    const list = await gw.json('/api/sales', { auth: adminAuth });
    expect(list.body.total).toBe(2);
  });

  it('a refund re-push (11) updates the sale, returns stock; a cancel (12) stays reversed; never a second sale', async () => {
    const before = await gw.json('/api/stock/301', { auth: adminAuth });
    expect(before.body.tracked).toBe(true);
    const sale = invoice(202611230100001, [{ productId: '301', qty: 2, total: 5 }]);
    expect((await pushJson({ invoices: [sale] })).body.created).toBe(1);
    expect((await gw.json('/api/stock/301', { auth: adminAuth })).body.quantity).toBe(before.body.quantity - 2);
    const stock = await (await gw.fetch('/stock')).json();
    expect(stock.products.find((p: { id: string }) => p.id === '301').stockqty).toBe(before.body.quantity - 2);

    expect((await pushJson({ invoices: [{ ...sale, checkoutStatus: '11' }] })).body).toMatchObject({ updated: 1, created: 0 });
    expect((await gw.json('/api/stock/301', { auth: adminAuth })).body.quantity).toBe(before.body.quantity);
    expect((await gw.json('/api/sales/TAB-1:202611230100001', { auth: adminAuth })).body).toMatchObject({ status: 'refunded', version: 2 });
    expect((await pushJson({ invoices: [{ ...sale, checkoutStatus: 12 }] })).body).toMatchObject({ updated: 1 });
    expect((await gw.json('/api/stock/301', { auth: adminAuth })).body.quantity).toBe(before.body.quantity);
    expect((await pushJson({ invoices: [{ ...sale, checkoutStatus: 12 }] })).body).toMatchObject({ unchanged: 1 });
    expect((await gw.json('/api/sales?cashRegisterName=TAB-1', { auth: adminAuth })).body.total).toBe(1);
  });

  it('a first-seen invoice already reversed is created as reversed and leaves stock alone', async () => {
    const before = (await gw.json('/api/stock/301', { auth: adminAuth })).body.quantity;
    const res = await pushJson({ invoices: [invoice(202611230100009, [{ productId: '301', qty: 1, total: 2.5 }], { checkoutStatus: '12' })] });
    expect(res.body.created).toBe(1);
    expect((await gw.json('/api/sales/TAB-1:202611230100009', { auth: adminAuth })).body.status).toBe('cancelled');
    expect((await gw.json('/api/stock/301', { auth: adminAuth })).body.quantity).toBe(before);
  });

  it('quarantines a collision with both versions and leaves the stored sale untouched', async () => {
    const original = invoice(202611230100002, [{ productId: '301', qty: 1, total: 2.5 }]);
    await pushJson({ invoices: [original] });
    const other = invoice(202611230100002, [{ productId: '401', qty: 3, total: 7.5 }]);
    expect((await pushJson({ invoices: [other] })).body).toEqual({ received: 1, created: 0, updated: 0, unchanged: 0, quarantined: 1 });
    expect((await pushJson({ invoices: [other] })).body.quarantined).toBe(1);
    const q = await gw.json('/api/quarantine', { auth: adminAuth });
    expect(q.body.total).toBe(1);
    expect(q.body.items[0]).toMatchObject({ code: 'collision', cashRegisterName: 'TAB-1', payload: other, stored: original });
    const stored = await gw.json('/api/sales/TAB-1:202611230100002', { auth: adminAuth });
    expect(stored.body.lines[0].product).toBe('301');
    expect(stored.body.version).toBe(1);
  });

  it('the same invoice id on two registers is two sales', async () => {
    const sale = invoice(202611230100003, [{ productId: '301', qty: 1, total: 2.5 }]);
    await pushJson({ invoices: [sale] });
    expect((await pushJson({ invoices: [sale] }, device2Auth)).body.created).toBe(1);
  });

  it('one bad invoice never blocks its batch', async () => {
    const good = invoice(202611230100004, [{ productId: '301', qty: 1, total: 2.5 }]);
    const badAmount = invoice(202611230100005, [{ productId: '301', qty: 1, total: 'lots' }]);
    const res = await pushJson({ invoices: [good, 'not an invoice', badAmount, { positions: [] }] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: 4, created: 1, updated: 0, unchanged: 0, quarantined: 3 });
    const q = await gw.json('/api/quarantine', { auth: adminAuth });
    expect(q.body.total).toBe(3);
    expect(q.body.items.map((i: { reason: string }) => i.reason).join('\n')).toContain('must be number or numeric string');
    expect((await pushJson({ invoices: [badAmount] })).body.quarantined).toBe(1);
    expect((await gw.json('/api/quarantine', { auth: adminAuth })).body.total).toBe(3);
  });

  it('stores an invoice carrying "__proto__" or "constructor" keys like any extra field, and keeps them', async () => {
    const body = `{"invoices":[${JSON.stringify(invoice(202611230100007, [{ productId: '301', qty: 1, total: 2.5 }])).slice(0, -1)},"__proto__":{"x":1},"constructor":{"prototype":{"polluted":true}}}]}`;
    const first = await pushJson(body);
    expect(first).toEqual({ status: 200, body: { received: 1, created: 1, updated: 0, unchanged: 0, quarantined: 0 } });
    expect((await pushJson(body)).body.unchanged).toBe(1);
    const sale = await gw.json('/api/sales/TAB-1:202611230100007', { auth: adminAuth });
    expect(Object.getOwnPropertyNames(sale.body.source.invoice)).toContain('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('the same invoice twice in one batch is created then unchanged', async () => {
    const sale = invoice(202611230100006, [{ productId: '301', qty: 1, total: 2.5 }]);
    expect((await pushJson({ invoices: [sale, sale, { ...sale, checkoutStatus: '11' }] })).body).toEqual({
      received: 3,
      created: 1,
      updated: 1,
      unchanged: 1,
      quarantined: 0,
    });
  });

  it('accepts an empty batch', async () => {
    expect((await pushJson({ invoices: [] })).body).toEqual({ received: 0, created: 0, updated: 0, unchanged: 0, quarantined: 0 });
  });

  it.each([
    ['not JSON', '{"invoices": [', 'invalid_json'],
    ['not an object', '[1,2]', 'invalid_body'],
    ['no invoices array', '{"invoice": []}', 'invalid_body'],
    ['an empty body', '', 'invalid_json'],
  ])('400 for %s, with only the raw body quarantined', async (_name, body, code) => {
    const res = await push(body);
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe(code);
    const q = await gw.json('/api/quarantine', { auth: adminAuth });
    expect(q.body.items).toEqual([expect.objectContaining({ code: 'invalid_body', payload: body })]);
    expect((await gw.json('/api/sales', { auth: adminAuth })).body.total).toBe(0);
  });

  it('answers 405 for GET invoice and a JSON 404 for unknown routes', async () => {
    const get = await gw.fetch('/invoice');
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const unknown = await gw.fetch('/nope');
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe('not_found');
  });
});

describe('body limit', () => {
  it('answers 413 with a JSON error above server.bodyLimit', async () => {
    const small = await startTestGateway({ server: { host: '127.0.0.1', port: 0, bodyLimit: '1kb' } });
    try {
      const res = await small.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: [], pad: 'x'.repeat(4000) }) });
      expect(res.status).toBe(413);
      expect((await res.json()).error.code).toBe('payload_too_large');
    } finally {
      await small.stop();
      await removeDir(small.dir);
    }
  });
});
