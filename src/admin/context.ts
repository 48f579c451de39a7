import type { Request, Response } from 'express';
import type { Gateway } from '../gateway.js';
import type { DailySales } from '../ops/daily-sales.js';
import type { DeviceActivity } from '../ops/device-activity.js';
import { assertSameOrigin } from '../ops/status-routes.js';
import { renderPage, type Notice, type PageView } from './page.js';
import { sameSecret, type AdminSession } from './session.js';

export interface AdminDeps {
  gateway: Gateway;
  activity: DeviceActivity;
  dailySales: DailySales;
  /** A shop of a deployment of several (src/shops): absent for a one-shop gateway. */
  shop?: AdminShop;
}

/**
 * Set by a deployment of shops (src/shops/dispatch.ts) on requests to shop default's /admin/, whose
 * sign-in takes every shop's admins (and sends them on): a symbol, so no client can set it.
 */
export const SIGN_IN_FOR_EVERY_SHOP = Symbol('tabshop-gateway.sign-in-for-every-shop');

export const signsInEveryShop = (req: object): boolean => (req as { [SIGN_IN_FOR_EVERY_SHOP]?: boolean })[SIGN_IN_FOR_EVERY_SHOP] === true;

/**
 * Set with it: whether a username is taken in another shop of the deployment (or by an operator),
 * so a device made in shop default's back office keeps usernames unique across shops.
 */
export const TAKEN_IN_ANOTHER_SHOP = Symbol('tabshop-gateway.taken-in-another-shop');

export const takenInAnotherShop = (req: object, username: string): boolean =>
  (req as { [TAKEN_IN_ANOTHER_SHOP]?: (username: string) => boolean })[TAKEN_IN_ANOTHER_SHOP]?.(username) === true;

/** What a shop's back office needs of the deployment around it (src/shops/dispatch.ts). */
export interface AdminShop {
  id: string;
  name: string;
  /** Operators may sign in to any shop's back office (they are no account of the shop). */
  /** A disabled shop's back office takes operators only. */
  disabled(): boolean;
  isOperator(username: string): boolean;
  verifyOperator(username: string, password: string): Promise<boolean>;
  /**
   * A device created in this back office joins the deployment's directory (usernames are unique
   * across shops, and a tablet's username is how its requests find the shop). false: taken.
   */
  createDevice(device: { username: string; passwordHash: string; cashRegister: string }): Promise<boolean>;
  /** A device of the directory added at run time (here or through the API): its password can change here. */
  device(username: string): { username: string; cashRegister: string } | undefined;
  /** null: no such device (any more). */
  changeDevicePassword(username: string, passwordHash: string): Promise<{ username: string; cashRegister: string } | null>;
}

/** Relative path from this request's page to the back office root: "./" or "../" per level. */
export function rootOf(req: Request): string {
  const depth = req.path.split('/').length - 2;
  return depth > 0 ? '../'.repeat(depth) : './';
}

export const sessionOf = (res: Response) => res.locals.adminSession as AdminSession;

export const STALE_FORM: Notice = {
  kind: 'fail',
  text: 'This form had expired or did not come from this back office, so nothing was saved. What you entered is kept below: check it and submit again.',
};

/** A change must come from a page of this back office: same origin and this session's token. */
export function isStale(req: Request, session: AdminSession): boolean {
  try {
    assertSameOrigin(req);
  } catch {
    return true;
  }
  const token = typeof req.body?._csrf === 'string' ? req.body._csrf : '';
  return !sameSecret(token, session.csrfToken);
}

/** Sends a back-office page for this request (root, user and nav filled in). */
export function send(req: Request, res: Response, deps: AdminDeps, view: Omit<PageView, 'root' | 'user' | 'forwarding'>, status = 200): void {
  const session = res.locals.adminSession as AdminSession | undefined;
  res
    .status(status)
    .type('html')
    .send(
      renderPage({
        ...view,
        root: rootOf(req),
        user: session ? { username: session.username, csrfToken: session.csrfToken } : undefined,
        forwarding: Boolean(deps.gateway.forwarding),
        ...(deps.shop && { shop: deps.shop.name === deps.shop.id ? deps.shop.id : `${deps.shop.name} (${deps.shop.id})` }),
      }),
    );
}

/** A form field's text ('' when absent). */
export const text = (req: Request, name: string): string => {
  const v = req.body?.[name];
  return typeof v === 'string' ? v : '';
};

/** Redirect (303 See Other) relative to the back office root, with a message for the next page. */
export function redirectTo(req: Request, res: Response, path: string, notice?: string | Notice): void {
  if (notice) sessionOf(res).flash = typeof notice === 'string' ? { kind: 'ok', text: notice } : notice;
  res.redirect(303, `${rootOf(req)}${path}`);
}

/** The message a redirect left for this page (shown once). */
export function noticeOf(res: Response): Notice | null {
  const session = res.locals.adminSession as AdminSession | undefined;
  const flash = session?.flash ?? null;
  if (session) delete session.flash;
  return flash;
}

/**
 * When each device was last seen and last pushed: this process's observations, else what the
 * back office stored before a restart (presence).
 */
export function devicePresence(
  deps: AdminDeps,
): (username: string, seen: Date | undefined, pushed: Date | undefined) => { seen: Date | string | null; pushed: Date | string | null } {
  const stored = new Map<string, { lastSeenAt: string | null; lastPushAt: string | null }>();
  for (const r of deps.gateway.backOffice.registrations()) for (const d of r.devices) stored.set(d.username, d);
  return (username, seen, pushed) => ({
    seen: seen ?? stored.get(username)?.lastSeenAt ?? null,
    pushed: pushed ?? stored.get(username)?.lastPushAt ?? null,
  });
}
