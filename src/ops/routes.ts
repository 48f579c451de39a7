import { Router, type RequestHandler } from 'express';
import { basicAuth } from '../auth/basic-auth.js';
import type { Gateway } from '../gateway.js';
import type { GatewayMetrics } from './metrics.js';
import { checkReadiness, type ReadinessThresholds } from './readiness.js';

export interface OpsRouterDeps {
  gateway: Gateway;
  metrics: GatewayMetrics;
  thresholds: ReadinessThresholds;
  adminAuth: RequestHandler;
}

/** Liveness, readiness and metrics for supervisors, load balancers and Prometheus. */
export function opsRouter({ gateway, metrics, thresholds, adminAuth }: OpsRouterDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', uptimeSeconds: Math.round((gateway.now().getTime() - gateway.startedAt.getTime()) / 1000) });
  });
  router.get('/readyz', async (_req, res) => {
    const readiness = await checkReadiness({ store: gateway.store, forwarding: gateway.forwarding }, thresholds);
    res.set('Cache-Control', 'no-store');
    res.status(readiness.status === 'not_ready' ? 503 : 200).json(readiness);
  });
  const metricsAuth: RequestHandler[] = gateway.config.ops.metricsRequireAdmin ? [adminAuth] : [];
  router.get('/metrics', ...metricsAuth, async (_req, res) => {
    res.set('Content-Type', metrics.contentType);
    res.set('Cache-Control', 'no-store');
    res.send(await metrics.render());
  });
  return router;
}

export const adminOnly = (gateway: Pick<Gateway, 'accounts' | 'throttle'>) =>
  basicAuth({ accounts: gateway.accounts, throttle: gateway.throttle, allow: (a) => a.role === 'admin', what: 'admin' });
