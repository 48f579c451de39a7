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

const DEVICE_COLLECTIONS = ['taxes', 'discounts', 'categories', 'products', 'commodities'];

/**
 * Devices may read articles and post sales of their own register; everything else needs an admin.
 * The decision is made per route by an express Router built like the API's own routers (same
 * case-insensitive matching, decoding and trailing-slash rules), so the check cannot read a path
 * differently from the router that serves it: `/products/Stats` is the stats route for both.
 */
export function devicePermissions(): RequestHandler {
  const gate = Router();
  const allow: RequestHandler = (_req, res, next) => {
    res.locals.deviceMay = true;
    next('router');
  };
  const deny: RequestHandler = (_req, _res, next) => next('router');
  // Admin-only routes that a device route below would also match; mounted first, as in apiRouter (back office before articles).
  gate.get(['/products/stats', '/categories/stats'], deny);
  gate.get(['/version', '/stock', '/stock/:product', '/modifications'], allow);
  for (const c of DEVICE_COLLECTIONS) gate.get([`/${c}`, `/${c}/:id`], allow);
  gate.post('/sales', allow);
  gate.put('/sales/:id', allow);
  return (req, res, next) => {
    const account = accountOf(res);
    if (account.role === 'admin') return next();
    res.locals.deviceMay = false;
    gate(req, res, (err?: unknown) => {
      if (err !== undefined && err !== null && err !== 'router') return next(err);
      if (res.locals.deviceMay === true) return next();
      next(new AppError('forbidden', `device ${account.username} may not ${req.method} ${req.path}; an admin account is required`));
    });
  };
}

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
  router.use(devicePermissions());
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
