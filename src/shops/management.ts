import express, { type Request, Router } from 'express';
import { hashPassword, isPasswordHash } from '../config/password.js';
import { AppError, validationFailed } from '../errors.js';
import { SHOP_ID, type ShopDirectory, type ShopPatch } from './directory.js';

/**
 * The operators' API over the shop directory (the caller is an authenticated operator: see
 * dispatch.ts). Changes are durable before the answer and in effect at once, with no restart.
 */
export function managementRouter(directory: ShopDirectory, opts: { basePath: string; bodyLimit: string; now: () => Date }): Router {
  const router = Router();
  const base = `${opts.basePath}/shops`;
  router.use(express.json({ type: () => true, limit: opts.bodyLimit }));
  const shopOf = (req: Request) => {
    const shop = directory.get(String(req.params.shop));
    if (!shop) throw new AppError('not_found', `shop ${req.params.shop} not found`);
    return shop;
  };

  router.get(base, (_req, res) => {
    const items = directory.list().map((s) => directory.view(s));
    res.json({ items, total: items.length });
  });
  router.post(base, async (req, res) => {
    const body = objectBody(req.body, ['id', 'name', 'currency', 'timeZone'], ['id']);
    if (typeof body.id !== 'string' || !SHOP_ID.test(body.id)) throw fieldProblem('id', 'must be 1 to 40 of a-z, 0-9 and "-"', body.id);
    const shop = await directory.create({ id: body.id, ...shopSettings(body) }, opts.now());
    res.status(201).location(`${base}/${shop.id}`).json(directory.view(shop));
  });
  router.get(`${base}/:shop`, (req, res) => {
    res.json(directory.view(shopOf(req)));
  });
  router.patch(`${base}/:shop`, async (req, res) => {
    const shop = shopOf(req);
    const body = objectBody(req.body, ['name', 'currency', 'timeZone', 'disabled'], []);
    const patch: ShopPatch = shopSettings(body);
    if (body.timeZone === null) patch.timeZone = null;
    if (body.disabled !== undefined) {
      if (typeof body.disabled !== 'boolean') throw fieldProblem('disabled', 'must be true or false', body.disabled);
      patch.disabled = body.disabled;
    }
    res.json(directory.view(await directory.update(shop.id, patch, opts.now())));
  });

  for (const list of ['devices', 'admins'] as const) {
    router.get(`${base}/:shop/${list}`, (req, res) => {
      const items = directory.view(shopOf(req))[list];
      res.json({ items, total: items.length });
    });
    router.put(`${base}/:shop/${list}/:username`, async (req, res) => {
      const shop = shopOf(req);
      const username = String(req.params.username);
      if (!/^[^:\s]{1,128}$/.test(username)) throw fieldProblem('username', 'must be 1 to 128 characters, without ":" or whitespace', username);
      const body = objectBody(req.body, list === 'devices' ? ['password', 'passwordHash', 'cashRegister'] : ['password', 'passwordHash'], []);
      const passwordHash = await passwordHashOf(body);
      const at = opts.now();
      if (list === 'devices') {
        const cashRegister = body.cashRegister;
        if (typeof cashRegister !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(cashRegister))
          throw fieldProblem('cashRegister', 'is required: 1 to 64 of A-Z, a-z, 0-9, "_", "." and "-"', cashRegister);
        const { created } = await directory.putDevice(shop.id, { username, passwordHash, cashRegister }, at);
        res.status(created ? 201 : 200).json({ shop: shop.id, username, cashRegister });
      } else {
        const { created } = await directory.putAdmin(shop.id, { username, passwordHash }, at);
        res.status(created ? 201 : 200).json({ shop: shop.id, username });
      }
    });
    router.delete(`${base}/:shop/${list}/:username`, async (req, res) => {
      const shop = shopOf(req);
      await directory.removeAccount(shop.id, list, String(req.params.username), opts.now());
      res.status(204).end();
    });
  }
  router.all([base, `${base}/:shop`, `${base}/:shop/:list`, `${base}/:shop/:list/:username`], (req) => {
    throw new AppError('method_not_allowed', `${req.method} is not allowed on ${req.path}`);
  });
  return router;
}

function objectBody(body: unknown, allowed: string[], required: string[]): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new AppError('invalid_body', 'the body must be a JSON object');
  const record = body as Record<string, unknown>;
  const details = [
    ...Object.keys(record)
      .filter((k) => !allowed.includes(k))
      .map((k) => ({ field: k, message: 'unknown field' })),
    ...required.filter((k) => record[k] === undefined).map((k) => ({ field: k, message: 'is required' })),
  ];
  if (details.length > 0) throw validationFailed(details);
  return record;
}

const fieldProblem = (field: string, message: string, value: unknown) =>
  validationFailed([{ field, message, ...(typeof value === 'string' || typeof value === 'number' ? { value } : {}) }]);

function shopSettings(body: Record<string, unknown>): { name?: string; currency?: string; timeZone?: string } {
  const out: { name?: string; currency?: string; timeZone?: string } = {};
  if (body.name !== undefined) {
    if (typeof body.name !== 'string' || body.name.length < 1 || body.name.length > 200) throw fieldProblem('name', 'must be 1 to 200 characters', body.name);
    out.name = body.name;
  }
  if (body.currency !== undefined) {
    if (typeof body.currency !== 'string' || !/^[A-Z]{3}$/.test(body.currency))
      throw fieldProblem('currency', 'must be an ISO 4217 code (three uppercase letters, e.g. "EUR")', body.currency);
    out.currency = body.currency;
  }
  if (body.timeZone !== undefined && body.timeZone !== null) {
    if (typeof body.timeZone !== 'string' || !isTimeZone(body.timeZone))
      throw fieldProblem('timeZone', 'must be an IANA time zone such as "Europe/Paris"', body.timeZone);
    out.timeZone = body.timeZone;
  }
  return out;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A plain password is hashed here (scrypt); neither is ever answered or logged. */
async function passwordHashOf(body: Record<string, unknown>): Promise<string> {
  const { password, passwordHash } = body;
  if ((password === undefined) === (passwordHash === undefined))
    throw validationFailed([{ field: 'password', message: 'give exactly one of password or passwordHash' }]);
  if (passwordHash !== undefined) {
    if (!isPasswordHash(passwordHash))
      throw validationFailed([{ field: 'passwordHash', message: 'must be a scrypt hash as printed by "tabshop-gateway hash-password"' }]);
    return passwordHash;
  }
  if (typeof password !== 'string' || password.length === 0) throw validationFailed([{ field: 'password', message: 'must be a non-empty string' }]);
  return hashPassword(password);
}
