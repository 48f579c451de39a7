import parseBasicAuth from 'basic-auth';
import { Router, type Request, type RequestHandler } from 'express';
import type { Account } from '../auth/accounts.js';
import type { Gateway } from '../gateway.js';
import { DailySales } from './daily-sales.js';
import { DeviceActivity } from './device-activity.js';
import { GatewayMetrics } from './metrics.js';
import { onResponseDone } from '../http/response-done.js';
import type { ReadinessThresholds } from './readiness.js';
import { routeOf, pathOf } from './route-label.js';
import { adminOnly, opsRouter } from './routes.js';
import { statusRouter } from './status-routes.js';
import { VERSION } from './version.js';

export interface Ops {
  activity: DeviceActivity;
  metrics: GatewayMetrics;
  dailySales: DailySales;
  thresholds: ReadinessThresholds;
  /** Times every request for metrics and notes which device made it; mount first. */
  observeRequests: RequestHandler;
  /** /healthz, /readyz, /metrics and (unless disabled) /status. */
  router: Router;
}

/** The operations layer of one app: metrics, device activity, health, the status page. */
export function createOps(gateway: Gateway): Ops {
  const activity = new DeviceActivity(gateway.accounts.devices());
  // Devices created or deleted at run time, here or (PostgreSQL) by another process.
  gateway.accounts.onRuntimeChange((username, account) => (account ? activity.add(account) : activity.remove(username)));
  gateway.events.on('push', ({ device, at, summary }) => activity.pushed(device, at, summary));
  activity.deriveLastPushes(gateway.ledger).catch((err) => gateway.logger.warn({ err }, "could not derive the devices' last pushes from the stored sales"));

  const metrics = new GatewayMetrics({
    events: gateway.events,
    ledger: gateway.ledger,
    activity,
    version: VERSION,
    forwarding: () => gateway.forwarding,
  });
  const dailySales = new DailySales(gateway.ledger, gateway.backOffice);
  const { ops } = gateway.config;
  const thresholds: ReadinessThresholds = {
    diskLowFreeBytes: ops.diskLowFreeMiB * 1024 * 1024,
    diskLowFreePercent: ops.diskLowFreePercent,
    outboxMaxAgeMs: ops.outboxMaxAgeSeconds * 1000,
  };
  const adminAuth = adminOnly(gateway);

  const router = Router();
  router.use(opsRouter({ gateway, metrics, thresholds, adminAuth }));
  if (ops.statusPage) router.use(statusRouter({ gateway, activity, dailySales, thresholds, adminAuth }));

  const observeRequests: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    onResponseDone(res, () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.observeRequest(req.method, routeOf(req), res.writableFinished ? String(res.statusCode) : 'aborted', seconds);
      noteDevice(req, res.statusCode, res.locals.account as Account | undefined);
    });
    next();
  };

  function noteDevice(req: Request, status: number, account: Account | undefined): void {
    const seen = { at: gateway.now(), method: req.method, path: pathOf(req), status, ip: req.ip ?? req.socket.remoteAddress ?? '' };
    if (account?.role === 'device') activity.seen(account.username, seen);
    else if (!account && (status === 401 || status === 429)) {
      const name = parseBasicAuth(req)?.name;
      if (name) activity.failedLogin(name, seen);
    }
  }

  return { activity, metrics, dailySales, thresholds, observeRequests, router };
}
