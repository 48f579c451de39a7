/**
 * Baseline for `POST invoice` on PostgreSQL: bare Express 5 doing the least a durable push
 * endpoint on a database does — Basic auth (timing-safe), JSON parse, and one
 * `INSERT … ON CONFLICT DO NOTHING` transaction per request (one row per invoice, the invoice as
 * jsonb) through `pg`, on the same database as the gateway, with the gateway's pool size.
 * No validation, no logging.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import parseBasicAuth from 'basic-auth';
import express from 'express';
import pg from 'pg';

const users = new Map<string, { hash: Buffer; register: string }>(
  (JSON.parse(process.env.BENCH_USERS!) as { username: string; password: string; cashRegister: string }[]).map((u) => [
    u.username,
    { hash: createHash('sha256').update(u.password).digest(), register: u.cashRegister },
  ]),
);
const pool = new pg.Pool({ connectionString: process.env.BENCH_DATABASE_URL!, max: Number(process.env.BENCH_POOL_SIZE ?? 10) });
await pool.query(`CREATE TABLE IF NOT EXISTS baseline_invoices (
  cash_register text NOT NULL, invoice_id text NOT NULL, received_at timestamptz NOT NULL, invoice jsonb NOT NULL,
  PRIMARY KEY (cash_register, invoice_id))`);

const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.post(
  '/invoice',
  (req, res, next) => {
    const creds = parseBasicAuth(req);
    const user = creds && users.get(creds.name);
    if (!creds || !user || !timingSafeEqual(createHash('sha256').update(creds.pass).digest(), user.hash)) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Basic realm="baseline"')
        .json({ error: { code: 'unauthorized', message: 'unauthorized' } });
      return;
    }
    res.locals.register = user.register;
    next();
  },
  express.json({ type: () => true, limit: '10mb' }),
  async (req, res) => {
    const invoices = (req.body as { invoices?: { id?: unknown }[] }).invoices;
    if (!Array.isArray(invoices) || invoices.length === 0) {
      res.status(400).json({ error: { code: 'invalid_body', message: 'no invoices' } });
      return;
    }
    const values: unknown[] = [];
    const rows = invoices.map((inv, i) => {
      values.push(res.locals.register, String(inv.id), JSON.stringify(inv));
      return `($${i * 3 + 1}, $${i * 3 + 2}, now(), $${i * 3 + 3})`;
    });
    try {
      // One statement: one transaction, committed (and flushed) before the answer.
      await pool.query(
        `INSERT INTO baseline_invoices (cash_register, invoice_id, received_at, invoice) VALUES ${rows.join(', ')} ON CONFLICT DO NOTHING`,
        values,
      );
      res.type('text/plain').send('true');
    } catch (err) {
      res.status(503).json({ error: { code: 'store_unavailable', message: (err as Error).message } });
    }
  },
);
const server = app.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}` }));
});
process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
