import parseBasicAuth from 'basic-auth';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Account } from '../auth/accounts.js';
import { PRINCIPAL, REALM } from '../auth/basic-auth.js';
import { LoginThrottle } from '../auth/throttle.js';
import { AppError } from '../errors.js';
import { jsonErrorHandler, jsonNotFound, normalisePath } from '../http/error-handler.js';
import { boundUnreadBody } from '../http/unread-body.js';
import { requestLogger } from '../ops/request-log.js';
import { DEFAULT_SHOP, type Login, SHOP_ID, type ShopDirectory } from './directory.js';
import { managementRouter } from './management.js';

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
  // Requests answered here (management, refusals) get the request line a shop's app writes for its own.
  const logRequest = requestLogger(directory.logger);
  const managed = (req: Request, res: Response, next: NextFunction) => logRequest(req, res, () => management(req, res, next));
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', config.server.trustProxy);
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

  async function forward(id: string, req: Request, res: Response, next: NextFunction, creds: Credentials | undefined, principal?: Account) {
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
    open.app(req, res, next);
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

  app.use(async (req, res, next) => {
    try {
      const creds = parseBasicAuth(req);
      const path = req.path.toLowerCase();
      if (under(path, shopsPrefix)) return await shopsRoute(req, res, next, creds);
      if (creds && directory.isOperator(creds.name) && under(path, apiLower)) {
        await authenticate(req, creds);
        throw new AppError('shop_required', `operators name the shop: ${api}/shops/{shop}${req.path.slice(api.length)}`);
      }
      // Unknown names go to shop default: its back office's devices and kitchen accounts, and its 401.
      await forward((creds && directory.ownerOf(creds.name)) ?? DEFAULT_SHOP, req, res, next, creds);
    } catch (err) {
      logRequest(req, res, () => next(err));
    }
  });
  app.use(jsonNotFound);
  app.use(jsonErrorHandler);
  return app;
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
