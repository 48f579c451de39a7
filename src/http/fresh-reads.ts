import type { RequestHandler } from 'express';
import type { Store } from '../domain/ports/store.js';

/** Probes answer from the process itself: a database that is slow must not make them slow. */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Several processes on one database (PostgreSQL): before a read, the process's caches (catalogue,
 * stock, registers…) catch up with every write committed before the request arrived, by any
 * process (Store.fresh: one single-row read of the state version, shared by concurrent reads).
 * A write acknowledged by one process is seen by the next read on any other. Writes need nothing:
 * their unit of work refreshes under the write lease.
 */
export function freshReads(store: Store): RequestHandler {
  const fresh = store.fresh?.bind(store);
  return (req, _res, next) => {
    if (!fresh || (req.method !== 'GET' && req.method !== 'HEAD') || PROBES.has(req.path)) return next();
    fresh().then(() => next(), next);
  };
}
