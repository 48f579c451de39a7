import type { Request, Response } from 'express';
import { AppError, badRequest } from '../errors.js';

export interface Paging {
  firstResult: number;
  maxResults: number;
}

const MAX_RESULTS = 1000;

function intParam(req: Request, name: string, fallback: number, min: number, max: number): number {
  const raw = req.query[name];
  if (raw === undefined) return fallback;
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw badRequest(`${name} must be an integer from ${min} to ${max}`, [{ field: name, message: 'invalid' }]);
  return n;
}

export function paging(req: Request): Paging {
  return {
    firstResult: intParam(req, 'firstResult', 0, 0, Number.MAX_SAFE_INTEGER),
    maxResults: intParam(req, 'maxResults', 100, 1, MAX_RESULTS),
  };
}

export function optionalInt(req: Request, name: string, fallback: number): number {
  return intParam(req, name, fallback, 0, Number.MAX_SAFE_INTEGER);
}

export function stringParam(req: Request, name: string): string | undefined {
  const raw = req.query[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw badRequest(`${name} must be given once`);
  return raw;
}

/** `If-Match: "12"` (or 12) → 12; absent → undefined. */
export function ifMatch(req: Request): number | undefined {
  const raw = req.headers['if-match'];
  if (raw === undefined || raw === '*') return undefined;
  const m = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(raw);
  if (!m) throw new AppError('bad_request', 'If-Match must be an articles version such as "12"');
  return Number(m[1]);
}

/** Sets ETag to the articles version; answers 304 when the client already has it. */
export function notModified(req: Request, res: Response, version: number): boolean {
  const etag = `"${version}"`;
  res.set('ETag', etag);
  const inm = req.headers['if-none-match'];
  if (inm?.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*')) {
    res.status(304).end();
    return true;
  }
  return false;
}

/**
 * The time a query's ISO-8601 text or epoch milliseconds name, or null. A day the calendar lacks
 * (`2026-02-30`) is null: Date would roll it over to 2 March, and the body schema refuses it too.
 */
export function parseQueryTime(raw: string): Date | null {
  const ymd = /^(\d{4})-(\d{2})-(\d{2})/.exec(raw);
  if (ymd) {
    const [y, m, d] = [Number(ymd[1]), Number(ymd[2]), Number(ymd[3])];
    const day = new Date(Date.UTC(y, m - 1, d));
    if (day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) return null;
  }
  const date = /^\d+$/.test(raw) ? new Date(Number(raw)) : new Date(raw);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Parses a time filter: ISO-8601 or epoch milliseconds. */
export function timeParam(req: Request, name: string): string | undefined {
  const raw = stringParam(req, name);
  if (raw === undefined) return undefined;
  const date = parseQueryTime(raw);
  if (date === null) throw badRequest(`${name} must be an ISO-8601 time or epoch milliseconds`, [{ field: name, message: 'invalid time' }]);
  return date.toISOString();
}

/** A dismissal's body: {"reason": "…"} (required, not blank). */
export function dismissReason(body: unknown): string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new AppError('invalid_body', 'a JSON body {"reason": "…"} is required');
  const unknown = Object.keys(body).filter((k) => k !== 'reason');
  if (unknown.length > 0)
    throw new AppError(
      'validation_failed',
      `unknown key ${unknown[0]}`,
      unknown.map((k) => ({ field: `/${k}`, message: 'unknown key' })),
    );
  const { reason } = body as { reason?: unknown };
  if (typeof reason !== 'string' || reason.trim() === '') {
    throw new AppError('validation_failed', 'reason is required: say why it is dismissed', [{ field: '/reason', message: 'must be a non-empty string' }]);
  }
  return reason.trim();
}
