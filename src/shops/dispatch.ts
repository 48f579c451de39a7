import parseBasicAuth from 'basic-auth';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Account } from '../auth/accounts.js';
import { PRINCIPAL, REALM } from '../auth/basic-auth.js';
import { LoginThrottle } from '../auth/throttle.js';
import { AppError } from '../errors.js';
import { jsonErrorHandler, jsonNotFound, normalisePath } from '../http/error-handler.js';
import { boundUnreadBody } from '../http/unread-body.js';
import { requestLogger } from '../ops/request-log.js';
import { DEFAULT_SHOP, type Login, type OpenShop, SHOP_ID, type ShopDirectory } from './directory.js';
import { managementRouter } from './management.js';
import { DeploymentMetrics } from './metrics.js';
import { shopStatusPath, shopsOverview } from './status.js';
import { STATUS_MOUNT, type StatusMount } from '../ops/status-routes.js';
import { VERSION } from '../ops/version.js';
import { findCredentials, isFormEncoded, LEGACY_FORM_PREFIX_BYTES, readFormPrefix } from '../tabshop/legacy.js';
import { SIGN_IN_FOR_EVERY_SHOP, TAKEN_IN_ANOTHER_SHOP } from '../admin/context.js';
import { type BackOfficeRoutes, shopAdminPath, shopBackOffices } from './back-office.js';

type Credentials = { name: string; pass: string };

const unauthorized = (message: string) => new AppError('unauthorized', message, undefined, { 'WWW-Authenticate': `Basic realm="${REALM}"` });

/**
 * The deployment's HTTP app: each request goes to one shop's app (today's createApp over that
 * shop's gateway), chosen by the caller's username (TabShop routes, `/api/…`) or by the path
 * (`/api/shops/{shop}/…`, prefix stripped); `/api/shops` itself is the operators' management API.
 */
export function deploymentApp(directory: ShopDirectory, now: () => Date = () => new Date()): Express {
  const { config } = directory;
  const api = config.api.basePath.replace(/\/+$/, '');
  const apiLower = api.toLowerCase();
  const shopsPrefix = `${apiLower}/shops`;
  const throttle = new LoginThrottle();
  const management = managementRouter(directory, { basePath: api, bodyLimit: config.server.bodyLimit, now });
  const metrics = new DeploymentMetrics(directory, VERSION, api);
  const overview = shopsOverview(directory, now);
  const backOffices: BackOfficeRoutes = shopBackOffices(directory);
  const tabshopBase = config.tabshop.basePath.replace(/\/+$/, '').toLowerCase();
  const readLegacyForm = readFormPrefix(LEGACY_FORM_PREFIX_BYTES);
  // Requests answered here (management, refusals) get the request line a shop's app writes for its own.
  const logRequest = requestLogger(directory.logger);
  const managed = (req: Request, res: Response, next: NextFunction) => logRequest(req, res, () => management(req, res, next));
  const app = express();
  app.locals.shopBackOffices = backOffices;
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', config.server.trustProxy);
  app.use(metrics.observeRequests);
  app.use(boundUnreadBody);
  app.use(normalisePath);

  /** Credentials checked here (operators, or an account of another shop), throttled like the shops' own logins. */
  async function authenticate(req: Request, creds: Credentials | undefined): Promise<Login> {
    if (!creds) throw unauthorized('credentials required (HTTP Basic auth)');
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const wait = throttle.retryAfterMs(address, creds.name);
    if (wait > 0) {
      const seconds = String(Math.ceil(wait / 1000));
      throw new AppError('too_many_requests', `too many failed logins; retry in ${seconds} s`, undefined, { 'Retry-After': seconds });
    }
    const login = await directory.login(creds.name, creds.pass);
    if (!login) {
      throttle.recordFailure(address, creds.name);
      throw unauthorized('wrong username or password');
    }
    throttle.recordSuccess(address, creds.name);
    return login;
  }

  /** A shop that cannot be opened (a data file it cannot read, the disk) is not ready: 503, the cause in the log. */
  async function opened(id: string) {
    try {
      return await directory.gateway(id);
    } catch (err) {
      if (err instanceof AppError) throw err;
      directory.logger.error({ shop: id, err }, `shop ${id} cannot be opened`);
      throw new AppError('not_ready', `shop ${id} cannot be opened right now; the gateway's log says why`);
    }
  }

  async function forward(
    id: string,
    req: Request,
    res: Response,
    next: NextFunction,
    creds: Credentials | undefined,
    principal?: Account,
    handle: (open: OpenShop) => void = (open) => open.app(req, res, next),
  ) {
    const shop = directory.get(id);
    if (!shop) throw new AppError('not_found', `shop ${id} not found`);
    // A disabled shop's own accounts are told so; operators still reach it, and wrong credentials get the shop's 401.
    if (shop.disabled && !principal && creds) {
      const login = await directory.login(creds.name, creds.pass);
      if (login && !login.operator && login.shop === id) throw new AppError('shop_disabled', `shop ${id} is disabled; its operator can enable it again`);
    }
    let open = await opened(id);
    // Closed meanwhile (idle, or reopened for a new currency): the next one. Checked and counted in one step.
    while (!directory.live.has(open)) open = await opened(id);
    if (principal) (req as unknown as Record<symbol, Account>)[PRINCIPAL] = principal;
    open.inFlight++;
    open.lastUsed = Date.now();
    res.once('close', () => {
      open.inFlight--;
      open.lastUsed = Date.now();
    });
    handle(open);
  }

  async function shopsRoute(req: Request, res: Response, next: NextFunction, creds: Credentials | undefined) {
    const segments = req.path.slice(shopsPrefix.length).split('/').filter(Boolean);
    const operator = creds !== undefined && directory.isOperator(creds.name);
    if (segments.length === 0) {
      await authenticate(req, creds);
      if (!operator) throw new AppError('forbidden', 'managing shops needs an operator account (config "operators")');
      return managed(req, res, next);
    }
    const id = safeDecode(segments[0]);
    const isManagement = segments.length === 1 || ((segments[1].toLowerCase() === 'devices' || segments[1].toLowerCase() === 'admins') && segments.length <= 3);
    if (operator) {
      const login = await authenticate(req, creds);
      if (!SHOP_ID.test(id)) throw badShopId(id);
      if (!directory.get(id)) throw new AppError('not_found', `shop ${id} not found`);
      if (isManagement) return managed(req, res, next);
      rewrite(req, `${api}/${segments.slice(1).join('/')}`);
      return forward(id, req, res, next, creds, { username: login.account.username, role: 'admin' });
    }
    const owner = (creds && directory.ownerOf(creds.name)) ?? DEFAULT_SHOP;
    if (owner !== id || !directory.get(id)) {
      // Another shop's, or none: 404 to a valid account of another shop, whether or not that shop exists.
      await authenticate(req, creds);
      if (!SHOP_ID.test(id)) throw badShopId(id);
      throw new AppError('not_found', `shop ${id} not found`);
    }
    if (isManagement) {
      await authenticate(req, creds);
      throw new AppError('forbidden', 'managing shops needs an operator account (config "operators")');
    }
    rewrite(req, `${api}/${segments.slice(1).join('/')}`);
    return forward(id, req, res, next, creds);
  }

  /** /shops/{shop}/status…: that shop's own status page, for operators and the shop's own accounts. */
  async function shopPageRoute(id: string, rest: string, req: Request, res: Response, next: NextFunction, creds: Credentials | undefined) {
    const operator = creds !== undefined && directory.isOperator(creds.name);
    const owner = creds && !operator ? directory.ownerOf(creds.name) : undefined;
    const login = operator || owner !== id || !directory.get(id) ? await authenticate(req, creds) : null;
    if (!SHOP_ID.test(id)) throw badShopId(id);
    if (!directory.get(id) || (login && !login.operator)) throw new AppError('not_found', `shop ${id} not found`);
    rewrite(req, `/status${rest}`);
    (req as unknown as Record<symbol, StatusMount>)[STATUS_MOUNT] = {
      apiPath: `${api}/shops/${encodeURIComponent(id)}`,
      depth: 2,
      ...(login?.operator && { overview: { shop: id, name: directory.get(id)!.name } }),
    };
    return forward(id, req, res, next, creds, login?.operator ? { username: login.account.username, role: 'admin' } : undefined);
  }

  const takenInAnotherShop = (username: string) => {
    const owner = directory.ownerOf(username);
    return (owner !== undefined && owner !== DEFAULT_SHOP) || directory.isOperator(username);
  };

  /**
   * /shops/{shop}/admin…: that shop's web back office, built on its first request (src/shops/back-office.ts).
   * Its own session sign-in decides who is in (the shop's admins, operators): no Basic auth here.
   */
  async function shopAdminRoute(id: string, req: Request, res: Response, next: NextFunction) {
    if (!SHOP_ID.test(id)) throw badShopId(id);
    if (!directory.get(id)) throw new AppError('not_found', `shop ${id} not found`);
    return forward(id, req, res, next, undefined, undefined, (open) => backOffices.handle(id, open, req, res, next));
  }

  /**
   * POST /admin/sign-in (and /admin/login): one sign-in for every shop's admins. The username names
   * its shop: shop default's admins sign in to /admin/ as before, another shop's admin is sent on,
   * credentials checked first, with the form (307) to /shops/{shop}/admin/sign-in; an operator gets
   * the list of shops. Wrong credentials get shop default's page, as before (nothing says whose).
   */
  async function adminSignIn(req: Request, res: Response, next: NextFunction) {
    (req as unknown as Record<symbol, boolean>)[SIGN_IN_FOR_EVERY_SHOP] = true;
    const form = await backOffices.readSignInForm(req, res);
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    if (throttle.retryAfterMs(address, form.username) > 0) return forward(DEFAULT_SHOP, req, res, next, undefined);
    const login = await directory.login(form.username, form.password);
    if (!login) throttle.recordFailure(address, form.username);
    else throttle.recordSuccess(address, form.username);
    if (login?.operator) return logRequest(req, res, () => backOffices.operatorPage(req, res));
    if (login && login.shop !== DEFAULT_SHOP && login.account.role === 'admin') {
      return logRequest(req, res, () => res.redirect(307, `../shops/${encodeURIComponent(login.shop)}/admin/sign-in`));
    }
    return forward(DEFAULT_SHOP, req, res, next, undefined);
  }

  /**
   * Pre-146 clients (tabshop.legacy) send no Authorization header: the username in the query or the
   * form's first bytes names the shop, as Basic auth's does (the shop's app checks the password).
   */
  async function legacyCredentials(req: Request, res: Response, path: string): Promise<Credentials | undefined> {
    if (!config.tabshop.legacy || req.headers.authorization || !path.startsWith(tabshopBase) || !TABSHOP_ROUTES.test(path.slice(tabshopBase.length)))
      return undefined;
    if (isFormEncoded(req.headers['content-type']))
      await new Promise<void>((resolve, reject) => readLegacyForm(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
    const q = req.originalUrl.indexOf('?');
    const sources = [{ label: 'URL parameters', params: new URLSearchParams(q >= 0 ? req.originalUrl.slice(q + 1) : '') }];
    const form = Buffer.isBuffer(req.body) ? req.body : Buffer.isBuffer(res.locals.formPrefix) ? (res.locals.formPrefix as Buffer) : null;
    if (form && isFormEncoded(req.headers['content-type'])) sources.push({ label: 'form fields', params: completeFields(form, Buffer.isBuffer(req.body)) });
    const found = findCredentials(sources);
    return found?.name ? { name: found.name, pass: found.pass } : undefined;
  }

  /** Operators read every shop's series, a shop's admin their shop's (with more than one shop); nobody else. */
  async function metricsRoute(req: Request, res: Response, creds: Credentials | undefined) {
    const login = await authenticate(req, creds);
    if (!login.operator && login.account.role !== 'admin') throw unauthorized(`${login.account.username} is not an admin or operator account`);
    if (!login.operator && directory.get(login.shop)?.disabled)
      throw new AppError('shop_disabled', `shop ${login.shop} is disabled; its operator can enable it again`);
    const body = await metrics.render(login.operator ? undefined : login.shop);
    logRequest(req, res, () => undefined);
    res.set('Content-Type', metrics.contentType);
    res.set('Cache-Control', 'no-store');
    res.send(body);
  }

  app.use(async (req, res, next) => {
    try {
      const creds = parseBasicAuth(req);
      const path = req.path.toLowerCase();
      const reading = req.method === 'GET' || req.method === 'HEAD';
      const page = config.ops.statusPage ? shopStatusPath(req.path) : null;
      if (page) return await shopPageRoute(page.shop, page.rest, req, res, next, creds);
      const adminOf = shopAdminPath(req.path);
      if (adminOf !== null) return await shopAdminRoute(adminOf, req, res, next);
      if (path === '/admin/login' && reading) return logRequest(req, res, () => res.redirect(303, `sign-in${req.url.slice(req.path.length)}`));
      if ((path === '/admin/sign-in' || path === '/admin/login') && req.method === 'POST') return await adminSignIn(req, res, next);
      if (reading && config.ops.statusPage && path === '/status' && creds && directory.isOperator(creds.name)) {
        await authenticate(req, creds);
        return logRequest(req, res, () => overview(req, res, next));
      }
      // One shop: as a one-shop gateway, except for operators (their scrape keeps its labels when a second shop comes).
      const operatorCall = creds !== undefined && directory.isOperator(creds.name);
      if (reading && path === '/metrics' && (directory.list().length > 1 || operatorCall)) return await metricsRoute(req, res, creds);
      if (under(path, shopsPrefix)) return await shopsRoute(req, res, next, creds);
      if (creds && directory.isOperator(creds.name) && under(path, apiLower)) {
        await authenticate(req, creds);
        throw new AppError('shop_required', `operators name the shop: ${api}/shops/{shop}${req.path.slice(api.length)}`);
      }
      if (under(path, '/admin')) {
        (req as unknown as Record<symbol, boolean>)[SIGN_IN_FOR_EVERY_SHOP] = true;
        (req as unknown as Record<symbol, (username: string) => boolean>)[TAKEN_IN_ANOTHER_SHOP] = takenInAnotherShop;
      }
      // Unknown names go to shop default: its back office's devices and kitchen accounts, and its 401.
      const caller = creds ?? (await legacyCredentials(req, res, path));
      await forward((caller && directory.ownerOf(caller.name)) ?? DEFAULT_SHOP, req, res, next, caller);
    } catch (err) {
      logRequest(req, res, () => next(err));
    }
  });
  app.use(jsonNotFound);
  app.use(jsonErrorHandler);
  return app;
}

/** TabShop's routes (under tabshop.basePath), where pre-146 clients send credentials in the query or form. */
const TABSHOP_ROUTES = /^\/(invoice|home|stock|tax|discount)$/;

/** Form fields of a body read whole, or of its start only up to its last "&" (legacy.ts reads it the same way). */
function completeFields(body: Buffer, whole: boolean): URLSearchParams {
  const text = body.toString('utf8');
  const end = whole ? text.length : text.lastIndexOf('&');
  return new URLSearchParams(end >= 0 ? text.slice(0, end) : '');
}

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const badShopId = (id: string) =>
  new AppError('bad_request', `shop id ${JSON.stringify(id)} must be 1 to 40 of a-z, 0-9 and "-"`, [{ field: 'shop', value: id }]);

/** The shop's app sees the path without `/shops/{shop}` (originalUrl keeps it, for logs). */
function rewrite(req: Request, path: string): void {
  const q = req.url.indexOf('?');
  req.url = path + (q >= 0 ? req.url.slice(q) : '');
}
