import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoice, removeDir } from '../helpers.js';
import { usePostgresCluster } from '../postgres-suite.js';
import { skipPostgres } from '../postgres.js';
import { BISTRO_ADMIN, BISTRO_DEVICE, CAFE_ADMIN, CAFE_DEVICE, OPERATOR, TWO_SHOPS, type TestDeployment, auth, startTestDeployment } from './helpers.js';

/**
 * Isolation, generated over every route of a shop's app (walked from its routers, so a new route
 * is tried without anyone listing it): shop A's device, shop A's admin and an operator try each
 * method and path, with and without /api/shops/{shop}, against shop B's identifiers. Nothing of B
 * is ever answered (B's data carries a marker no request sends) and nothing of B changes.
 */
const MARK = 'BISTRO-SECRET';
const B = 'bistro';
const A = 'cafe';

interface Route {
  method: string;
  path: string;
}

/** Every route of an express app: its routers' stacks, walked with their mount paths. */
function routesOf(app: unknown): Route[] {
  const out: Route[] = [];
  type Layer = { route?: { path: string | string[]; methods: Record<string, boolean> }; handle?: { stack?: Layer[] }; slash?: boolean; rawPath?: unknown };
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const path of [layer.route.path].flat()) {
          for (const method of Object.keys(layer.route.methods)) out.push({ method: method === '_all' ? 'patch' : method, path: prefix + path });
        }
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, prefix + (layer.slash ? '' : String(layer.rawPath ?? '')));
      }
    }
  };
  walk((app as { router: { stack: Layer[] } }).router.stack, '');
  return out;
}

let d: TestDeployment;
let hook: Server;
/** B's identifiers, by the path segment a parameter follows. */
const ids: Record<string, string> = {};
let routes: Route[] = [];

async function snapshotOfB(): Promise<string> {
  const lists = [
    'sales?maxResults=1000',
    'products',
    'taxes',
    'discounts',
    'categories',
    'commodities',
    'stock',
    'quarantine?state=all',
    'deadletters?state=all',
    'outbox',
    'days',
    'version',
    'modifications',
    `sales/${encodeURIComponent(ids.sales)}/history`,
  ];
  const parts: unknown[] = [];
  for (const list of lists) {
    const r = await d.json(`/api/shops/${B}/${list}`, { auth: auth(OPERATOR) });
    expect(r.status, list).toBe(200);
    // The outbox status says when it was read.
    parts.push(list === 'outbox' ? { ...r.body, at: undefined } : r.body);
  }
  return JSON.stringify(parts);
}

/** The path with each parameter set to B's identifier of that kind; an unknown kind fails the test (map it above). */
function withBIds(path: string): string {
  const segments = path.split('/');
  return segments
    .map((s, i) => {
      if (!s.startsWith(':')) return s;
      const before = segments[i - 1];
      if (before.startsWith(':')) return '100'; // sales-diff/:from/:to
      // Admin pages name things as the API does (sales, products, days, quarantine, ...).
      const value = ids[before] ?? (s === ':dayId' ? ids.days : undefined);
      if (value === undefined) throw new Error(`no B identifier for ${s} after /${before} in ${path}: add one to the isolation test`);
      return encodeURIComponent(value);
    })
    .join('/');
}

/** A body that would change B's item if it reached B: a quantity, a price, a reason, a status... */
function bodyFor(path: string): string {
  return JSON.stringify({
    identifier: ids.products,
    name: 'from A',
    price: 1,
    vat: 1,
    percentage: 1,
    quantity: 0,
    delta: -50,
    amount: 1,
    reason: 'isolation',
    product: ids.products,
    category: ids.categories,
    invoices: [invoice(777000111, [{ productId: '4242', qty: 9, total: 1 }], { checkoutStatus: '12' })],
    cashRegisterName: ids.registrations,
    status: 'cancelled',
    ...(path.includes('sales') && { lines: [] }),
  });
}

/** The suite on one store: `store` gives the config's `store` key (none: lowdb in the test's data dir). */
function isolationSuite(name: string, store: () => Promise<{ store: unknown } | undefined>): void {
  beforeAll(async () => {
    for (const k of Object.keys(ids)) delete ids[k];
    // B's webhook refuses everything (400): B's sale becomes a dead letter.
    hook = createServer((_req, res) => res.writeHead(400).end('{"error":"no"}'));
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    const shops = TWO_SHOPS.shops.map((s) => (s.id === B ? { ...s, webhooks: [{ url: hookUrl, secret: 's', events: ['sale.created'] }] } : s));
    d = await startTestDeployment({ ...TWO_SHOPS, shops, ...(await store()) });
    const bAdmin = { auth: auth(BISTRO_ADMIN) };
    // B's catalogue, every item with the marker.
    const put = async (path: string, body: unknown) =>
      expect((await d.json(`/api/${path}`, { method: 'PUT', ...bAdmin, body })).status, path).toBeLessThan(300);
    await put('taxes/9', { name: `${MARK} tax`, vat: 10 });
    await put('discounts/9', { name: `${MARK} discount`, percentage: 5 });
    await put('categories/bcat', { name: `${MARK} category` });
    await put('products/4242', { name: `${MARK} product`, price: 4.2, tax: '9' });
    await put('commodities/4242.bcat', { product: '4242', category: 'bcat' });
    await put('stock/4242', { quantity: 50 });
    const customer = { name: `${MARK} customer`, address: '', email: '' };
    const good = invoice(777000111, [{ productId: '4242', qty: 2, total: 8.4 }], { customer });
    const bad = invoice(777000222, [{ productId: '4242', qty: 1, total: 4.2 }], { customer, date: '5000' });
    const pushed = await d.json('/invoice', {
      method: 'POST',
      auth: auth(BISTRO_DEVICE),
      body: { invoices: [good, bad] },
      headers: { accept: 'application/json' },
    });
    expect(pushed.body).toMatchObject({ created: 1, quarantined: 1 });
    ids.sales = `${BISTRO_DEVICE.cashRegister}:777000111`;
    ids.quarantine = (await d.json('/api/quarantine', bAdmin)).body.items[0].id;
    ids.days = (await d.json('/api/days', bAdmin)).body.items[0].dayId;
    for (let i = 0; i < 200 && !ids.deadletters; i++) {
      const dead = (await d.json('/api/deadletters', bAdmin)).body.items;
      if (dead.length > 0) ids.deadletters = dead[0].id ?? dead[0].identifier;
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(ids.deadletters, 'B has a dead letter').toBeTruthy();
    Object.assign(ids, {
      taxes: '9',
      discounts: '9',
      categories: 'bcat',
      products: '4242',
      commodities: '4242.bcat',
      stock: '4242',
      registrations: BISTRO_DEVICE.cashRegister,
      devices: BISTRO_DEVICE.username,
      orders: 'o-1',
      kitchen: 'kitchen.js',
      'sales-diff': '0',
    });
    // Every route of a shop's app: shop default's has them all (the others go without the web back office).
    routes = routesOf(d.directory.defaultShop!.app);
  }, 120_000);

  afterAll(async () => {
    await d?.stop();
    await new Promise((resolve) => hook?.close(resolve));
    if (d) await removeDir(d.dir);
  });

  describe(`isolation on ${name}: shop A’s accounts and an operator against shop B`, () => {
    it('walks every route (a shop app has them all)', () => {
      expect(routes.length).toBeGreaterThan(100);
      for (const must of [
        '/invoice',
        '/stock',
        '/admin/sales/:id',
        '/admin/products/:id',
        '/api/sales/:id',
        '/api/quarantine/:id/release',
        '/api/deadletters/:identifier/retry',
        '/api/days/:dayId/report',
      ])
        expect(routes.map((r) => r.path)).toContain(must);
    });

    it('never answers B’s data and never changes B', async () => {
      const before = await snapshotOfB();
      expect(before).toContain(MARK);
      // Shop A's admin signed in to A's own back office (/shops/{shop}/admin/, src/shops/back-office.ts).
      const signedIn = await fetch(`${d.url}/shops/${A}/admin/sign-in`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: CAFE_ADMIN.username, password: CAFE_ADMIN.password }).toString(),
      });
      expect(signedIn.status).toBe(303);
      const aSession = (signedIn.headers.get('set-cookie') ?? '').split(';')[0];
      const callers: { who: string; auth?: string; cookie?: string; operator: boolean }[] = [
        { who: 'A device', auth: auth(CAFE_DEVICE), operator: false },
        { who: 'A admin', auth: auth(CAFE_ADMIN), operator: false },
        { who: 'operator', auth: auth(OPERATOR), operator: true },
        { who: 'A admin’s back-office session', cookie: aSession, operator: false },
      ];
      let tried = 0;
      const problems: string[] = [];
      for (const route of routes) {
        const path = withBIds(route.path);
        const api = path.startsWith('/api/');
        // The status page is also at /shops/{shop}/status (src/shops/status.ts).
        const page = path === '/status' || path.startsWith('/status/');
        // So is the web back office: every shop's at /shops/{shop}/admin/, with sessions of its own.
        const admin = path === '/admin' || path.startsWith('/admin/');
        const variants = api
          ? [path, `/api/shops/${B}${path.slice(4)}`, `/api/shops/${A}${path.slice(4)}`]
          : page || admin
            ? [path, `/shops/${B}${path}`]
            : [path];
        for (const caller of callers) {
          for (const url of variants) {
            const bAdmin = url.startsWith(`/shops/${B}/admin`);
            // The operator is meant to reach B through B's own prefix: that is not a leak (Basic auth opens no back office: tried).
            if (caller.operator && !bAdmin && (url.startsWith(`/api/shops/${B}/`) || url.startsWith(`/shops/${B}/`))) continue;
            const method = route.method.toUpperCase();
            const body = method === 'GET' || method === 'HEAD' ? undefined : bodyFor(url);
            const res = await fetch(`${d.url}${url}?cashRegisterName=${encodeURIComponent(ids.registrations)}&state=all`, {
              method,
              headers: {
                ...(caller.auth ? { authorization: caller.auth } : { cookie: caller.cookie ?? '' }),
                'content-type': 'application/json',
                accept: 'application/json',
              },
              body,
              redirect: 'manual',
            });
            const text = await res.text();
            tried++;
            const where = `${caller.who} ${method} ${url} → ${res.status}`;
            if (text.includes(MARK)) problems.push(`${where}: answered B's data`);
            if (bAdmin) {
              // Not signed in to B's back office: sent to its sign-in (or its slash redirect), or refused; only the
              // sign-in page and the stylesheet and script are public.
              const location = res.headers.get('location') ?? '';
              const toSignIn = res.status === 303 && /(^|\/)sign-in(\?|$)/.test(location.split('#')[0]);
              const slash = res.status === 301 && method === 'GET';
              const publicPage = res.status === 200 && method === 'GET' && /\/admin\/(sign-in|assets\/admin\.(css|js))$/.test(url);
              if (!toSignIn && !slash && !publicPage && ![401, 403, 404].includes(res.status))
                problems.push(`${where} ${location}: B's back office must refuse`);
            } else if ((url.startsWith(`/api/shops/${B}/`) || url.startsWith(`/shops/${B}/`)) && ![401, 403, 404].includes(res.status))
              problems.push(`${where}: B's prefix must be 401, 403 or 404`);
            if (caller.operator && api && !url.startsWith('/api/shops/') && res.status !== 400) problems.push(`${where}: operators must name the shop`);
          }
        }
      }
      expect(problems).toEqual([]);
      expect(tried).toBeGreaterThan(500);
      expect(await snapshotOfB()).toBe(before);
    }, 120_000);

    it('A’s device pushing B’s invoice ids and register makes A’s sales, never B’s', async () => {
      const before = await snapshotOfB();
      const r = await d.json('/invoice', {
        method: 'POST',
        auth: auth(CAFE_DEVICE),
        body: { invoices: [invoice(777000111, [{ productId: '4242', qty: 1, total: 1 }], { checkoutStatus: '11' })] },
        headers: { accept: 'application/json' },
      });
      expect(r.status).toBe(200);
      expect((await d.json(`/api/sales/${encodeURIComponent(`${CAFE_DEVICE.cashRegister}:777000111`)}`, { auth: auth(CAFE_ADMIN) })).body.status).not.toBe(
        undefined,
      );
      expect(await snapshotOfB()).toBe(before);
      // B's sale is still completed, its stock untouched (50 − 2).
      expect((await d.json(`/api/shops/${B}/sales/${encodeURIComponent(ids.sales)}`, { auth: auth(OPERATOR) })).body.status).toBe('completed');
      expect((await d.json(`/api/shops/${B}/stock/4242`, { auth: auth(OPERATOR) })).body.quantity).toBe(48);
    });
  });
}

isolationSuite('lowdb', async () => undefined);

describe.skipIf(skipPostgres)('on PostgreSQL (one schema per shop)', () => {
  const pg = usePostgresCluster();
  isolationSuite('PostgreSQL', async () => ({ store: { dataDir: './data', postgres: { url: await pg.cluster.createDatabase() } } }));
});
