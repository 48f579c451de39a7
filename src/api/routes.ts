import express, { type RequestHandler, Router } from 'express';
import type { Accounts } from '../auth/accounts.js';
import { accountOf, basicAuth } from '../auth/basic-auth.js';
import type { LoginThrottle } from '../auth/throttle.js';
import { AppError } from '../errors.js';
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../http/json-depth.js';
import { articlesRouter, type ArticlesDeps } from './articles.js';
import { backOfficeRouter, type BackOfficeDeps } from './back-office.js';
import { salesRouter, type SalesDeps } from './sales.js';
import { productImportRoute } from './product-import.js';
import { exportProductsCsv } from '../domain/product-import.js';
import { sendCsv } from './negotiate.js';

export interface ApiDeps extends ArticlesDeps, SalesDeps, BackOfficeDeps {
  accounts: Accounts;
  throttle: LoginThrottle;
  bodyLimit: string;
  /** Extra routers (back office, outbox, ...) mounted after the core ones. */
  extra?: Router[];
}

const DEVICE_READABLE = /^\/(version|taxes|discounts|categories|products|commodities|stock|modifications)(\/|$)/;

/** Devices may read articles and post sales of their own register; everything else needs an admin. */
const devicePermissions: RequestHandler = (req, res, next) => {
  const account = accountOf(res);
  if (account.role === 'admin') return next();
  const readable = (req.method === 'GET' || req.method === 'HEAD') && DEVICE_READABLE.test(req.path) && !/^\/[^/]+\/stats$/.test(req.path);
  const postsSale = (req.method === 'POST' && req.path === '/sales') || (req.method === 'PUT' && req.path.startsWith('/sales/'));
  if (readable || postsSale) return next();
  next(new AppError('forbidden', `device ${account.username} may not ${req.method} ${req.path}; an admin account is required`));
};

/** Every JSON body gets the depth limit of pushes: 400 before anything is stored. */
const refuseDeepJson: RequestHandler = (req, _res, next) => {
  if (req.body !== null && typeof req.body === 'object' && nestedDeeperThan(req.body)) {
    return next(new AppError('invalid_body', `the body is nested deeper than ${MAX_JSON_DEPTH} levels`));
  }
  next();
};

/** The srv4pos-style API (reference/srv4pos-api-notes.md Part B). */
export function apiRouter(deps: ApiDeps): Router {
  const router = Router();
  // Kitchen accounts see the kitchen only (src/kitchen/routes.ts answers /api/kitchen before this router).
  router.use(basicAuth({ accounts: deps.accounts, throttle: deps.throttle, allow: (a) => a.role !== 'kitchen', what: 'API' }));
  router.use(devicePermissions);
  // A CSV body: before the JSON parser, which takes every other body.
  router.post('/products/import', ...productImportRoute(deps, deps.bodyLimit));
  router.get('/products/export.csv', (_req, res) => sendCsv(res, exportProductsCsv(deps.catalog), 'products.csv'));
  router.use(express.json({ type: () => true, limit: deps.bodyLimit }));
  router.use(refuseDeepJson);
  router.use(backOfficeRouter(deps));
  router.use(articlesRouter(deps));
  router.use(salesRouter(deps));
  for (const extra of deps.extra ?? []) router.use(extra);
  return router;
}
