import { pageSecurityHeaders } from '../http/page-security.js';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type Request, type RequestHandler, Router } from 'express';
import { AppError, notFound } from '../errors.js';
import type { Gateway } from '../gateway.js';
import type { DailySales } from './daily-sales.js';
import type { DeviceActivity } from './device-activity.js';
import { checkReadiness, type ReadinessThresholds } from './readiness.js';
import { renderStatusPage, STATUS_CSS_HASH, type StatusView } from './status-page.js';
import { VERSION } from './version.js';

export interface StatusDeps {
  gateway: Gateway;
  activity: DeviceActivity;
  dailySales: DailySales;
  thresholds: ReadinessThresholds;
  adminAuth: RequestHandler;
}

const RECENT_QUARANTINE = 50;

/**
 * Set by a deployment of shops (src/shops) on a request for /shops/{shop}/status: the shop's API
 * prefix and the page's depth below the root, so that its quarantine links name the shop.
 * A symbol: no header a client sends can set it.
 */
export const STATUS_MOUNT = Symbol('tabshop-gateway.status-mount');
export type StatusMount = { apiPath: string; depth: number; overview?: { shop: string; name: string } };

/** The page's one inline stylesheet is allowed by its hash; no script at all. */
export const statusSecurityHeaders = pageSecurityHeaders({
  styleSrc: [STATUS_CSS_HASH],
  imgSrc: ['data:'],
  formAction: ["'self'"],
});

/** The admin status page at /status, and the retry or dismissal of a dead letter from it. */
export function statusRouter(deps: StatusDeps): Router {
  const router = Router();
  const { gateway } = deps;
  // A per-process token in the form: a cross-site page cannot read it, so cannot forge the POST.
  const csrfToken = randomBytes(24).toString('base64url');

  router.use('/status', statusSecurityHeaders, (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  router.get('/status', deps.adminAuth, async (req, res) => {
    if (/\/$/.test(req.originalUrl.split('?')[0])) {
      res.redirect(301, '../status');
      return;
    }
    const now = gateway.now();
    const fwd = gateway.forwarding;
    await fwd?.refresh?.();
    const quarantine = await gateway.ledger.quarantineSummaries('open');
    const quarantineCount = await gateway.ledger.quarantineCount();
    const registers = [...new Set(gateway.accounts.devices().map((d) => d.cashRegister!))];
    const view: StatusView = {
      now,
      version: VERSION,
      startedAt: gateway.startedAt,
      currency: gateway.config.currency,
      timeZone: gateway.backOffice.timeZone,
      readiness: await checkReadiness({ store: gateway.store, forwarding: fwd }, deps.thresholds),
      devices: deps.activity.list(),
      today: await deps.dailySales.today(registers),
      quarantine: {
        total: quarantine.length,
        resolved: quarantineCount - quarantine.length,
        recent: quarantine.slice(-RECENT_QUARANTINE).reverse(),
      },
      forwarding: fwd
        ? { upstream: fwd.upstream(), targets: fwd.targets(), deadLetters: fwd.deadLetters(), dismissedDeadLetters: fwd.deadLetters('dismissed').length }
        : null,
      csrfToken,
      ...apiLinks(req, gateway.config.api.basePath.replace(/\/+$/, '')),
      notice: notice(req),
    };
    res.type('html').send(renderStatusPage(view));
  });

  /** A form of the status page: same origin, and the page's token (a cross-site page cannot read it). */
  const checkForm = (req: Request) => {
    assertSameOrigin(req);
    const token = typeof req.body?.token === 'string' ? req.body.token : '';
    if (!sameSecret(token, csrfToken)) throw new AppError('forbidden', 'the form is stale or was not sent by the status page; reload /status and try again');
  };

  router.post('/status/deadletters/:id/retry', deps.adminAuth, express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    checkForm(req);
    const fwd = gateway.forwarding;
    if (!fwd) throw notFound('forwarding (this gateway forwards nothing, so it has no dead letters)');
    const id = String(req.params.id);
    const retried = await fwd.retryDeadLetter(id, { target: formTarget(req) });
    req.log?.info(
      { event: 'deadletter.retry', identifier: id, retried, admin: res.locals.account?.username },
      retried ? `dead letter ${id} moved back to the outbox` : `no dead letter ${id}`,
    );
    // Relative, so that the page also works behind a proxy that mounts it under a prefix.
    res.redirect(303, `../../../status?${retried ? 'retried' : 'missing'}=${encodeURIComponent(id)}`);
  });

  router.post('/status/deadletters/:id/dismiss', deps.adminAuth, express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    checkForm(req);
    const fwd = gateway.forwarding;
    if (!fwd) throw notFound('forwarding (this gateway forwards nothing, so it has no dead letters)');
    const id = String(req.params.id);
    const reason = typeof req.body?.reason === 'string' ? req.body.reason.trim() : '';
    if (reason === '') {
      res.redirect(303, `../../../status?noreason=${encodeURIComponent(id)}`);
      return;
    }
    const admin = res.locals.account?.username ?? 'admin';
    const dismissed = await fwd.dismissDeadLetter(id, reason, admin, formTarget(req));
    req.log?.info({ event: 'deadletter.dismiss', identifier: id, dismissed, admin }, dismissed ? `dead letter ${id} dismissed` : `no open dead letter ${id}`);
    res.redirect(303, `../../../status?${dismissed ? 'dismissed' : 'missing'}=${encodeURIComponent(id)}`);
  });

  return router;
}

function apiLinks(req: Request, apiPath: string): Pick<StatusView, 'apiPath' | 'apiHref' | 'overview'> {
  const mount = (req as { [STATUS_MOUNT]?: StatusMount })[STATUS_MOUNT];
  if (!mount) return { apiPath, apiHref: `.${apiPath}`, overview: null };
  const root = Array(mount.depth).fill('..').join('/');
  return {
    apiPath: mount.apiPath,
    apiHref: `${root}${mount.apiPath}`,
    overview: mount.overview ? { ...mount.overview, href: `${root}/status` } : null,
  };
}

/** The target of the form's row: a sale has a dead letter per target, and a row acts on its own only. */
function formTarget(req: Request): string | undefined {
  return typeof req.body?.target === 'string' && req.body.target !== '' ? req.body.target : undefined;
}

function notice(req: Request): StatusView['notice'] {
  const { retried, missing, dismissed, noreason } = req.query;
  if (typeof retried === 'string') return { kind: 'ok', text: `Dead letter ${retried} moved back to the outbox; it will be delivered again.` };
  if (typeof dismissed === 'string')
    return { kind: 'ok', text: `Dead letter ${dismissed} dismissed; it is kept (GET /api/deadletters?state=dismissed) and no longer counted.` };
  if (typeof noreason === 'string') return { kind: 'warn', text: `Dead letter ${noreason} was not dismissed: give a reason.` };
  if (typeof missing === 'string') return { kind: 'warn', text: `No open dead letter ${missing} (already retried or dismissed?).` };
  return null;
}

/** Browsers send Origin (or at least Referer) on form posts; when they do, it must be this host. */
export function assertSameOrigin(req: Request): void {
  const host = req.headers.host;
  const source = req.headers.origin ?? req.headers.referer;
  if (source === undefined) return;
  let sourceHost: string | null = null;
  try {
    sourceHost = new URL(source).host;
  } catch {
    sourceHost = null;
  }
  if (!host || sourceHost !== host) throw new AppError('forbidden', 'cross-origin form posts are refused');
}

export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
