import express, { type Express, type RequestHandler, type Router } from 'express';
import { apiRouter } from './api/routes.js';
import type { Gateway } from './gateway.js';
import { jsonErrorHandler, jsonNotFound, normalisePath } from './http/error-handler.js';
import { createOps, type Ops } from './ops/ops.js';
import { requestLogger } from './ops/request-log.js';
import { tabshopRouter } from './tabshop/routes.js';
import { AppError } from './errors.js';
import { forwardingRouter } from './forward/routes.js';
import { presence } from './http/presence.js';
import { freshReads } from './http/fresh-reads.js';
import { boundUnreadBody } from './http/unread-body.js';
import { adminRouter } from './admin/router.js';
import { kitchenRouter } from './kitchen/routes.js';

export type AppDeps = Gateway;

/** Builds the HTTP app over an opened gateway. Never listens: the CLI owns the process. */
export function createApp(deps: AppDeps, opts: { webBackOffice?: boolean } = {}): Express {
  const { config } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', config.server.trustProxy);
  app.use(boundUnreadBody);
  app.use(normalisePath);
  app.use(requestLogger(deps.logger));
  const ops = createOps(deps);
  app.locals.ops = ops;
  app.use(ops.observeRequests);
  app.use(presence(deps.backOffice, deps.now));
  app.use(freshReads(deps.store));
  // Tablets first: their routes (home, stock, tax, discount, invoice) share no path with the ops
  // routes, and a push then passes a few route layers fewer.
  app.use(
    config.tabshop.basePath,
    tabshopRouter({
      ...deps,
      bodyLimit: config.server.bodyLimit,
      ready: () => catalogueReady(deps),
      legacy: config.tabshop.legacy,
      maxInvoicesPerPush: config.tabshop.maxInvoicesPerPush,
    }),
  );
  app.use(ops.router);
  // Several shops (src/shops): only shop default's app has the web back office.
  if (opts.webBackOffice !== false) app.use('/admin', adminRouter({ gateway: deps, activity: ops.activity, dailySales: ops.dailySales }));
  if (deps.kitchen) app.use(kitchenRouter({ gateway: deps, kitchen: deps.kitchen.kitchen }));
  // Built on the first API request: a deployment of shops keeps many shops open that only their
  // tablets use, and the API's ~250 routes are most of an app's memory (~115 KB of ~210 KB).
  app.use(
    config.api.basePath,
    builtOnFirstUse(() =>
      apiRouter({
        ...deps,
        bodyLimit: config.server.bodyLimit,
        extra: [forwardingRouter(deps.forwarding, deps.now)],
        assertWritable: () => {
          if (config.upstream) throw new AppError('bridge_mode_read_only', 'articles are owned by the upstream server in bridge mode; change them there');
        },
      }),
    ),
  );
  app.use(jsonNotFound);
  app.use(jsonErrorHandler);
  return app;
}

/** A router built on its first request, or when its routes are walked (`stack`, as test/shops/isolation.test.ts does). */
function builtOnFirstUse(build: () => Router): RequestHandler {
  let router: Router | undefined;
  const built = () => (router ??= build());
  const handler: RequestHandler = (req, res, next) => built()(req, res, next);
  return Object.defineProperty(handler, 'stack', { get: () => built().stack });
}

/** The operations layer of an app built by createApp (a deployment of shops reads each shop's figures from it). */
export const opsOf = (app: Express): Ops => app.locals.ops as Ops;

/** Bridge mode serves tablets only once a catalogue from upstream is on disk (then also while upstream is down). */
function catalogueReady(deps: AppDeps): boolean {
  const upstream = deps.forwarding?.upstream();
  return !upstream || upstream.mode === 'standalone' || upstream.catalogueCached;
}
