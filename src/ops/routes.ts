import { Router } from 'express';
import type { Gateway } from '../gateway.js';
import type { UpstreamState } from '../forward/status.js';

/** Liveness and readiness for process supervisors and load balancers (no auth). */
export function opsRouter(deps: Pick<Gateway, 'store' | 'startedAt' | 'now' | 'forwarding'>): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', uptimeSeconds: Math.round((deps.now().getTime() - deps.startedAt.getTime()) / 1000) });
  });
  router.get('/readyz', async (_req, res) => {
    const writable = await deps.store.probeWritable();
    const checks: Record<string, unknown> = { store: writable ? 'ok' : 'not writable' };
    const upstream = deps.forwarding?.upstream();
    // Bridge mode: an unreachable upstream does not make us unready (tablets get the cached catalogue); no catalogue at all does.
    const catalogue = !upstream || upstream.mode === 'standalone' || upstream.catalogueCached;
    if (upstream?.mode === 'bridge') checks.upstream = upstreamCheck(upstream);
    const ready = writable && catalogue;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });
  return router;
}

function upstreamCheck(u: UpstreamState) {
  const state = u.breaker === 'open' ? 'unreachable (circuit open)' : u.reachable === false ? 'unreachable' : u.reachable ? 'ok' : 'unknown';
  return { state, breaker: u.breaker, lastSyncAt: u.lastSyncAt, catalogue: u.catalogueCached ? 'cached' : 'none', ...(u.lastSyncError ? { lastSyncError: u.lastSyncError } : {}) };
}
