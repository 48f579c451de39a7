import { pageSecurityHeaders } from '../http/page-security.js';
import { readFileSync } from 'node:fs';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { accountOf, basicAuth } from '../auth/basic-auth.js';
import { paging, stringParam, timeParam } from '../api/http.js';
import { AppError, notFound } from '../errors.js';
import type { Gateway } from '../gateway.js';
import { assertSameOrigin, sameSecret } from '../ops/status-routes.js';
import type { Kitchen, KitchenChange } from './kitchen.js';
import { renderKitchenPage } from './page.js';
import { NotAnOrderError } from './types.js';

/** public/kitchen at the package root: src/kitchen and dist/kitchen are both two levels below it. */
const ASSETS = new URL('../../public/kitchen/', import.meta.url);
const ASSET_TYPES: Record<string, string> = { 'kitchen.js': 'text/javascript; charset=utf-8', 'kitchen.css': 'text/css; charset=utf-8' };
const HEARTBEAT_MS = 15_000;
/** How soon a browser reconnects after the stream broke (EventSource `retry`). */
const RECONNECT_MS = 1_000;
const STATES = new Set(['open', 'done', 'rejected', 'all']);

/** Only local files, no inline code; the live stream and the button posts go to this origin. */
const kitchenSecurityHeaders = pageSecurityHeaders({
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  connectSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  formAction: ["'none'"],
});

export interface KitchenRouterDeps {
  gateway: Gateway;
  kitchen: Kitchen;
}

/**
 * The kitchen screen (/kitchen, its files and live stream under /kitchen/) and the kitchen API
 * (<api.basePath>/kitchen/orders). Admins and kitchen accounts may use both; a kitchen account
 * may use nothing else. HTTP Basic auth, so the screen can later move behind a session sign-in.
 */
export function kitchenRouter({ gateway, kitchen }: KitchenRouterDeps): Router {
  const router = Router();
  const recall = gateway.config.kitchen?.recall ?? 20;
  const api = `${gateway.config.api.basePath.replace(/\/+$/, '')}/kitchen`;
  const auth = basicAuth({ accounts: gateway.accounts, throttle: gateway.throttle, allow: (a) => a.role === 'admin' || a.role === 'kitchen', what: 'kitchen' });
  // A cross-site page cannot read it, so cannot forge the button posts (src/kitchen/open.ts: whose it is).
  const csrfToken = gateway.kitchen!.screenToken;
  const assets = Object.fromEntries(Object.keys(ASSET_TYPES).map((name) => [name, readFileSync(new URL(name, ASSETS))]));

  const screen: RequestHandler[] = [
    kitchenSecurityHeaders,
    (_req, res, next) => {
      res.set('Cache-Control', 'no-store');
      next();
    },
    auth,
  ];

  router.get('/kitchen', ...screen, (req, res) => {
    if (/\/$/.test(req.originalUrl.split('?')[0])) {
      res.redirect(301, '../kitchen');
      return;
    }
    res.type('html').send(renderKitchenPage({ user: accountOf(res).username, recall }).value);
  });

  router.get('/kitchen/events', ...screen, (req, res) => streamChanges(req, res, kitchen, csrfToken, gateway));

  router.get('/kitchen/:asset', ...screen, (req, res, next) => {
    const body = assets[req.params.asset as string];
    if (!body) return next();
    res.set('Content-Type', ASSET_TYPES[req.params.asset as string]);
    res.send(body);
  });

  const pageAction =
    (action: 'done' | 'reopen'): RequestHandler =>
    async (req, res) => {
      assertSameOrigin(req);
      if (!sameSecret(String(req.headers['x-csrf-token'] ?? ''), csrfToken)) {
        throw new AppError('forbidden', 'the kitchen screen is stale or the request was not sent by it; reload /kitchen');
      }
      res.json(await change(kitchen, String(req.params.id), action, res, req));
    };
  router.post('/kitchen/orders/:id/done', ...screen, pageAction('done'));
  router.post('/kitchen/orders/:id/reopen', ...screen, pageAction('reopen'));

  router.get(`${api}/orders`, auth, async (req, res) => {
    const state = stringParam(req, 'state') ?? 'open';
    if (!STATES.has(state)) throw new AppError('bad_request', 'state must be open, done, rejected or all', [{ field: 'state', message: 'invalid' }]);
    const { firstResult, maxResults } = paging(req);
    res.json(await kitchen.list({ state: state as 'open', from: timeParam(req, 'from'), to: timeParam(req, 'to'), firstResult, maxResults }));
  });
  router.get(`${api}/orders/:id`, auth, async (req, res) => {
    const order = await kitchen.view(String(req.params.id));
    if (!order) throw notFound(`kitchen order ${req.params.id}`);
    res.json(order);
  });
  const apiAction =
    (action: 'done' | 'reopen'): RequestHandler =>
    async (req, res) => {
      // Basic credentials a browser remembers ride along on cross-site posts: refuse those.
      assertSameOrigin(req);
      res.json(await change(kitchen, String(req.params.id), action, res, req));
    };
  router.post(`${api}/orders/:id/done`, auth, apiAction('done'));
  router.post(`${api}/orders/:id/reopen`, auth, apiAction('reopen'));

  return router;
}

async function change(kitchen: Kitchen, id: string, action: 'done' | 'reopen', res: Response, req: Request) {
  try {
    const order = action === 'done' ? await kitchen.markDone(id) : await kitchen.reopen(id);
    if (!order) throw notFound(`kitchen order ${id}`);
    req.log?.info({ event: `kitchen.${action}`, id, user: accountOf(res).username }, `kitchen order ${id}: ${action}`);
    return order;
  } catch (err) {
    if (err instanceof NotAnOrderError) throw new AppError('kitchen_order_rejected', err.message);
    throw err;
  }
}

const eventText = (c: KitchenChange, live: boolean) => `id: ${c.seq}\nevent: order\ndata: ${JSON.stringify({ ...c.order, live })}\n\n`;

/**
 * Server-Sent Events: `hello` (the screen's CSRF token), then either the changes after
 * the browser's Last-Event-ID (a reconnect: nothing lost, nothing twice) or `reset` and the whole
 * picture; then every change as it becomes durable. Event ids are the orders' change seqs,
 * which survive restarts.
 */
function streamChanges(req: Request, res: Response, kitchen: Kitchen, csrfToken: string, gateway: Gateway): void {
  const header = req.headers['last-event-id'];
  const given = typeof header === 'string' ? header : stringParam(req, 'since');
  const since = given !== undefined && /^\d{1,15}$/.test(given) ? Number(given) : null;
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  res.socket?.setNoDelay(true);
  const write = (text: string) => {
    if (!res.writableEnded) res.write(text);
  };
  write(`retry: ${RECONNECT_MS}\nevent: hello\ndata: ${JSON.stringify({ csrfToken })}\n\n`);
  // Live changes are held back until the catch-up is out, then sent if it did not include them.
  let last = -1;
  let held: KitchenChange[] | null = [];
  const send = (c: KitchenChange, live: boolean) => {
    if (c.seq <= last) return;
    last = c.seq;
    write(eventText(c, live));
  };
  const unsubscribe = kitchen.subscribe((c) => (held ? held.push(c) : send(c, true)));
  const heartbeat = setInterval(() => write(': keep-alive\n\n'), HEARTBEAT_MS);
  const end = () => {
    clearInterval(heartbeat);
    unsubscribe();
    if (!res.writableEnded) res.end();
  };
  kitchen.onStreamsEnd(end);
  res.on('close', () => {
    kitchen.offStreamsEnd(end);
    end();
  });
  kitchen.changes(since).then(
    ({ reset, changes }) => {
      if (reset) write(`event: reset\ndata: {}\n\n`);
      else last = since!;
      for (const c of changes) send(c, false);
      const live = held ?? [];
      held = null;
      for (const c of live) send(c, true);
    },
    (err) => {
      gateway.logger.error({ err }, 'could not read kitchen orders for a live screen');
      end();
    },
  );
}
