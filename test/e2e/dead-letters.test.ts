import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ADMIN, adminAuth, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';
import { eventually, fastUpstream } from './bridge-helpers.js';
import { skipPostgres, startPostgres, type PgCluster } from '../postgres.js';

let cluster: PgCluster | null = null;
afterAll(async () => {
  await cluster?.stop();
});

/** Where the gateway keeps its data: files (the default), or a fresh PostgreSQL database, whose outbox workers claim from the table. */
async function storeOf(backend: 'files' | 'PostgreSQL'): Promise<Record<string, unknown>> {
  if (backend === 'files') return {};
  cluster ??= await startPostgres();
  return { store: { dataDir: './data', postgres: { url: await cluster.createDatabase() } } };
}

let server: Server | null = null;
let hook: Server | null = null;
let a: TestGateway | null = null;
let b: TestGateway | null = null;
afterEach(async () => {
  if (a) {
    await a.stop();
    await removeDir(a.dir);
    a = null;
  }
  if (b) {
    await b.stop();
    await removeDir(b.dir);
    b = null;
  }
  if (server) await new Promise((r) => server!.close(r));
  server = null;
  if (hook) await new Promise((r) => hook!.close(r));
  hook = null;
});

/** A webhook that refuses every event for good. */
async function refusingWebhook(): Promise<string> {
  hook = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(422).end('no'));
  });
  await new Promise<void>((r) => hook!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
}

/** An upstream that already holds sale TAB-1:5 (another tablet with the same POS id): POST answers 409 sale_collision, PUT overwrites. */
async function collidingUpstream() {
  const sales = new Map<string, unknown>([['TAB-1:5', { identifier: 'TAB-1:5', total: 99 }]]);
  const requests: string[] = [];
  const app = express();
  app.use(express.json());
  app.use((req, _res, next) => {
    requests.push(`${req.method} ${req.path}`);
    next();
  });
  app.get('/version', (_req, res) => res.json({ version: 1 }));
  for (const name of ['taxes', 'categories', 'products', 'commodities']) app.get(`/${name}`, (_req, res) => res.json({ items: [], total: 0 }));
  app.post('/sales', (req, res) => {
    if (sales.has(req.body.identifier))
      return res.status(409).json({ error: { code: 'sale_collision', message: `sale ${req.body.identifier} exists with a different date or lines` } });
    sales.set(req.body.identifier, req.body);
    res.status(201).json(req.body);
  });
  app.put('/sales/:id', (req, res) => {
    sales.set(req.params.id, req.body);
    res.json(req.body);
  });
  app.use((_req, res) => res.status(404).json({ error: { code: 'not_found', message: 'no route' } }));
  server = createServer(app);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, sales, requests };
}

const admin = (path: string, method = 'GET', body?: unknown) => a!.json(path, { method, body, auth: adminAuth });

describe.each(['files', 'PostgreSQL'] as const)('dead letters (%s): dismiss, list dismissed, retry as PUT', { timeout: 60_000 }, (backend) => {
  it.skipIf(backend === 'PostgreSQL' && skipPostgres)(
    'a sale_collision dead letter is dismissed with a reason, stops counting, survives a restart, and can be retried as a PUT',
    async () => {
      const upstream = await collidingUpstream();
      const config = { upstream: { baseUrl: upstream.url, pollIntervalMs: 60_000, retryCapMs: 100, timeoutMs: 1_000 }, ...(await storeOf(backend)) };
      a = await startTestGateway(config);
      await eventually(async () => (await a!.fetch('/home')).status === 200, 'ready');
      await a.fetch('/invoice', {
        method: 'POST',
        body: JSON.stringify({ invoices: [invoice(5, [{ productId: 'x', qty: 1, total: 2 }]), invoice(6, [{ productId: 'x', qty: 1, total: 3 }])] }),
      });
      await eventually(async () => (await admin('/api/deadletters')).body.total === 1 && upstream.sales.has('TAB-1:6'), 'a dead letter');
      expect((await admin('/api/deadletters')).body.items[0]).toMatchObject({ identifier: 'TAB-1:5', state: 'open', status: 409 });
      expect((await admin('/readyz')).body).toMatchObject({ status: 'degraded', checks: { outbox: { status: 'warn', deadLetters: 1 } } });

      for (const body of [undefined, {}, { reason: '' }, { reason: 'x', why: 'y' }]) {
        expect((await admin('/api/deadletters/TAB-1:5/dismiss', 'POST', body)).status).toBe(400);
      }
      expect((await admin('/api/deadletters/TAB-1:404/dismiss', 'POST', { reason: 'x' })).status).toBe(404);
      const dismissed = await admin('/api/deadletters/TAB-1:5/dismiss', 'POST', { reason: "the other tablet's sale upstream is the right one" });
      expect(dismissed).toMatchObject({ status: 200, body: { identifier: 'TAB-1:5', dismissed: 1, state: 'dismissed' } });
      expect((await admin('/api/deadletters/TAB-1:5/dismiss', 'POST', { reason: 'again' })).body.error.code).toBe('not_open');
      expect((await admin('/api/deadletters')).body.total).toBe(0);
      expect((await admin('/api/outbox')).body.deadLetters).toBe(0);
      expect((await admin('/readyz')).body).toMatchObject({ status: 'ready', checks: { outbox: { status: 'ok', deadLetters: 0 } } });
      expect((await admin('/api/deadletters?state=bogus')).status).toBe(400);

      await a.stop();
      a = await startTestGateway(config, a.dir);
      const kept = (await admin('/api/deadletters?state=dismissed')).body;
      expect(kept.total).toBe(1);
      expect(kept.items[0]).toMatchObject({
        identifier: 'TAB-1:5',
        state: 'dismissed',
        resolvedBy: 'admin',
        resolution: "the other tablet's sale upstream is the right one",
        sale: { identifier: 'TAB-1:5', total: 2 },
      });
      expect((await admin('/api/deadletters?state=all')).body.total).toBe(1);
      expect((await admin('/readyz')).body.checks.outbox.deadLetters).toBe(0);

      expect((await admin('/api/deadletters/TAB-1:5/retry', 'POST', { method: 'PATCH' })).body.error.details).toEqual([
        { field: '/method', message: 'must be "PUT"' },
      ]);
      const retry = await admin('/api/deadletters/TAB-1:5/retry', 'POST', { method: 'PUT' });
      expect(retry).toMatchObject({ status: 202, body: { identifier: 'TAB-1:5', retried: 1, method: 'PUT' } });
      await eventually(() => (upstream.sales.get('TAB-1:5') as { total: number }).total === 2, 'the local version upstream');
      expect(upstream.requests).toContain('PUT /sales/TAB-1:5');
      await eventually(async () => (await admin('/api/deadletters?state=all')).body.total === 0, 'no dead letter left');
    },
  );

  it.skipIf(backend === 'PostgreSQL' && skipPostgres)(
    'the status page dismisses or retries the dead letter of its row only, not the letter of the same sale for another target',
    async () => {
      const upstream = await collidingUpstream();
      const hookUrl = await refusingWebhook();
      const config = {
        upstream: { baseUrl: upstream.url, pollIntervalMs: 60_000, retryCapMs: 100, timeoutMs: 1_000 },
        webhooks: [{ url: hookUrl, secret: 'a-webhook-secret-of-some-length', retryCapMs: 100 }],
        ...(await storeOf(backend)),
      };
      a = await startTestGateway(config);
      await eventually(async () => (await a!.fetch('/home')).status === 200, 'ready');
      await a.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: [invoice(5, [{ productId: 'x', qty: 1, total: 2 }])] }) });
      await eventually(async () => (await admin('/api/deadletters')).body.total === 2, 'a dead letter per target');
      const webhookTarget = (await admin('/api/deadletters')).body.items.find((d: { target: string }) => d.target !== 'upstream').target as string;

      const page = await (await a.fetch('/status', { auth: adminAuth })).text();
      const token = /name="token" value="([^"]+)"/.exec(page)![1];
      const form = (action: string, fields: Record<string, string>) =>
        a!.fetch(`/status/deadletters/TAB-1:5/${action}`, {
          method: 'POST',
          auth: adminAuth,
          redirect: 'manual',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: a!.url },
          body: new URLSearchParams({ token, ...fields }).toString(),
        });
      // The page's forms name the target of their row.
      expect(page).toContain(`name="target" value="${webhookTarget}"`);
      expect((await form('dismiss', { reason: 'the hook is a test endpoint', target: webhookTarget })).status).toBe(303);
      const open = (await admin('/api/deadletters')).body;
      expect(open.items).toMatchObject([{ identifier: 'TAB-1:5', target: 'upstream', state: 'open' }]);
      expect((await admin('/api/deadletters?state=dismissed')).body.items).toMatchObject([{ target: webhookTarget }]);

      // Retrying the upstream row sends that letter only (the dismissed webhook letter stays dismissed).
      expect((await form('retry', { target: 'upstream' })).status).toBe(303);
      await eventually(() => upstream.requests.filter((r) => r === 'POST /sales').length >= 2, 'the upstream letter sent again');
      expect((await admin('/api/deadletters?state=dismissed')).body.total).toBe(1);
      // The API takes the same ?target=.
      await eventually(async () => (await admin('/api/deadletters')).body.total === 1, 'refused again');
      expect((await admin(`/api/deadletters/TAB-1:5/dismiss?target=upstream`, 'POST', { reason: 'upstream keeps its sale' })).body.dismissed).toBe(1);
      expect((await admin('/api/deadletters?state=dismissed')).body.total).toBe(2);
      expect((await admin(`/api/deadletters/TAB-1:5/retry?target=${encodeURIComponent(webhookTarget)}`, 'POST')).body.retried).toBe(1);
      expect((await admin('/api/deadletters?state=dismissed')).body.items).toMatchObject([{ target: 'upstream' }]);
    },
  );

  it.skipIf(backend === 'PostgreSQL')('retry as a PUT overwrites the colliding sale of an upstream that is another tabshop-gateway', async () => {
    b = await startTestGateway();
    // Upstream already holds TAB-1:5 (pushed by another tablet with the same POS id).
    await b.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: [invoice(5, [{ productId: 'x', qty: 1, total: 9 }])] }) });
    a = await startTestGateway({ upstream: fastUpstream(b.url) });
    await eventually(async () => (await a!.fetch('/home')).status === 200, 'ready');
    await a.fetch('/invoice', {
      method: 'POST',
      body: JSON.stringify({ invoices: [invoice(5, [{ productId: 'x', qty: 2, total: 4 }], { date: String(Date.now() - 60_000) })] }),
    });
    await eventually(async () => (await admin('/api/deadletters')).body.total === 1, 'a dead letter');
    expect((await admin('/api/deadletters')).body.items[0]).toMatchObject({
      identifier: 'TAB-1:5',
      status: 409,
      response: expect.stringContaining('sale_collision'),
    });

    expect((await admin('/api/deadletters/TAB-1:5/retry', 'POST', { method: 'PUT' })).status).toBe(202);
    await eventually(async () => (await b!.json('/api/sales/TAB-1:5', { auth: adminAuth })).body.total === 4, 'the local version upstream');
    await eventually(async () => (await admin('/api/deadletters?state=all')).body.total === 0, 'no dead letter left');
  });

  it.skipIf(backend === 'PostgreSQL' && skipPostgres)('the back office (/admin) retries or dismisses the dead letter of its row only', async () => {
    const upstream = await collidingUpstream();
    const hookUrl = await refusingWebhook();
    a = await startTestGateway({
      upstream: { baseUrl: upstream.url, pollIntervalMs: 60_000, retryCapMs: 100, timeoutMs: 1_000 },
      webhooks: [{ url: hookUrl, secret: 'a-webhook-secret-of-some-length', retryCapMs: 100 }],
      ...(await storeOf(backend)),
    });
    await eventually(async () => (await a!.fetch('/home')).status === 200, 'ready');
    await a.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: [invoice(5, [{ productId: 'x', qty: 1, total: 2 }])] }) });
    await eventually(async () => (await admin('/api/deadletters')).body.total === 2, 'a dead letter per target');
    const webhookTarget = (await admin('/api/deadletters')).body.items.find((d: { target: string }) => d.target !== 'upstream').target as string;

    const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
    const signIn = await a.fetch('/admin/sign-in', {
      method: 'POST',
      auth: null,
      redirect: 'manual',
      headers: FORM,
      body: new URLSearchParams({ username: ADMIN.username, password: ADMIN.password }).toString(),
    });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0];
    const page = await (await a.fetch('/admin/quarantine', { auth: null, headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1];
    expect(page).toContain(`name="target" value="${webhookTarget}"`);
    const post = (action: string, fields: Record<string, string>) =>
      a!.fetch(`/admin/quarantine/deadletters/TAB-1:5/${action}`, {
        method: 'POST',
        auth: null,
        redirect: 'manual',
        headers: { ...FORM, cookie, origin: a!.url },
        body: new URLSearchParams({ _csrf: csrf, ...fields }).toString(),
      });
    expect((await post('dismiss', { reason: 'the hook is a test endpoint', target: webhookTarget })).status).toBe(303);
    expect((await admin('/api/deadletters')).body.items).toMatchObject([{ target: 'upstream', state: 'open' }]);
    expect((await post('retry', { method: 'PUT', target: 'upstream' })).status).toBe(303);
    await eventually(() => upstream.requests.includes('PUT /sales/TAB-1:5'), 'the upstream letter sent as a PUT');
    expect((await admin('/api/deadletters?state=dismissed')).body.items).toMatchObject([{ target: webhookTarget }]);
  });
});
