import { Router } from 'express';
import type { BackOffice } from '../domain/back-office.js';
import type { Catalog } from '../domain/catalog.js';
import type { SalesLedger } from '../domain/ledger.js';
import type { UnitOfWork } from '../domain/ports/unit-of-work.js';
import { daysRouter } from './days.js';
import { receiptsRouter } from './receipts.js';
import { registrationsRouter } from './registrations.js';
import { salesDiffRouter } from './sales-diff.js';
import { statsRouter } from './stats.js';

export interface BackOfficeDeps {
  backOffice: BackOffice;
  ledger: SalesLedger;
  catalog: Catalog;
  /** Back-office changes (a day close, a cash movement) run in its transact. */
  uow: UnitOfWork;
  now: () => Date;
}

/**
 * srv4pos use cases 3, 4 and 9: registrations, cash balance, days and X/Z reports, receipts, stats,
 * the sales change feed. Mounted before the article and sale routers, so /products/stats and
 * /sales/stats are not taken for identifiers.
 */
export function backOfficeRouter(deps: BackOfficeDeps): Router {
  const router = Router();
  router.use(statsRouter(deps));
  router.use(registrationsRouter(deps));
  router.use(daysRouter(deps));
  router.use(receiptsRouter(deps));
  router.use(salesDiffRouter(deps));
  return router;
}
