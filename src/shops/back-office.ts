import express, { type Request, type RequestHandler, type Response } from 'express';
import type { AdminShop } from '../admin/context.js';
import { html, renderPage } from '../admin/page.js';
import { adminRouter, adminSecurityHeaders } from '../admin/router.js';
import { opsOf } from '../app.js';
import { AppError } from '../errors.js';
import { freshReads } from '../http/fresh-reads.js';
import { refuseOversizedBody } from '../http/unread-body.js';
import { requestLogger } from '../ops/request-log.js';
import type { OpenShop, ShopDirectory } from './directory.js';

/** `/shops/{shop}/admin` and everything under it: the shop named (as written), else null. */
export function shopAdminPath(path: string): string | null {
  const m = /^\/shops\/([^/]+)\/admin(?:\/|$)/i.exec(path);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}

export interface BackOfficeRoutes {
  /** Serves a request under /shops/{shop}/admin with that shop's back office (built now if it has none yet). */
  handle(id: string, open: OpenShop, req: Request, res: Response, next: (err?: unknown) => void): void;
  /** The sign-in form's username and password (the body read here; the app it goes to reads it no more). */
  readSignInForm(req: Request, res: Response): Promise<{ username: string; password: string }>;
  /** What an operator signing in at /admin/ gets: every shop's back office, to sign in there. */
  operatorPage(req: Request, res: Response): void;
  /** Whether this open shop's back office was built (it is on its first request). */
  isBuilt(open: OpenShop): boolean;
}

/**
 * Each shop's web back office at /shops/{shop}/admin/: the same pages as a one-shop gateway's
 * /admin/, over the shop's gateway, with sessions (and their CSRF tokens) of its own. Built on
 * the shop's first back-office request, not when the shop opens (most shops are only ever reached
 * by their tablets), and dropped with the open shop (a shop closed while idle signs its admins out).
 */
export function shopBackOffices(directory: ShopDirectory): BackOfficeRoutes {
  const built = new WeakMap<OpenShop, RequestHandler>();
  const signInForm = [refuseOversizedBody(8 * 1024), express.urlencoded({ extended: false, limit: '8kb' })];

  function shopSide(id: string): AdminShop {
    return {
      id,
      get name() {
        return directory.get(id)?.name ?? id;
      },
      disabled: () => directory.get(id)?.disabled === true,
      isOperator: (username) => directory.isOperator(username),
      verifyOperator: async (username, password) => (await directory.login(username, password))?.operator === true,
      device: (username) => {
        const d = directory.get(id)?.fromApi.devices.find((x) => x.username === username);
        return d && { username: d.username, cashRegister: d.cashRegister };
      },
      changeDevicePassword: async (username, passwordHash) => {
        const d = directory.get(id)?.fromApi.devices.find((x) => x.username === username);
        if (!d) return null;
        await directory.putDevice(id, { username, passwordHash, cashRegister: d.cashRegister }, new Date());
        return { username, cashRegister: d.cashRegister };
      },
      createDevice: async (device) => {
        try {
          await directory.putDevice(id, device, new Date());
          return true;
        } catch (err) {
          if (err instanceof AppError && err.code === 'username_taken') return false;
          throw err;
        }
      },
    };
  }

  function build(id: string, open: OpenShop): RequestHandler {
    const ops = opsOf(open.app);
    const mount = express.Router();
    // The shop's log lines and, on PostgreSQL, reads as fresh as its app's.
    mount.use(
      `/shops/${id}/admin`,
      requestLogger(open.gateway.logger),
      freshReads(open.gateway.store),
      adminRouter({ gateway: open.gateway, activity: ops.activity, dailySales: ops.dailySales, shop: shopSide(id) }),
    );
    return mount;
  }

  return {
    handle(id, open, req, res, next) {
      let handler = built.get(open);
      if (!handler) built.set(open, (handler = build(id, open)));
      handler(req, res, next);
    },

    isBuilt: (open) => built.has(open),

    async readSignInForm(req, res) {
      for (const step of signInForm) {
        const failed = await new Promise<unknown>((resolve) => step(req, res, resolve));
        if (failed) throw failed;
      }
      const body = (req.body ?? {}) as Record<string, unknown>;
      const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
      return { username: text('username'), password: text('password') };
    },

    operatorPage(req, res) {
      const shops = directory.list().sort((a, b) => a.id.localeCompare(b.id));
      adminSecurityHeaders(req, res, () => undefined);
      res
        .status(200)
        .set('Cache-Control', 'no-store')
        .type('html')
        .send(
          renderPage({
            title: 'Shops',
            root: './',
            content: html`<h1>Shops</h1>
<p>Operators sign in to each shop's back office (its page asks again, once per shop).</p>
<ul id="shops-list">${shops.map(
              (s) =>
                html`<li data-shop="${s.id}"><a href="../shops/${encodeURIComponent(s.id)}/admin/">${s.name === s.id ? s.id : html`${s.name} (${s.id})`}</a>${s.disabled ? ' (disabled)' : ''}</li>`,
            )}</ul>`,
          }),
        );
    },
  };
}
