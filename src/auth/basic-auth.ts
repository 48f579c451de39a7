import parseBasicAuth from 'basic-auth';
import type { RequestHandler } from 'express';
import { AppError } from '../errors.js';
import type { Account, Accounts } from './accounts.js';
import type { LoginThrottle } from './throttle.js';

export const REALM = 'tabshop-gateway';

/**
 * A caller the deployment layer already authenticated (an operator acting in a shop, src/shops):
 * a symbol on the request, so no header or body a client sends can set it.
 */
export const PRINCIPAL = Symbol('tabshop-gateway.principal');

export const principalOf = (req: object): Account | undefined => (req as { [PRINCIPAL]?: Account })[PRINCIPAL];

/**
 * Basic auth over our own Accounts (express-basic-auth cannot answer 429 for throttled
 * clients, and its async authorizer crashes the process on an error). On success the
 * account is in res.locals.account.
 */
export function basicAuth(opts: {
  accounts: Accounts;
  throttle: LoginThrottle;
  allow: (account: Account) => boolean;
  what: string;
  /** Credentials from elsewhere when there is no Authorization header (legacy clients). */
  fallback?: (res: { locals: Record<string, unknown> }) => { name: string; pass: string } | undefined;
}): RequestHandler {
  return async (req, res, next) => {
    const principal = principalOf(req);
    if (principal && opts.allow(principal)) {
      res.locals.account = principal;
      return next();
    }
    // req.ip is the socket's address unless server.trustProxy names a reverse proxy in front.
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const creds = parseBasicAuth(req) ?? opts.fallback?.(res);
    const username = creds?.name ?? '';
    const wait = opts.throttle.retryAfterMs(address, username);
    if (wait > 0) {
      const seconds = String(Math.ceil(wait / 1000));
      return next(new AppError('too_many_requests', `too many failed logins; retry in ${seconds} s`, undefined, { 'Retry-After': seconds }));
    }
    const account = creds ? await opts.accounts.verify(creds.name, creds.pass) : null;
    if (account && opts.allow(account)) {
      opts.throttle.recordSuccess(address, username);
      res.locals.account = account;
      return next();
    }
    if (creds && !account) opts.throttle.recordFailure(address, username);
    const message = !creds
      ? `${opts.what} credentials required (HTTP Basic auth)`
      : account
        ? `${account.username} is not a ${opts.what} account`
        : 'wrong username or password';
    next(new AppError('unauthorized', message, undefined, { 'WWW-Authenticate': `Basic realm="${REALM}"` }));
  };
}

export const accountOf = (res: { locals: Record<string, unknown> }) => res.locals.account as Account;
