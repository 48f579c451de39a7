import { pageSecurityHeaders } from '../http/page-security.js';
import express, { type Request, type Response, Router } from 'express';
import { ADMIN_CSS, ADMIN_JS } from './assets.js';
import { type AdminDeps, isStale, rootOf, send, sessionOf, signsInEveryShop, STALE_FORM, text } from './context.js';
import { csrfField, field, html } from './page.js';
import { AdminSessions, KeptForms, readCookie, SESSION_COOKIE, type KeptForm } from './session.js';
import { dashboardRoutes } from './dashboard.js';
import { eventStream } from './events.js';
import { articleRoutes, KINDS } from './articles.js';
import { salesRoutes } from './sales.js';
import { devicesRoutes } from './devices.js';
import { stockRoutes } from './stock.js';
import { daysRoutes } from './days.js';
import { importRoutes } from './import.js';
import { quarantineRoutes } from './quarantine.js';
import { forwardingRoutes } from './forwarding.js';
import { refuseOversizedBody } from '../http/unread-body.js';

export type { AdminDeps } from './context.js';

/** No inline script or style at all: everything comes from assets/ on this origin. */
export const adminSecurityHeaders = pageSecurityHeaders({
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
});

/**
 * Without a Path attribute the cookie belongs to the folder of the sign-in URL (".../admin"),
 * whatever prefix a reverse proxy adds. Secure when the browser came over TLS (req.secure also
 * believes X-Forwarded-Proto from a proxy that server.trustProxy trusts).
 */
function setSessionCookie(req: Request, res: Response, id: string): void {
  const attrs = ['HttpOnly', 'SameSite=Strict', ...(req.secure ? ['Secure'] : []), ...(id ? [] : ['Max-Age=0'])];
  res.append('Set-Cookie', [`${SESSION_COOKIE}=${id}`, ...attrs].join('; '));
}

/** A path inside the back office to return to after signing in ("products/12?q=x"); nothing else. */
function safeNext(value: unknown): string {
  if (typeof value !== 'string' || value.length > 500) return '';
  if (!/^[A-Za-z0-9_-][A-Za-z0-9_.\-/?=&%+,~]*$/.test(value) || value.includes('//') || value.includes('..')) return '';
  return value;
}

/** Where the browser was: this page (GET) or the page whose form it posted (its Referer). */
function returnPath(req: Request): string {
  const own = req.originalUrl.slice(req.baseUrl.length + 1);
  if (req.method === 'GET') return safeNext(own);
  try {
    const ref = new URL(req.headers.referer ?? '');
    const at = ref.pathname.indexOf(`${req.baseUrl}/`);
    if (ref.host === req.headers.host && at >= 0) return safeNext(ref.pathname.slice(at + req.baseUrl.length + 1) + ref.search);
  } catch {
    /* no usable Referer */
  }
  return '';
}

/** What a posted form held, without its (dead) token, to post back after signing in again. */
function keptForm(req: Request): KeptForm | null {
  const action = safeNext(req.originalUrl.slice(req.baseUrl.length + 1));
  if (!action || !req.body || typeof req.body !== 'object') return null;
  const fields = Object.entries(req.body as Record<string, unknown>).flatMap(([name, value]) =>
    name === '_csrf' ? [] : (Array.isArray(value) ? value : [value]).filter((v) => typeof v === 'string').map((v): [string, string] => [name, v as string]),
  );
  return { action, fields };
}

/** The web back office at /admin/: session sign-in, then server-rendered pages over the domain services. */
export function adminRouter(deps: AdminDeps): Router {
  const { gateway } = deps;
  const sessions = new AdminSessions(gateway.config.admin.sessionIdleMinutes * 60_000, () => gateway.now().getTime());
  const router = Router();
  const forms = express.urlencoded({ extended: false, limit: '256kb' });
  const keptForms = new KeptForms(30 * 60_000, 50, () => gateway.now().getTime());
  const formId = (value: unknown) => (typeof value === 'string' && /^[\w-]{1,64}$/.test(value) ? value : '');

  router.use(adminSecurityHeaders, (req, res, next) => {
    res.set('Cache-Control', 'no-store');
    // "/admin" → "/admin/", "/admin/sales/" → "/admin/sales": relative links need one spelling.
    const path = req.originalUrl.split('?')[0];
    const query = req.originalUrl.slice(path.length);
    if (req.method === 'GET' && path === req.baseUrl) return res.redirect(301, `${path.split('/').pop()}/${query}`);
    if (req.method === 'GET' && req.path !== '/' && path.endsWith('/')) return res.redirect(301, `../${path.replace(/\/+$/, '').split('/').pop()}${query}`);
    next();
  });

  router.get('/assets/admin.css', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=86400').type('text/css').send(ADMIN_CSS);
  });
  router.get('/assets/admin.js', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=86400').type('text/javascript').send(ADMIN_JS);
  });

  const signInPage = (req: Request, res: Response, o: { username?: string; next: string; form?: string; error?: string; status?: number }) =>
    send(
      req,
      res,
      deps,
      {
        title: 'Sign in',
        notice: o.error ? { kind: 'fail', text: o.error } : null,
        content: html`<h1>Sign in</h1>
<form class="stack" method="post" action="sign-in">
<input type="hidden" name="next" value="${o.next}">${o.form ? html`<input type="hidden" name="form" value="${o.form}">` : ''}
${field({ label: 'Username', name: 'username', value: o.username ?? '', autocomplete: 'username', required: true })}
${field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password', required: true })}
<div class="actions"><button class="primary" type="submit">Sign in</button></div>
</form>
${
  deps.shop
    ? html`<p class="muted">Use an admin account of shop <strong>${deps.shop.id}</strong>, or an operator account.</p>`
    : signsInEveryShop(req)
      ? html`<p class="muted">Use your shop's admin account: its username takes you to your shop's back office.</p>`
      : html`<p class="muted">Use an admin account of the gateway's configuration (<code>admins</code>).</p>`
}`,
      },
      o.status,
    );

  router.get('/sign-in', (req, res) => {
    const next = safeNext(req.query.next);
    if (sessions.use(readCookie(req.headers.cookie, SESSION_COOKIE))) return res.redirect(303, `./${next}`);
    const expired = req.query.expired === '1';
    signInPage(req, res, {
      next,
      form: formId(req.query.form),
      error: expired ? 'Your session has ended. Sign in again to continue where you were.' : undefined,
    });
  });

  // Read before anyone is authenticated: a sign-in form is small, so is the limit.
  router.post('/sign-in', refuseOversizedBody(8 * 1024), express.urlencoded({ extended: false, limit: '8kb' }), async (req, res) => {
    const username = text(req, 'username');
    const next = safeNext(text(req, 'next'));
    const form = formId(text(req, 'form'));
    // Same throttle and keys as Basic auth: a brute force here also slows one there, and vice versa.
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const wait = gateway.throttle.retryAfterMs(address, username);
    if (wait > 0) {
      res.set('Retry-After', String(Math.ceil(wait / 1000)));
      return signInPage(req, res, { username, next, form, status: 429, error: `Too many failed sign-ins. Try again in ${Math.ceil(wait / 1000)} seconds.` });
    }
    // Several shops: an operator signs in to any shop's back office (the shop's accounts do not hold operators).
    const operator = deps.shop?.isOperator(username) === true;
    const account = operator
      ? (await deps.shop!.verifyOperator(username, text(req, 'password')))
        ? { username, role: 'admin' as const }
        : null
      : await gateway.accounts.verify(username, text(req, 'password'));
    if (account?.role !== 'admin') {
      gateway.throttle.recordFailure(address, username);
      req.log?.warn({ event: 'admin.sign_in_failed', username }, 'back office sign-in refused');
      return signInPage(req, res, { username, next, form, status: 401, error: 'Wrong username or password (or not an admin account).' });
    }
    gateway.throttle.recordSuccess(address, username);
    if (deps.shop?.disabled() && !operator)
      return signInPage(req, res, { username, next, form, status: 403, error: `Shop ${deps.shop.id} is disabled; its operator can enable it again.` });
    const session = sessions.create(account.username, operator);
    setSessionCookie(req, res, session.id);
    req.log?.info(
      { event: 'admin.signed_in', username, ...(operator && { operator: true }) },
      `${username} signed in to the back office${operator ? ' (operator)' : ''}`,
    );
    const kept = form ? keptForms.take(form, readCookie(req.headers.cookie, SESSION_COOKIE)) : null;
    if (!kept) return res.redirect(303, `./${next}`);
    // Posted back without a token: its page shows it again as a stale form (nothing saved, all kept).
    res.locals.adminSession = session;
    send(req, res, deps, {
      title: 'Signed in',
      content: html`<h1>Signed in</h1>
<p>What you sent while signed out was not saved. Continue to see it again as you typed it, check it and submit it.</p>
<form method="post" action="./${kept.action}" data-resubmit>${kept.fields.map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
<div class="actions"><button class="primary" type="submit">Continue</button></div></form>`,
    });
  });

  // Everything below needs a session.
  router.use((req, res, next) => {
    let session = sessions.use(readCookie(req.headers.cookie, SESSION_COOKIE));
    // A shop disabled meanwhile: its admins are signed out (operators stay).
    if (session && !session.operator && deps.shop?.disabled()) {
      sessions.end(session.id);
      session = null;
    }
    if (session) {
      res.locals.adminSession = session;
      return next();
    }
    if (req.path === '/events') return res.status(401).end();
    const back = returnPath(req);
    const hadCookie = readCookie(req.headers.cookie, SESSION_COOKIE) !== undefined;
    const toSignIn = (kept?: KeptForm | null) =>
      res.redirect(
        303,
        `${rootOf(req)}sign-in?${hadCookie ? 'expired=1&' : ''}next=${encodeURIComponent(back)}${kept ? `&form=${keptForms.keep(kept, readCookie(req.headers.cookie, SESSION_COOKIE) ?? '')}` : ''}`,
      );
    // A form sent after the session ended: keep what was typed for after signing in (a file cannot be kept).
    if (req.method !== 'POST' || !hadCookie || req.path === '/sign-out' || !req.is('application/x-www-form-urlencoded')) return toSignIn();
    forms(req, res, (err?: unknown) => toSignIn(err ? null : keptForm(req)));
  });

  router.use(forms);

  router.post('/sign-out', (req, res) => {
    const session = sessionOf(res);
    if (isStale(req, session))
      return send(
        req,
        res,
        deps,
        {
          title: 'Sign out',
          notice: STALE_FORM,
          content: html`<h1>Sign out</h1><form method="post" action="sign-out">${csrfField(session.csrfToken)}<button type="submit">Sign out</button></form>`,
        },
        403,
      );
    sessions.end(session.id);
    setSessionCookie(req, res, '');
    res.redirect(303, 'sign-in');
  });

  router.get('/events', eventStream(gateway));
  router.use(dashboardRoutes(deps));
  router.use(salesRoutes(deps));
  router.use(devicesRoutes(deps));
  router.use(stockRoutes(deps));
  router.use(daysRoutes(deps));
  router.use(importRoutes(deps));
  router.use(quarantineRoutes(deps));
  router.use(forwardingRoutes(deps));
  for (const kind of KINDS) router.use(articleRoutes(deps, kind));
  // Last: a page of the back office, not the API's JSON 404.
  router.use((req, res) =>
    send(
      req,
      res,
      deps,
      { title: 'Not found', content: html`<h1>Page not found</h1><p>There is no page here. <a href="${rootOf(req)}">Go to the dashboard</a>.</p>` },
      404,
    ),
  );
  return router;
}
