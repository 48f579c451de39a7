import { Router, type Request, type Response } from 'express';
import { accountOf } from '../auth/basic-auth.js';
import type { DayReport } from '../domain/reports.js';
import { badRequest, notFound } from '../errors.js';
import { objectToCsv } from '../render/csv.js';
import { reportText } from '../render/report-text.js';
import type { BackOfficeDeps } from './back-office.js';
import { stringParam, timeParam } from './http.js';
import { representation, sendCsv, sendList, sendText } from './negotiate.js';

const DAY_COLUMNS = ['dayId', 'cashRegisterName', 'dayNo', 'status', 'openedAt', 'closedAt', 'saleCount', 'refundCount', 'cancelCount', 'gross'];

/** Days per register: close the open one (Z report), list them, read X/Z reports as JSON, text or CSV. */
export function daysRouter({ backOffice, uow }: BackOfficeDeps): Router {
  const router = Router();

  const sendReport = (req: Request, res: Response, report: DayReport) => {
    const as = representation(req, ['json', 'text', 'csv']);
    if (as === 'text') sendText(res, reportText(report, backOffice.money, backOffice.timeZone));
    else if (as === 'csv') sendCsv(res, objectToCsv(report), `${report.type}-report-${report.dayId.replace(/[^A-Za-z0-9_.-]/g, '_')}.csv`);
    else res.json(report);
  };

  const registerParam = (req: Request) => {
    const register = stringParam(req, 'cashRegisterName') ?? (req.body as { cashRegisterName?: unknown } | undefined)?.cashRegisterName;
    if (typeof register !== 'string' || register === '') {
      throw badRequest('cashRegisterName is required (?cashRegisterName=R)', [{ field: 'cashRegisterName', message: 'required' }]);
    }
    return register;
  };

  /** Closes the open day: 201 with its Z report; with ?dayId= a day already closed answers 200 with its Z again. */
  router.post('/days/current', async (req, res) => {
    const register = registerParam(req);
    const dayId = stringParam(req, 'dayId') ?? (req.body as { dayId?: string } | undefined)?.dayId;
    const { report, alreadyClosed } = await uow.transact(() => backOffice.closeDay(register, accountOf(res).username, dayId));
    res.status(alreadyClosed ? 200 : 201).location(`days/${encodeURIComponent(report.dayId)}/report`);
    sendReport(req, res, report);
  });

  /** `current` (with ?cashRegisterName=R) names the register's open day. */
  const dayIdParam = (req: Request) => {
    if (req.params.dayId !== 'current') return req.params.dayId as string;
    const register = registerParam(req);
    const dayId = backOffice.currentDayId(register);
    if (!dayId) throw notFound(`an open day of register ${register}`);
    return dayId;
  };

  router.get('/days', (req, res) => {
    const days = backOffice.days({ register: stringParam(req, 'cashRegisterName'), from: timeParam(req, 'from'), to: timeParam(req, 'to') });
    sendList(req, res, days, (d) => d, {}, 'days.csv', DAY_COLUMNS);
  });

  router.get('/days/:dayId', (req, res) => {
    res.json(backOffice.day(dayIdParam(req)));
  });

  router.get('/days/:dayId/report', (req, res) => {
    sendReport(req, res, backOffice.report(dayIdParam(req)));
  });

  return router;
}
