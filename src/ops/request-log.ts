import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { Account } from '../auth/accounts.js';
import type { PushSummary } from '../domain/ledger.js';
import { onResponseDone } from '../http/response-done.js';
import { pathOf } from './route-label.js';

declare module 'http' {
  interface IncomingMessage {
    /** The request id: a client's valid X-Request-Id, else a fresh UUID (also sent back as X-Request-Id). */
    id?: string;
    /** A child of the gateway logger bound to this request's id (`reqId`), created on first use. */
    log: Logger;
  }
}

/** Probes poll these every few seconds; their successes are logged at debug level only. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
const GIVEN_ID = /^[\w.:-]{1,64}$/;

const childLogs = new WeakMap<IncomingMessage, Logger>();

/**
 * One JSON line per request: request id, method, path (no query string), status, duration,
 * the authenticated device and its register. Headers and bodies are never logged, so neither
 * are credentials.
 *
 * The same lines pino-http wrote (`reqId` binding, `msg` "METHOD /path status"), without its
 * per-request cost: the request's child logger (`req.log`) is only built when something logs
 * through it, and the request line is written straight from the response's finish (or close).
 */
export function requestLogger(logger: Logger): RequestHandler {
  // Every field of a request line is the gateway's own (never a header, body or query string), so
  // the line skips redaction, which walks every logged object for the wildcard secret paths.
  const lines = logger.child({}, { redact: [] });
  return (req, res, next) => {
    const started = Date.now();
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && GIVEN_ID.test(given) ? given : randomUUID();
    req.id = id;
    res.setHeader('X-Request-Id', id);
    if (!Object.hasOwn(req, 'log')) {
      Object.defineProperty(req, 'log', {
        configurable: true,
        enumerable: false,
        get(this: IncomingMessage) {
          let child = childLogs.get(this);
          if (!child) childLogs.set(this, (child = logger.child({ reqId: id })));
          return child;
        },
        set(this: IncomingMessage, value: Logger) {
          childLogs.set(this, value);
        },
      });
    }
    onResponseDone(res, () => {
      const level = levelOf(req, res);
      if (!lines.isLevelEnabled(level)) return;
      const line = requestLine(req, res, Date.now() - started);
      line.reqId = id;
      // Not a child logger per request: the reqId is a field of the line (the same JSON as a binding).
      lines[level](line, `${req.method} ${line.path as string} ${res.statusCode}`);
    });
    next();
  };
}

function levelOf(req: Request, res: ServerResponse): 'error' | 'warn' | 'info' | 'debug' {
  if (res.statusCode >= 500) return 'error';
  if (res.statusCode >= 400) return 'warn';
  return QUIET_PATHS.has(pathOf(req)) ? 'debug' : 'info';
}

function requestLine(req: IncomingMessage, res: ServerResponse, ms: number): Record<string, unknown> {
  const locals = (res as Response).locals ?? {};
  const account = locals.account as Account | undefined;
  const line: Record<string, unknown> = {
    reqId: undefined,
    method: req.method,
    path: pathOf(req as Request),
    status: res.statusCode,
    ms,
    ip: (req as Request).ip ?? req.socket?.remoteAddress,
  };
  if (account) {
    line[account.role] = account.username;
    if (account.cashRegister) line.register = account.cashRegister;
  }
  if (locals.error) line.error = locals.error;
  const push = locals.pushSummary as PushSummary | undefined;
  if (push) line.push = push;
  if (!res.writableFinished) line.aborted = true;
  return line;
}
