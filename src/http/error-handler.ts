import type { ErrorRequestHandler, RequestHandler } from 'express';
import { NotDurableError } from '../domain/ports/unit-of-work.js';
import { AppError, INTERNAL_ERROR_BODY } from '../errors.js';

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * A read from a database that does not answer (PostgreSQL down or restarting): a socket error,
 * SQLSTATE class 08 (connection exception) or 57P (shutdown, cannot connect now), or one of
 * node-postgres's own connection errors, which carry no code (a statement unanswered within the
 * pool's limit, as in a silent partition, included).
 */
function isDatabaseUnreachable(err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || code.startsWith('08') || code.startsWith('57P'))) return true;
  return (
    typeof message === 'string'
    && /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout)/.test(message)
  );
}

/** body-parser and other HTTP-layer errors carry `type`/`status`; they become catalog errors. */
function toAppError(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  // The store cannot write (database down, disk failing): a condition to retry, not a bug.
  if (err instanceof NotDurableError)
    return new AppError('not_ready', 'the store cannot write right now: the change is not stored durably; retry once GET /readyz answers 200');
  const e = err as { type?: string; status?: number; message?: string };
  switch (e?.type) {
    case 'entity.too.large':
      return new AppError('payload_too_large', 'the request body is larger than the configured limit (server.bodyLimit)');
    case 'entity.parse.failed':
      return new AppError('invalid_json', `the body is not JSON: ${e.message}`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported_media_type', e.message ?? 'unsupported encoding');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new AppError('bad_request', e.message ?? 'bad request');
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return new AppError('bad_request', 'bad request');
  if (isDatabaseUnreachable(err)) return new AppError('not_ready', 'the database does not answer right now; retry once GET /readyz answers 200');
  return null;
}

export const jsonErrorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const appError = toAppError(err);
  if (res.headersSent) {
    req.log?.error({ err }, 'error after the response started');
    res.destroy();
    return;
  }
  if (!appError || appError.status >= 500) {
    if (!appError) req.log?.error({ err }, 'unhandled error');
    res.locals.error = appError?.code ?? 'internal_error';
  }
  if (!appError) {
    res.status(500).json(INTERNAL_ERROR_BODY);
    return;
  }
  res.locals.error = appError.code;
  if (appError.headers) res.set(appError.headers);
  res.status(appError.status).json(appError.toBody());
};

export const jsonNotFound: RequestHandler = (req, _res, next) => {
  next(new AppError('not_found', `no route for ${req.method} ${req.path}`));
};

/** Tablets may be configured with a trailing slash or a double slash in their server URL. */
export const normalisePath: RequestHandler = (req, _res, next) => {
  const q = req.url.indexOf('?');
  const path = q >= 0 ? req.url.slice(0, q) : req.url;
  let normal = path.replace(/\/{2,}/g, '/');
  if (normal.length > 1 && normal.endsWith('/')) normal = normal.slice(0, -1);
  if (normal !== path) req.url = normal + (q >= 0 ? req.url.slice(q) : '');
  next();
};
