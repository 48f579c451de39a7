import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Account } from '../auth/accounts.js';
import type { PushSummary } from '../domain/ledger.js';
import { pathOf } from './route-label.js';

/** Probes poll these every few seconds; their successes are logged at debug level only. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One JSON line per request: request id, method, path (no query string), status, duration,
 * the authenticated device and its register. Headers and bodies are never logged, so neither
 * are credentials.
 */
export function requestLogger(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    quietReqLogger: true,
    quietResLogger: true,
    genReqId: (req, res) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && /^[\w.:-]{1,64}$/.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customLogLevel: (req, res, err) => {
      if (err || res.statusCode >= 500) return 'error';
      if (res.statusCode >= 400) return 'warn';
      return QUIET_PATHS.has(pathOf(req as Request)) ? 'debug' : 'info';
    },
    customSuccessObject: (req, res, val: { responseTime: number }) => requestLine(req, res, val.responseTime),
    customErrorObject: (req, res, _err, val: { responseTime: number }) => requestLine(req, res, val.responseTime),
    customSuccessMessage: (req, res) => `${req.method} ${pathOf(req as Request)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${pathOf(req as Request)} ${res.statusCode}`,
  }) as RequestHandler;
}

function requestLine(req: IncomingMessage, res: ServerResponse, ms: number): Record<string, unknown> {
  const locals = (res as Response).locals ?? {};
  const account = locals.account as Account | undefined;
  const line: Record<string, unknown> = {
    method: req.method,
    path: pathOf(req as Request),
    status: res.statusCode,
    ms,
    ip: (req as Request).ip ?? req.socket?.remoteAddress,
  };
  if (account) {
    line[account.role === 'device' ? 'device' : 'admin'] = account.username;
    if (account.cashRegister) line.register = account.cashRegister;
  }
  if (locals.error) line.error = locals.error;
  const push = locals.pushSummary as PushSummary | undefined;
  if (push) line.push = push;
  if (!res.writableFinished) line.aborted = true;
  return line;
}
