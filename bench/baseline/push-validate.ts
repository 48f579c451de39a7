/**
 * Baseline for `POST invoice`: bare Express 5 doing what any push endpoint must do before it
 * stores anything — Basic auth (timing-safe), JSON parse, ajv validation of every invoice with
 * the gateway's own schemas — and then answering `true` without storing. No logging.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import parseBasicAuth from 'basic-auth';
import express from 'express';
import { validateBatch, validateInvoice } from '../../src/translate/invoice-schema.js';

const users = new Map<string, Buffer>(
  (JSON.parse(process.env.BENCH_USERS!) as { username: string; password: string }[]).map((u) => [u.username, createHash('sha256').update(u.password).digest()]),
);

const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.post(
  '/invoice',
  (req, res, next) => {
    const creds = parseBasicAuth(req);
    const expected = creds && users.get(creds.name);
    if (!creds || !expected || !timingSafeEqual(createHash('sha256').update(creds.pass).digest(), expected)) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Basic realm="baseline"')
        .json({ error: { code: 'unauthorized', message: 'unauthorized' } });
      return;
    }
    next();
  },
  express.json({ type: () => true, limit: '10mb' }),
  (req, res) => {
    const batch = validateBatch(req.body);
    if (!batch.ok) {
      res.status(400).json({ error: { code: 'invalid_body', message: batch.reason } });
      return;
    }
    // The gateway would quarantine an invalid invoice and still answer true.
    res.locals.invalid = batch.invoices.filter((item) => !validateInvoice(item).ok).length;
    res.type('text/plain').send('true');
  },
);
const server = app.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}` }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
