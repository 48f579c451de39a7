import { Router } from 'express';
import { badRequest } from '../errors.js';
import type { BackOfficeDeps } from './back-office.js';
import { paging } from './http.js';

const seqParam = (raw: string, name: string) => {
  if (!/^\d{1,15}$/.test(raw))
    throw badRequest(`${name} must be a sales sequence number${name === 'to' ? ' or latest' : ''}`, [{ field: name, message: 'invalid' }]);
  return Number(raw);
};

/**
 * GET /sales-diff/{from}/{to}: the sales whose latest change has from < seq ≤ to, oldest first, at most
 * maxResults; `to` of the answer is the seq of its last item when the page is full, else the end of the
 * range (never beyond what is durable), so a consumer that passes it as the next `from` misses nothing.
 */
export function salesDiffRouter({ ledger }: BackOfficeDeps): Router {
  const router = Router();

  router.get('/sales-diff/:from/:to', async (req, res) => {
    const from = seqParam(req.params.from, 'from');
    const to = req.params.to === 'latest' ? Infinity : seqParam(req.params.to, 'to');
    if (to < from) throw badRequest('to must not be below from', [{ field: 'to', message: 'below from' }]);
    const max = paging(req).maxResults;
    // Between changes (none half-applied), then durable: nothing served here can be lost by a crash.
    const latest = await ledger.durableSalesSeq();
    const upper = Math.min(to, latest);
    const page = await ledger.feed(from, upper, max);
    const items = [];
    for (const { seq, identifier } of page) {
      const record = await ledger.getSale(identifier);
      // Changed again while this page was read: stop here; the consumer gets it at its new seq.
      if (!record || record.history[record.history.length - 1].seq !== seq) break;
      const firstSeq = record.history[0].seq;
      items.push({ seq, identifier, op: firstSeq > from ? 'create' : 'update', data: record.sale });
    }
    const complete = items.length === page.length && page.length < max;
    res.json({ from, to: complete ? Math.max(from, upper) : items.length ? items[items.length - 1].seq : from, latest, items });
  });

  return router;
}
