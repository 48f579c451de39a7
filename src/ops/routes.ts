import { Router } from 'express';
import type { Gateway } from '../gateway.js';

/** Liveness and readiness for process supervisors and load balancers (no auth). */
export function opsRouter(deps: Pick<Gateway, 'store' | 'startedAt' | 'now'>): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', uptimeSeconds: Math.round((deps.now().getTime() - deps.startedAt.getTime()) / 1000) });
  });
  router.get('/readyz', async (_req, res) => {
    const writable = await deps.store.probeWritable();
    const checks = { store: writable ? 'ok' : 'not writable' };
    res.status(writable ? 200 : 503).json({ status: writable ? 'ready' : 'not_ready', checks });
  });
  return router;
}
