import type { RequestHandler } from 'express';
import { opsOf } from '../app.js';
import { checkReadiness } from '../ops/readiness.js';
import { renderShopsPage, type ShopFigures, type ShopLine } from '../ops/shops-page.js';
import { statusSecurityHeaders } from '../ops/status-routes.js';
import { VERSION } from '../ops/version.js';
import { mapLimit } from '../map-limit.js';
import type { OpenShop, ShopDirectory } from './directory.js';

/** At most this many shops are read at a time (each reads its store and its data dir's free space). */
const READ_AT_ONCE = 8;

/** One open shop's figures, read as its own status page reads them. */
export async function figuresOf(open: OpenShop): Promise<ShopFigures> {
  const { gateway } = open;
  const ops = opsOf(open.app);
  const fwd = gateway.forwarding;
  const registers = [...new Set(gateway.accounts.devices().map((d) => d.cashRegister!))];
  const [readiness, today, quarantineOpen] = await Promise.all([
    checkReadiness({ store: gateway.store, forwarding: fwd }, ops.thresholds),
    ops.dailySales.today(registers),
    gateway.ledger.openQuarantineCount(),
  ]);
  const devices = ops.activity.list();
  const seen = devices.map((d) => d.lastSeen?.at).filter((at): at is Date => at !== undefined);
  return {
    health: readiness.status,
    failing: [...readiness.failing, ...readiness.warnings],
    devices: devices.length,
    devicesSeen: seen.length,
    lastSeen: seen.length ? new Date(Math.max(...seen.map((d) => d.getTime()))) : null,
    salesToday: today.sales,
    totalToday: today.total,
    quarantineOpen,
    deadLetters: fwd ? fwd.deadLetters().length : null,
  };
}

/**
 * The operators' overview at /status (the caller is an authenticated operator: see dispatch.ts).
 * Open shops are read live; the others are never opened for it: they show what the directory
 * knows and the figures this page last read while they were open.
 */
export function shopsOverview(directory: ShopDirectory, now: () => Date): RequestHandler {
  const lastRead = new Map<string, { at: Date; figures: ShopFigures }>();
  const page: RequestHandler = async (req, res, next) => {
    try {
      if (/\/$/.test(req.originalUrl.split('?')[0])) {
        res.redirect(301, '../status');
        return;
      }
      const shops = directory.list();
      const lines = await mapLimit(shops, READ_AT_ONCE, async (shop): Promise<ShopLine> => {
        const known = directory.view(shop);
        const line: ShopLine = {
          id: shop.id,
          name: shop.name,
          currency: shop.currency,
          disabled: shop.disabled,
          devices: known.devices.length,
          open: false,
          figures: null,
          figuresAt: null,
        };
        // Checked at the call: this page never opens a shop.
        if (directory.isOpen(shop.id)) {
          try {
            const figures = await figuresOf(await directory.gateway(shop.id));
            lastRead.set(shop.id, { at: now(), figures });
            return { ...line, open: true, figures };
          } catch {
            /* closed while read: shown as not open */
          }
        }
        const last = lastRead.get(shop.id);
        return last ? { ...line, figures: last.figures, figuresAt: last.at } : line;
      });
      for (const id of lastRead.keys()) if (!directory.get(id)) lastRead.delete(id);
      res.set('Cache-Control', 'no-store');
      res.type('html').send(renderShopsPage({ now: now(), version: VERSION, startedAt: directory.defaultShop?.gateway.startedAt ?? now(), shops: lines }));
    } catch (err) {
      next(err);
    }
  };
  return (req, res, next) => statusSecurityHeaders(req, res, (err?: unknown) => (err ? next(err) : page(req, res, next)));
}

const SHOP_PAGE = /^\/shops\/([^/]+)\/status(\/.*)?$/i;

/** "/shops/cafe/status/deadletters/x/retry" → { shop: "cafe", rest: "/deadletters/x/retry" }. */
export function shopStatusPath(path: string): { shop: string; rest: string } | null {
  const m = SHOP_PAGE.exec(path);
  if (!m) return null;
  let shop = m[1];
  try {
    shop = decodeURIComponent(shop);
  } catch {
    /* kept as sent: refused as a bad id */
  }
  return { shop, rest: m[2] ?? '' };
}
