import { Router, type Request, type Response } from 'express';
import { receiptOf } from '../domain/receipt.js';
import type { SaleRecord } from '../store/records.js';
import { notFound } from '../errors.js';
import { receiptText } from '../render/receipt-text.js';
import type { BackOfficeDeps } from './back-office.js';
import { representation, sendText } from './negotiate.js';

/** GET /sales/{id}/receipt (JSON or 40-column text; a copy once printed), POST marks it printed. */
export function receiptsRouter({ backOffice, ledger, now }: BackOfficeDeps): Router {
  const router = Router();

  const send = (req: Request, res: Response, record: SaleRecord, copy: boolean) => {
    const receipt = receiptOf(record.sale, backOffice.lineFactsOf(record), backOffice.money, copy);
    if (representation(req, ['json', 'text']) === 'text') sendText(res, receiptText(receipt, backOffice.money, backOffice.timeZone));
    else res.json(receipt);
  };

  router.get('/sales/:id/receipt', async (req, res) => {
    const record = await ledger.getSale(req.params.id);
    if (!record) throw notFound(`sale ${req.params.id}`);
    send(req, res, record, record.sale.receiptPrintedAt !== null);
  });

  router.post('/sales/:id/receipt', async (req, res) => {
    await ledger.markReceiptPrinted(req.params.id, now());
    send(req, res, (await ledger.getSale(req.params.id))!, false);
  });

  return router;
}
