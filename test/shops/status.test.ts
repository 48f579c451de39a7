import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoice, removeDir } from '../helpers.js';
import { deadLetter, FakeForwarding, target } from '../ops/fake-forwarding.js';
import { BISTRO_ADMIN, BISTRO_DEVICE, CAFE_ADMIN, CAFE_DEVICE, OPERATOR, TWO_SHOPS, type TestDeployment, auth, startTestDeployment } from './helpers.js';

const date = String(Date.now());
const DEAD = 'CAFE-1:7777';

/** The text of one cell (data-field) of one table row, tags stripped. */
function cell(page: string, rowAttr: string, field: string): string | undefined {
  const row = new RegExp(`<tr ${rowAttr}>([\\s\\S]*?)</tr>`).exec(page)?.[1];
  const value = row && new RegExp(`data-field="${field}"><div class="v">([\\s\\S]*?)</div></t[dh]>`).exec(row)?.[1];
  return value
    ?.replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([^{\s]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

const text = async (d: TestDeployment, path: string, who: string | null, init: RequestInit = {}) => {
  const headers = new Headers(init.headers);
  if (who) headers.set('authorization', who);
  const res = await fetch(d.url + path, { ...init, headers, redirect: 'manual' });
  return { status: res.status, body: await res.text(), headers: res.headers };
};

describe('status page and metrics of a deployment of shops', () => {
  let d: TestDeployment;
  let cafeForwarding: FakeForwarding;

  beforeAll(async () => {
    d = await startTestDeployment(TWO_SHOPS);
    const push = (who: string, invoices: unknown[]) =>
      d.json('/invoice', { method: 'POST', auth: who, body: { invoices }, headers: { accept: 'application/json' } });
    expect((await push(auth(CAFE_DEVICE), [invoice(1, [{ productId: 'p1', qty: 1, total: '2.50' }], { date })])).status).toBe(200);
    expect(
      (
        await push(auth(BISTRO_DEVICE), [
          invoice(1, [{ productId: 'p9', qty: 3, total: '9.00' }], { date }),
          invoice(2, [{ productId: 'p9', qty: 1, total: '4.25' }], { date }),
          { id: 'broken' },
        ])
      ).status,
    ).toBe(200);
    cafeForwarding = new FakeForwarding();
    cafeForwarding.targetStates = [target('upstream', { depth: 1 })];
    cafeForwarding.dead = [deadLetter(DEAD, { lastError: '422 unknown product' })];
    (await d.directory.gateway('cafe')).gateway.forwarding = cafeForwarding;
    // A shop created through the API and never used: not open.
    expect((await d.json('/api/shops', { method: 'POST', auth: auth(OPERATOR), body: { id: 'deli', name: 'Deli <b>&</b> "Co"' } })).status).toBe(201);
  });

  afterAll(async () => {
    await d?.stop();
    if (d) await removeDir(d.dir);
  });

  it("an operator's /status lists every shop with its figures and a link to its page, never opening a shop", async () => {
    const res = await text(d, '/status', auth(OPERATOR));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('script-src');
    expect(res.body).not.toMatch(/<script/i);

    const page = res.body;
    for (const id of ['default', 'cafe', 'bistro', 'deli']) expect(page).toContain(`<tr data-shop="${id}">`);
    expect(page).toContain('href="shops/cafe/status"');
    expect(page).toContain('href="shops/bistro/status"');
    expect(cell(page, 'data-shop="cafe"', 'sales')).toBe('1');
    expect(cell(page, 'data-shop="cafe"', 'total')).toBe('2.50 EUR');
    expect(cell(page, 'data-shop="bistro"', 'sales')).toBe('2');
    expect(cell(page, 'data-shop="bistro"', 'total')).toBe('13.25 CHF');
    expect(cell(page, 'data-shop="bistro"', 'quarantine-open')).toBe('1');
    expect(cell(page, 'data-shop="cafe"', 'quarantine-open')).toBe('0');
    expect(cell(page, 'data-shop="cafe"', 'dead-letters')).toBe('1');
    expect(cell(page, 'data-shop="bistro"', 'dead-letters')).toBe('n/a');
    expect(cell(page, 'data-shop="cafe"', 'devices-seen')).toMatch(/^1 of 1 /);
    expect(cell(page, 'data-shop="cafe"', 'health')).toMatch(/^(ready|degraded)/);
    // Not open: what the directory knows, and its name escaped.
    expect(cell(page, 'data-shop="deli"', 'health')).toBe('not open');
    expect(cell(page, 'data-shop="deli"', 'sales')).toBe('—');
    expect(cell(page, 'data-shop="deli"', 'devices-seen')).toBe('— of 0');
    expect(page).toContain('Deli &lt;b&gt;&amp;&lt;/b&gt; &quot;Co&quot;');
    expect(page).not.toContain('<b>&</b>');
    expect(d.directory.isOpen('deli')).toBe(false);
    // Answered by the deployment itself, with its request line like every request.
    expect(d.logs.some((l) => l.includes('"path":"/status"') && l.includes('"status":200'))).toBe(true);
  });

  it("an operator opens a shop's page at /shops/{shop}/status: that shop's page, its links and forms under the shop", async () => {
    const res = await text(d, '/shops/bistro/status', auth(OPERATOR));
    expect(res.status).toBe(200);
    expect(res.body).toContain('<tr data-device="bistro-tablet">');
    expect(res.body).not.toContain('cafe-tablet');
    expect(cell(res.body, 'data-register="\\(all\\)"', 'total')).toBe('13.25');
    // The shop it is, and the way back to every shop.
    expect(res.body).toContain('Shop <strong data-field="shop-name">Bistro</strong> (<span data-field="shop-id">bistro</span>)');
    expect(res.body).toContain('<a href="../../status" id="all-shops">all shops</a>');
    // The quarantine links lead to the shop's API, relative to the page.
    const link = /<a href="([^"]+)" id="quarantine-link">/.exec(res.body)![1];
    expect(link).toBe('../../api/shops/bistro/quarantine');
    const list = await d.json(new URL(link, `${d.url}/shops/bistro/status`).pathname, { auth: auth(OPERATOR) });
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(1);

    // The retry form posts under the shop's page and comes back to it.
    const cafe = await text(d, '/shops/cafe/status', auth(OPERATOR));
    const token = /name="token" value="([^"]+)"/.exec(cafe.body)![1];
    const action = /<form method="post" action="([^"]+)"><input type="hidden" name="token"/.exec(cafe.body)![1];
    expect(action).toBe(`status/deadletters/${encodeURIComponent(DEAD)}/retry`);
    const posted = await text(d, `/shops/cafe/${action}`, auth(OPERATOR), {
      method: 'POST',
      body: new URLSearchParams({ token, target: 'upstream' }),
      headers: { origin: d.url },
    });
    expect(posted.status).toBe(303);
    expect(new URL(posted.headers.get('location')!, `${d.url}/shops/cafe/${action}`).pathname).toBe('/shops/cafe/status');
    expect(cafeForwarding.retried).toEqual([DEAD]);

    expect((await text(d, '/shops/nope/status', auth(OPERATOR))).status).toBe(404);
    expect((await text(d, '/shops/Not_OK/status', auth(OPERATOR))).status).toBe(400);
  });

  it("a shop's admin sees their own shop's page as before, never another shop's name or figures", async () => {
    for (const path of ['/status', '/shops/cafe/status']) {
      const res = await text(d, path, auth(CAFE_ADMIN));
      expect(res.status).toBe(200);
      expect(res.body).toContain('<tr data-device="cafe-tablet">');
      expect(cell(res.body, 'data-register="\\(all\\)"', 'total')).toBe('2.50');
      for (const other of ['bistro', 'Bistro', '13.25', '4.25', 'Deli', 'data-shop=', 'all-shops']) expect(res.body).not.toContain(other);
    }
    // Today's page for the shop's admin: links relative to /status, to the shop's own /api.
    expect((await text(d, '/status', auth(BISTRO_ADMIN))).body).toContain('<a href="./api/quarantine" id="quarantine-link">');
    for (const path of ['/shops/bistro/status', '/shops/deli/status', '/shops/nope/status']) {
      const res = await text(d, path, auth(CAFE_ADMIN));
      expect(res.status).toBe(404);
      expect(res.body).not.toContain('Bistro');
      expect(res.body).not.toContain('13.25');
    }
    expect(d.directory.isOpen('deli')).toBe(false);
  });

  it('/metrics: every open shop with a shop label for operators, process and HTTP series once; nothing of a shop not open', async () => {
    await d.json('/api/shops/cafe/sales', { auth: auth(OPERATOR) });
    await d.json('/api/shops/bistro/sales', { auth: auth(OPERATOR) });
    const res = await text(d, '/metrics', auth(OPERATOR));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const m = res.body;
    expect(metricValue(m, 'tabshop_invoices_total', { shop: 'cafe', register: 'CAFE-1', outcome: 'created' })).toBe(1);
    expect(metricValue(m, 'tabshop_invoices_total', { shop: 'bistro', register: 'CAFE-1', outcome: 'created' })).toBe(2);
    expect(metricValue(m, 'tabshop_quarantine_open', { shop: 'bistro' })).toBe(1);
    expect(metricValue(m, 'tabshop_quarantine_open', { shop: 'cafe' })).toBe(0);
    expect(metricValue(m, 'tabshop_outbox_dead_letters', { shop: 'cafe', target: 'upstream' })).toBe(0);
    expect(metricValue(m, 'tabshop_device_last_push_timestamp_seconds', { shop: 'bistro', device: 'bistro-tablet' })).toBeGreaterThan(0);
    expect(metricValue(m, 'tabshop_shops', { state: 'open' })).toBe(3);
    expect(metricValue(m, 'tabshop_shops', { state: 'closed' })).toBe(1);
    expect(m).not.toContain('shop="deli"');
    // Deployment-wide once: HTTP (the shop in a route is ":shop"), process, version.
    expect(metricValue(m, 'http_requests_total', { method: 'GET', route: '/api/shops/:shop/sales', status: '200' })).toBe(2);
    expect(metricValue(m, 'http_requests_total', { route: '/invoice', status: '200' })).toBe(2);
    expect(m).not.toMatch(/^http_requests_total\{[^}]*shop=/m);
    expect(m).not.toMatch(/route="[^"]*(cafe|bistro)/);
    expect(metricValue(m, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(m).not.toMatch(/^process_cpu_user_seconds_total\{/m);
    // One HELP and TYPE per metric family, every sample of a family together (the exposition format).
    const types = [...m.matchAll(/^# TYPE (\S+) /gm)].map((x) => x[1]);
    expect(new Set(types).size).toBe(types.length);
    const families = m
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => /^[^{\s]+/.exec(l)![0].replace(/_(bucket|sum|count)$/, ''));
    const changes = families.filter((f, i) => i > 0 && f !== families[i - 1]);
    expect(new Set(changes).size).toBe(changes.length);
    expect(d.directory.isOpen('deli')).toBe(false);
  });

  it("/metrics for a shop's admin: that shop's series only; devices and anonymous callers read neither page nor metrics", async () => {
    const res = await text(d, '/metrics', auth(CAFE_ADMIN));
    expect(res.status).toBe(200);
    expect(metricValue(res.body, 'tabshop_invoices_total', { shop: 'cafe', outcome: 'created' })).toBe(1);
    for (const other of ['bistro', 'shop="default"', 'process_', 'http_requests_total', 'tabshop_shops']) expect(res.body).not.toContain(other);

    for (const who of [auth(CAFE_DEVICE), auth(BISTRO_DEVICE), null, auth({ ...OPERATOR, password: 'wrong' })]) {
      for (const path of ['/status', '/metrics', '/shops/cafe/status']) {
        const r = await text(d, path, who);
        expect([401, 404]).toContain(r.status);
        expect(r.body).not.toContain('CAFE-1');
        expect(r.body).not.toContain('tabshop_');
      }
    }
    expect((await text(d, '/metrics', null)).headers.get('www-authenticate')).toBe('Basic realm="tabshop-gateway"');
  });
  it('a shop closed since (idle): the overview shows its last figures and their time, /metrics nothing of it', async () => {
    await text(d, '/status', auth(OPERATOR));
    // The café has items waiting in its outbox: it stays open; the bistro closes.
    expect(await d.directory.closeIdle(0)).toBe(1);
    const page = (await text(d, '/status', auth(OPERATOR))).body;
    expect(cell(page, 'data-shop="bistro"', 'health')).toMatch(/^not open figures as of \d\d:\d\d:\d\d/);
    expect(cell(page, 'data-shop="bistro"', 'total')).toBe('13.25 CHF');
    const m = (await text(d, '/metrics', auth(OPERATOR))).body;
    expect(m).not.toContain('shop="bistro"');
    expect(metricValue(m, 'tabshop_shops', { state: 'closed' })).toBe(2);
    expect(metricValue(m, 'tabshop_quarantine_open', { shop: 'cafe' })).toBe(0);
    expect(d.directory.isOpen('bistro')).toBe(false);
  });

  it("a disabled shop: marked on the overview and counted; its admin's /metrics is 403 shop_disabled", async () => {
    expect((await d.json('/api/shops/bistro', { method: 'PATCH', auth: auth(OPERATOR), body: { disabled: true } })).status).toBe(200);
    try {
      const page = (await text(d, '/status', auth(OPERATOR))).body;
      expect(cell(page, 'data-shop="bistro"', 'health')).toMatch(/^not open disabled/);
      expect(metricValue((await text(d, '/metrics', auth(OPERATOR))).body, 'tabshop_shops_disabled')).toBe(1);
      const admin = await d.json('/metrics', { auth: auth(BISTRO_ADMIN) });
      expect(admin.status).toBe(403);
      expect(admin.body.error.code).toBe('shop_disabled');
    } finally {
      await d.json('/api/shops/bistro', { method: 'PATCH', auth: auth(OPERATOR), body: { disabled: false } });
    }
  });
});

describe('a deployment with one shop', () => {
  it('answers /metrics as a single gateway does (no shop label, no credentials needed), except to operators', async () => {
    const d = await startTestDeployment({ operators: [OPERATOR] });
    try {
      const res = await text(d, '/metrics', null);
      expect(res.status).toBe(200);
      expect(res.body).toContain('tabshop_quarantine_open 0');
      expect(res.body).not.toContain('shop=');
      // Operators get the deployment's answer, labelled, even with one shop.
      const operator = await text(d, '/metrics', auth(OPERATOR));
      expect(metricValue(operator.body, 'tabshop_quarantine_open', { shop: 'default' })).toBe(0);
      expect(metricValue(operator.body, 'tabshop_shops', { state: 'open' })).toBe(1);
    } finally {
      await d.stop();
      await removeDir(d.dir);
    }
  });
});
