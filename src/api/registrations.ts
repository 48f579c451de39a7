import { Router } from 'express';
import { accountOf } from '../auth/basic-auth.js';
import type { BalanceMovement } from '../domain/reports.js';
import type { BackOfficeDeps } from './back-office.js';
import { paging } from './http.js';
import { validateBody } from './validate.js';

/** GET /registrations, a register's version, its cash balance (deposits and withdrawals). */
export function registrationsRouter({ backOffice, uow }: BackOfficeDeps): Router {
  const router = Router();

  router.get('/registrations', (req, res) => {
    const { firstResult, maxResults } = paging(req);
    const all = backOffice.registrations();
    res.json({ items: all.slice(firstResult, firstResult + maxResults), total: all.length });
  });

  router.get('/registrations/:name', (req, res) => {
    res.json(backOffice.registrationOf(req.params.name));
  });

  router.get('/registrations/:name/version', (req, res) => {
    const version = backOffice.versionOf(req.params.name);
    res.set('ETag', `"${version}"`).json({ cashRegisterName: req.params.name, version });
  });

  router.get('/registrations/:name/balance', (req, res) => {
    res.json(backOffice.balance(req.params.name));
  });

  router.post('/registrations/:name/balance', async (req, res) => {
    const body = validateBody<{ action: BalanceMovement['action']; amount: number; note?: string }>('balance', req.body);
    const result = await uow.transact(() => backOffice.moveCash(req.params.name, body.action, body.amount, body.note ?? '', accountOf(res).username));
    res.status(201).json(result);
  });

  return router;
}
