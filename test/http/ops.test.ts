import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, adminAuth, basic, DEVICE, DEVICE2, deviceAuth, device2Auth, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';
import { deadLetter, FakeForwarding, target } from '../ops/fake-forwarding.js';

const gateways: TestGateway[] = [];
afterEach(async () => {
  for (const g of gateways.splice(0)) {
    await g.stop();
    await removeDir(g.dir);
  }
});

async function start(overrides: Record<string, unknown> = {}, dir?: string): Promise<TestGateway> {
  const g = await startTestGateway(overrides, dir);
  gateways.push(g);
  return g;
}

const now = () => String(Date.now());
const push = (g: TestGateway, invoices: unknown[], auth = deviceAuth) =>
  g.fetch('/invoice', { method: 'POST', auth, body: JSON.stringify({ invoices }), headers: { accept: 'application/json' } });

function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([^{\s]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('/healthz and /readyz', () => {
  it('healthz is alive without auth; readyz names every check and is ready when standalone', async () => {
    const g = await start();
    expect((await g.json('/healthz', { auth: null })).body).toMatchObject({ status: 'ok' });
    const ready = await g.json('/readyz', { auth: null });
    expect(ready.status).toBe(200);
    expect(ready.body.status).toMatch(/^(ready|degraded)$/);
    expect(Object.keys(ready.body.checks)).toEqual(['store', 'disk', 'upstream', 'outbox']);
    expect(ready.body.checks.store.status).toBe('ok');
    expect(ready.body.checks.upstream.status).toBe('standalone');
    expect(ready.body.checks.outbox.status).toBe('standalone');
    expect(typeof ready.body.checks.disk.freeBytes).toBe('number');
  });

  it('says which check fails: 503 when the outbox is stuck or upstream is down with nothing cached', async () => {
    const g = await start({ ops: { outboxMaxAgeSeconds: 60 } });
    const fwd = new FakeForwarding();
    g.gateway.forwarding = fwd;
    fwd.targetStates = [target('upstream', { depth: 4, oldestAgeMs: 120_000, lastError: 'ECONNREFUSED 10.0.0.5:8080' })];
    fwd.upstreamState = { mode: 'bridge', reachable: false, breaker: 'open', lastSyncAt: null, catalogueCached: false };
    const res = await g.json('/readyz', { auth: null });
    expect(res.status).toBe(503);
    expect(res.body.status).toBe('not_ready');
    expect(res.body.failing).toEqual(['upstream', 'outbox']);
    expect(res.body.checks.outbox.message).toContain('upstream: 4 waiting, oldest 120 s (ECONNREFUSED 10.0.0.5:8080)');
    expect(res.body.checks.upstream.message).toContain('no catalogue cached');

    fwd.targetStates = [target('upstream', { depth: 1, oldestAgeMs: 2000 })];
    fwd.upstreamState = { ...fwd.upstreamState, catalogueCached: true, lastSyncAt: new Date().toISOString() };
    const degraded = await g.json('/readyz', { auth: null });
    expect(degraded.status).toBe(200);
    expect(degraded.body.checks.upstream.status).toBe('warn');
    expect(degraded.body.checks.outbox.status).toBe('ok');
  });

  it('fails the store check when the data dir is gone', async () => {
    const g = await start();
    await removeDir(g.dataDir);
    const res = await g.json('/readyz', { auth: null });
    expect(res.status).toBe(503);
    expect(res.body.failing).toContain('store');
  });
});

describe('/metrics', () => {
  it('exposes requests by route pattern, invoices by outcome, quarantine, device pushes, process metrics', async () => {
    const g = await start();
    const date = now();
    await push(g, [invoice(1001, [{ productId: 'a', qty: 1, total: 2.5 }], { date }), invoice(1002, [{ productId: 'b', qty: 1, total: 1 }], { date })]);
    await push(g, [invoice(1001, [{ productId: 'a', qty: 1, total: 2.5 }], { date }), { id: 'broken' }]);
    await push(g, [invoice(1002, [{ productId: 'zzz', qty: 9, total: 9 }], { date })]); // collision
    await g.fetch('/api/sales/TAB-1:1001', { auth: adminAuth });
    await g.fetch('/api/sales/TAB-1:1002', { auth: adminAuth });
    await g.fetch('/home', { auth: basic(DEVICE.username, 'wrong') });

    const res = await g.fetch('/metrics', { auth: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(metricValue(text, 'http_requests_total', { method: 'GET', route: '/api/sales/:id', status: '200' })).toBe(2);
    expect(text).not.toContain('TAB-1:1001');
    expect(metricValue(text, 'http_requests_total', { route: '/invoice', status: '200' })).toBe(3);
    expect(metricValue(text, 'http_requests_total', { route: '/home', status: '401' })).toBe(1);
    expect(metricValue(text, 'http_request_duration_seconds_count', { route: '/invoice', status: '200' })).toBe(3);
    expect(metricValue(text, 'tabshop_invoices_total', { register: 'TAB-1', outcome: 'created' })).toBe(2);
    expect(metricValue(text, 'tabshop_invoices_total', { register: 'TAB-1', outcome: 'unchanged' })).toBe(1);
    expect(metricValue(text, 'tabshop_invoices_total', { register: 'TAB-1', outcome: 'quarantined' })).toBe(2);
    expect(metricValue(text, 'tabshop_invoices_total', { register: 'TAB-1', outcome: 'collision' })).toBe(1);
    expect(metricValue(text, 'tabshop_quarantine_items')).toBe(2);
    expect(metricValue(text, 'tabshop_quarantine_open')).toBe(2);
    expect(metricValue(text, 'tabshop_quarantined_total', { code: 'collision' })).toBe(1);
    const lastPush = metricValue(text, 'tabshop_device_last_push_timestamp_seconds', { device: DEVICE.username, register: 'TAB-1' });
    expect(lastPush).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(metricValue(text, 'tabshop_device_last_push_timestamp_seconds', { device: DEVICE2.username })).toBeUndefined();
    expect(metricValue(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(metricValue(text, 'tabshop_build_info')).toBe(1);
  });

  it('exposes outbox, breaker and upstream figures from forwarding status and events', async () => {
    const g = await start();
    const fwd = new FakeForwarding();
    g.gateway.forwarding = fwd;
    fwd.targetStates = [target('upstream', { depth: 5, oldestAgeMs: 42_000 }), target('webhook:https://u:pw@hooks.example/in?token=t0k', { depth: 0 })];
    fwd.dead = [deadLetter('TAB-1:9')];
    fwd.upstreamState = { mode: 'bridge', reachable: false, breaker: 'open', lastSyncAt: '2026-11-23T10:00:00.000Z', catalogueCached: true };
    const ev = g.gateway.events;
    ev.emit('upstream.request', { method: 'POST', path: '/sales', status: 201, ms: 40 });
    ev.emit('upstream.request', { method: 'POST', path: '/sales', status: null, ms: 10_000, error: 'timeout of 10000ms exceeded' });
    ev.emit('upstream.request', { method: 'PUT', path: '/sales/TAB-1:77', status: 503, ms: 12 });
    ev.emit('upstream.breaker', { state: 'open', failures: 5 });
    ev.emit('outbox.retry', { target: 'upstream', identifier: 'TAB-1:1', attempts: 2, error: 'x', nextAttemptAt: new Date() });
    ev.emit('outbox.deadletter', { target: 'upstream', identifier: 'TAB-1:9', attempts: 3, error: '422' });

    const text = await (await g.fetch('/metrics', { auth: null })).text();
    expect(metricValue(text, 'tabshop_outbox_depth', { target: 'upstream' })).toBe(5);
    expect(metricValue(text, 'tabshop_outbox_oldest_age_seconds', { target: 'upstream' })).toBe(42);
    expect(metricValue(text, 'tabshop_outbox_depth', { target: 'webhook:https://hooks.example/in' })).toBe(0);
    expect(text).not.toContain('t0k');
    expect(text).not.toContain('u:pw');
    expect(metricValue(text, 'tabshop_outbox_dead_letters', { target: 'upstream' })).toBe(1);
    expect(metricValue(text, 'tabshop_upstream_breaker_state', { state: 'open' })).toBe(1);
    expect(metricValue(text, 'tabshop_upstream_breaker_state', { state: 'closed' })).toBe(0);
    expect(metricValue(text, 'tabshop_upstream_breaker_transitions_total', { state: 'open' })).toBe(1);
    expect(metricValue(text, 'tabshop_upstream_reachable')).toBe(0);
    expect(metricValue(text, 'tabshop_upstream_request_duration_seconds_count', { method: 'POST', resource: '/sales', status: '201' })).toBe(1);
    expect(metricValue(text, 'tabshop_upstream_request_errors_total', { method: 'POST', resource: '/sales' })).toBe(1);
    expect(metricValue(text, 'tabshop_upstream_request_errors_total', { method: 'PUT', resource: '/sales' })).toBe(1);
    expect(metricValue(text, 'tabshop_outbox_retries_total', { target: 'upstream' })).toBe(1);
    expect(metricValue(text, 'tabshop_outbox_dead_lettered_total', { target: 'upstream' })).toBe(1);
    expect(metricValue(text, 'tabshop_catalogue_last_sync_timestamp_seconds')).toBe(Date.parse('2026-11-23T10:00:00.000Z') / 1000);
  });

  it('leaves out the bridge-mode series of a standalone gateway (no upstream: nothing reachable or synced)', async () => {
    const g = await start();
    const text = await (await g.fetch('/metrics', { auth: null })).text();
    expect(metricValue(text, 'tabshop_upstream_reachable')).toBeUndefined();
    expect(metricValue(text, 'tabshop_catalogue_last_sync_timestamp_seconds')).toBeUndefined();
    expect(metricValue(text, 'tabshop_upstream_breaker_state', { state: 'closed' })).toBeUndefined();
    // Bridge mode before the first contact: reachability unknown, never synced.
    const fwd = new FakeForwarding();
    g.gateway.forwarding = fwd;
    fwd.upstreamState = { mode: 'bridge', reachable: null, breaker: 'closed', lastSyncAt: null, catalogueCached: false };
    const bridge = await (await g.fetch('/metrics', { auth: null })).text();
    expect(metricValue(bridge, 'tabshop_upstream_reachable')).toBeUndefined();
    expect(metricValue(bridge, 'tabshop_catalogue_last_sync_timestamp_seconds')).toBeUndefined();
    fwd.upstreamState = { ...fwd.upstreamState, reachable: true, lastSyncAt: '2026-11-23T10:00:00.000Z' };
    const synced = await (await g.fetch('/metrics', { auth: null })).text();
    expect(metricValue(synced, 'tabshop_upstream_reachable')).toBe(1);
    expect(metricValue(synced, 'tabshop_catalogue_last_sync_timestamp_seconds')).toBe(Date.parse('2026-11-23T10:00:00.000Z') / 1000);
  });

  it('needs an admin when ops.metricsRequireAdmin is set', async () => {
    const g = await start({ ops: { metricsRequireAdmin: true } });
    expect((await g.fetch('/metrics', { auth: null })).status).toBe(401);
    expect((await g.fetch('/metrics', { auth: deviceAuth })).status).toBe(401);
    expect((await g.fetch('/metrics', { auth: adminAuth })).status).toBe(200);
  });

  it('keeps separate registries for two apps in one process', async () => {
    const a = await start();
    const b = await start();
    await push(a, [invoice(1, [{ productId: 'a', qty: 1, total: 1 }], { date: now() })]);
    expect(metricValue(await (await a.fetch('/metrics', { auth: null })).text(), 'tabshop_invoices_total', { outcome: 'created' })).toBe(1);
    expect(metricValue(await (await b.fetch('/metrics', { auth: null })).text(), 'tabshop_invoices_total', { outcome: 'created' })).toBeUndefined();
  });
});

describe('/status', () => {
  it('needs an admin (devices and anonymous get 401 with a challenge) and carries security headers', async () => {
    const g = await start();
    for (const auth of [null, deviceAuth, basic(ADMIN.username, 'wrong')]) {
      const res = await g.fetch('/status', { auth });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="tabshop-gateway"');
    }
    const res = await g.fetch('/status', { auth: adminAuth });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('strict-transport-security')).toBeNull();
    const page = await res.text();
    expect(page).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(page).not.toMatch(/<script/i);
  });

  it('escapes pushed content (quarantined ids and reasons)', async () => {
    const g = await start();
    await push(g, [{ id: '<script>alert(1)</script>', date: now(), positions: 'x' }]);
    const page = await (await g.fetch('/status', { auth: adminAuth })).text();
    expect(page).not.toContain('<script>alert(1)</script>');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it("shows devices: last seen, last push, a failing login; today's figures per register (its open business day)", async () => {
    const g = await start();
    await push(g, [
      invoice(11, [{ productId: 'a', qty: 1, total: 6.38 }], { date: now() }),
      invoice(12, [{ productId: 'b', qty: 1, total: 4.98 }], { date: now() }),
    ]);
    await push(
      g,
      [invoice(21, [{ productId: 'a', qty: 1, total: 0.1 }], { date: now() }), invoice(22, [{ productId: 'a', qty: 1, total: 0.2 }], { date: now() })],
      device2Auth,
    );
    await push(g, [invoice(23, [{ productId: 'a', qty: 1, total: 5 }], { date: now(), checkoutStatus: '11' })], device2Auth);
    await push(g, [invoice(24, [{ productId: 'a', qty: 1, total: 7 }], { date: String(Date.now() - 3 * 86_400_000) })], device2Auth);
    await g.fetch('/home', { auth: basic(DEVICE2.username, 'typo') });
    const page = await (await g.fetch('/status', { auth: adminAuth })).text();
    const row = (attr: string) => page.slice(page.indexOf(attr), page.indexOf('</tr>', page.indexOf(attr)));
    const field = (rowHtml: string, name: string) => new RegExp(`data-field="${name}"><div class="v">([^<]*)<`).exec(rowHtml)?.[1];
    const tab1 = row('data-register="TAB-1"');
    expect(field(tab1, 'sales')).toBe('2');
    expect(field(tab1, 'total')).toBe('11.36');
    // Invoice 24 is dated three days ago but was received today: it belongs to the open day, as in the X report.
    const tab2 = row('data-register="TAB-2"');
    expect(field(tab2, 'sales')).toBe('3');
    expect(field(tab2, 'total')).toBe('7.30');
    expect(field(tab2, 'reversed')).toBe('1');
    expect(field(tab2, 'reversed-total')).toBe('5.00');
    expect(field(row('data-register="(all)"'), 'total')).toBe('18.66');
    expect(page).toContain('each register&#39;s open day, as in its X report');
    const dev1 = row(`data-device="${DEVICE.username}"`);
    expect(dev1).toContain('POST /invoice → 200');
    expect(dev1).toContain('2 received: 2 new, 0 updated, 0 unchanged, 0 quarantined');
    const dev2 = row(`data-device="${DEVICE2.username}"`);
    expect(dev2).toContain('login failing');
  });

  it("today's sales follow the register's open day: they agree with the X report and start again after a close", async () => {
    const g = await start();
    await push(g, [
      invoice(41, [{ productId: 'a', qty: 1, total: 2.5 }], { date: now() }),
      invoice(42, [{ productId: 'b', qty: 1, total: 1.25 }], { date: now() }),
    ]);
    const figures = async () => {
      const page = await (await g.fetch('/status', { auth: adminAuth })).text();
      const tab1 = page.slice(page.indexOf('data-register="TAB-1"'), page.indexOf('</tr>', page.indexOf('data-register="TAB-1"')));
      const field = (name: string) => new RegExp(`data-field="${name}"><div class="v">([^<]*)<`).exec(tab1)?.[1];
      return { sales: field('sales'), total: field('total') };
    };
    const x = (await g.json('/api/days/current/report?cashRegisterName=TAB-1', { auth: adminAuth })).body;
    expect(await figures()).toEqual({ sales: String(x.saleCount), total: x.gross.toFixed(2) });
    expect(await figures()).toEqual({ sales: '2', total: '3.75' });
    expect((await g.json(`/api/days/current?cashRegisterName=TAB-1&dayId=${x.dayId}`, { method: 'POST', auth: adminAuth })).status).toBe(201);
    // Same calendar day, but the day those sales belong to is closed: the new open day has none yet.
    expect(await figures()).toEqual({ sales: '0', total: '0.00' });
  });

  it('derives the last push from the stored sales after a restart', async () => {
    const g = await start();
    await push(g, [invoice(31, [{ productId: 'a', qty: 1, total: 1 }], { date: now() })]);
    await g.stop();
    gateways.splice(gateways.indexOf(g), 1);
    const again = await start({}, g.dir);
    const page = await (await again.fetch('/status', { auth: adminAuth })).text();
    const dev1 = page.slice(page.indexOf(`data-device="${DEVICE.username}"`));
    expect(dev1.slice(0, dev1.indexOf('</tr>'))).toContain('from stored sales');
  });

  it('retries a dead letter only from its own form: token and same origin required', async () => {
    const g = await start();
    const fwd = new FakeForwarding();
    g.gateway.forwarding = fwd;
    fwd.targetStates = [target('upstream')];
    fwd.dead = [deadLetter('TAB-1:7'), deadLetter('TAB-1:8')];
    const page = await (await g.fetch('/status', { auth: adminAuth })).text();
    const token = /name="token" value="([^"]+)"/.exec(page)![1];
    expect(page).toContain('action="status/deadletters/TAB-1%3A7/retry"');
    const post = (id: string, body: string, headers: Record<string, string> = {}, auth: string | null = adminAuth) =>
      g.fetch(`/status/deadletters/${encodeURIComponent(id)}/retry`, {
        method: 'POST',
        auth,
        redirect: 'manual',
        body,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      });
    expect((await post('TAB-1:7', `token=${token}`, {}, deviceAuth)).status).toBe(401);
    expect((await post('TAB-1:7', 'token=forged')).status).toBe(403);
    expect((await post('TAB-1:7', `token=${token}`, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await post('TAB-1:7', `token=${token}`, { referer: 'http://evil.example/x' })).status).toBe(403);
    expect(fwd.retried).toEqual([]);

    const ok = await post('TAB-1:7', `token=${encodeURIComponent(token)}`, { origin: g.url });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('../../../status?retried=TAB-1%3A7');
    expect(fwd.retried).toEqual(['TAB-1:7']);
    const missing = await post('TAB-1:7', `token=${encodeURIComponent(token)}`, { origin: g.url });
    expect(missing.headers.get('location')).toBe('../../../status?missing=TAB-1%3A7');
    const after = await (await g.fetch('/status?retried=TAB-1%3A7', { auth: adminAuth })).text();
    expect(after).toContain('Dead letter TAB-1:7 moved back to the outbox');
    expect(after).not.toContain('data-dead-letter="TAB-1:7"');
    expect(after).toContain('data-dead-letter="TAB-1:8"');
  });

  it('dismisses a dead letter from its own form, asking for the reason: token and same origin required', async () => {
    const g = await start();
    const fwd = new FakeForwarding();
    g.gateway.forwarding = fwd;
    fwd.targetStates = [target('upstream', { deadLetters: 2 })];
    fwd.dead = [deadLetter('TAB-1:7'), deadLetter('TAB-1:8')];
    const page = await (await g.fetch('/status', { auth: adminAuth })).text();
    const token = /name="token" value="([^"]+)"/.exec(page)![1];
    expect(page).toContain('action="status/deadletters/TAB-1%3A7/dismiss"');
    expect(page).toMatch(/<input name="reason" required[^>]*><button type="submit">Dismiss<\/button>/);
    const post = (id: string, body: string, headers: Record<string, string> = {}, auth: string | null = adminAuth) =>
      g.fetch(`/status/deadletters/${encodeURIComponent(id)}/dismiss`, {
        method: 'POST',
        auth,
        redirect: 'manual',
        body,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      });
    expect((await post('TAB-1:7', `token=${token}&reason=x`, {}, deviceAuth)).status).toBe(401);
    expect((await post('TAB-1:7', 'token=forged&reason=x')).status).toBe(403);
    expect((await post('TAB-1:7', `token=${token}&reason=x`, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await post('TAB-1:7', `token=${token}&reason=x`, { referer: 'http://evil.example/x' })).status).toBe(403);
    const blank = await post('TAB-1:7', `token=${encodeURIComponent(token)}&reason=+`, { origin: g.url });
    expect(blank.headers.get('location')).toBe('../../../status?noreason=TAB-1%3A7');
    expect(fwd.dismissed).toEqual([]);

    const ok = await post('TAB-1:7', `token=${encodeURIComponent(token)}&reason=${encodeURIComponent('sold twice by mistake')}`, { origin: g.url });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('../../../status?dismissed=TAB-1%3A7');
    expect(fwd.dismissed).toMatchObject([{ identifier: 'TAB-1:7', resolution: 'sold twice by mistake', resolvedBy: 'admin' }]);
    const after = await (await g.fetch('/status?dismissed=TAB-1%3A7', { auth: adminAuth })).text();
    expect(after).toContain('Dead letter TAB-1:7 dismissed');
    expect(after).not.toContain('data-dead-letter="TAB-1:7"');
    expect(after).toContain('data-dead-letter="TAB-1:8"');
    expect(after).toContain('1 dismissed (kept: <code>GET /api/deadletters?state=dismissed</code>)');
  });

  it('shows the open quarantine count with a link, and stops counting released or dismissed items', async () => {
    const g = await start();
    await push(g, [
      invoice(41, [{ productId: 'a', qty: 1, total: 1 }], { date: '5000' }),
      invoice(42, [{ productId: 'a', qty: 1, total: 1 }], { date: '6000' }),
    ]);
    const page = await (await g.fetch('/status', { auth: adminAuth })).text();
    expect(page).toContain('<a href="./api/quarantine" id="quarantine-link"><strong>2 open</strong></a>');
    const [first] = (await g.json('/api/quarantine', { auth: adminAuth })).body.items;
    await g.json(`/api/quarantine/${first.id}/dismiss`, { method: 'POST', body: { reason: 'training' }, auth: adminAuth });
    const after = await (await g.fetch('/status', { auth: adminAuth })).text();
    expect(after).toContain('<strong>1 open</strong>');
    expect(after).toContain('1 resolved');
    expect(after).not.toContain(`data-quarantine="${first.id}"`);
    const metrics = await (await g.fetch('/metrics', { auth: null })).text();
    expect(metricValue(metrics, 'tabshop_quarantine_open')).toBe(1);
    expect(metricValue(metrics, 'tabshop_quarantine_items')).toBe(2);
  });

  it('is absent with ops.statusPage false', async () => {
    const g = await start({ ops: { statusPage: false } });
    expect((await g.fetch('/status', { auth: adminAuth })).status).toBe(404);
  });
});

describe('login throttling behind a reverse proxy (server.trustProxy)', () => {
  function getVia(g: TestGateway, forwardedFor: string, auth: string): Promise<number> {
    const url = new URL(`${g.url}/home`);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: url.hostname, port: url.port, path: '/home', headers: { authorization: auth, 'x-forwarded-for': forwardedFor } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('throttles the forwarded client address, so one brute force does not lock out every tablet behind the proxy', async () => {
    const g = await start({ server: { host: '127.0.0.1', port: 0, trustProxy: 'loopback' } });
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push(await getVia(g, '10.0.0.66', basic(`user-${i}`, 'guess')));
    expect(statuses.at(-1)).toBe(429);
    expect(await getVia(g, '10.0.0.66', deviceAuth)).toBe(429);
    expect(await getVia(g, '10.0.0.21', deviceAuth)).toBe(200);
  });

  it('ignores X-Forwarded-For unless the proxy is trusted', async () => {
    const g = await start();
    for (let i = 0; i < 25; i++) await getVia(g, `10.0.1.${i}`, basic(`user-${i}`, 'guess'));
    expect(await getVia(g, '10.0.0.21', deviceAuth)).toBe(429);
  });
});
