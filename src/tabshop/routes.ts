import express, { type Request, type Response, Router } from 'express';
import { accountOf, basicAuth } from '../auth/basic-auth.js';
import type { Accounts } from '../auth/accounts.js';
import type { LoginThrottle } from '../auth/throttle.js';
import type { SalesLedger, PushContext } from '../domain/ledger.js';
import { AppError } from '../errors.js';
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../http/json-depth.js';
import type { Store } from '../domain/ports/store.js';
import { NotDurableError, type UnitOfWork } from '../domain/ports/unit-of-work.js';
import type { JournalEntry } from '../domain/ports/records.js';
import type { CachedBody, TabShopViews } from './views.js';
import { decodeBody, type BodyEncoding } from '../translate/body-encoding.js';
import {
  invoiceFromForm,
  legacyCredentialsOf,
  legacyJournalEntry,
  readBodyAfterPrefix,
  redactParams,
  sizeInBytes,
  storableBody,
  withLegacy,
} from './legacy.js';

export interface TabShopDeps {
  store: Store;
  uow: UnitOfWork;
  ledger: SalesLedger;
  views: TabShopViews;
  accounts: Accounts;
  throttle: LoginThrottle;
  bodyLimit: string;
  now: () => Date;
  /** Extra readiness condition (bridge mode: a catalogue is cached). */
  ready?: () => boolean;
  /** tabshop.legacy: accept pre-146 clients (see legacy.ts). */
  legacy?: boolean;
  /** tabshop.maxInvoicesPerPush: a bigger push is refused whole (413), its raw body kept in the journal. */
  maxInvoicesPerPush?: number;
}

const READ_METHODS = ['get', 'post'] as const;

/** The TabShop JSON interface: home, stock, tax, discount (GET, or POST as older clients do) and invoice pushes. */
export function tabshopRouter(deps: TabShopDeps): Router {
  const router = Router();
  const deviceAuth = withLegacy(
    basicAuth({ accounts: deps.accounts, throttle: deps.throttle, allow: (a) => a.role === 'device', what: 'device', fallback: legacyCredentialsOf }),
    { ...deps, enabled: deps.legacy === true },
  );

  // Any Content-Type: tablets' HTTP stacks label JSON as form data or text; the body is parsed as JSON regardless.
  // A legacy form push whose credentials were found in its first bytes is read to its end here, after auth.
  const rawBody = readBodyAfterPrefix(sizeInBytes(deps.bodyLimit), express.raw({ type: () => true, limit: deps.bodyLimit }));
  router.post('/invoice', deviceAuth, rawBody, async (req, res) => {
    const account = accountOf(res);
    const ctx: PushContext = { device: account.username, cashRegisterName: account.cashRegister!, at: deps.now() };
    // A client gone before its body arrived (express.raw then reads nothing) sent no push: nothing to journal or quarantine.
    if (!req.complete) throw new AppError('bad_request', 'the request was aborted before its body arrived');
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const { text, encoding } = decodeBody(raw);
    // How the invoice text was decoded: the body's, or a legacy form field's own (percent-escaped Latin-1).
    let invoiceEncoding = encoding;
    let parsed = parseInvoiceBody(text);
    const form = !parsed.ok ? invoiceFromForm(text) : null;
    const formJson = form?.json ?? null;
    if (form !== null && deps.legacy) {
      parsed = parseInvoiceBody(form.json);
      if (form.encoding !== 'utf-8') invoiceEncoding = form.encoding;
      res.locals.legacy = true;
    } else if (formJson !== null && !parsed.ok) {
      parsed.message += '; it looks like a pre-146 form-encoded push: set "tabshop": {"legacy": true} in the gateway config to accept those';
    }
    const entry = journalEntry(req, ctx, raw, text, encoding);
    const body = parsed;
    const max = deps.maxInvoicesPerPush ?? Infinity;
    // One unit of work: the raw request in the journal with what it stored or quarantined (a refused push keeps its raw body).
    const summary = await durably(deps.uow, async () => {
      deps.store.journal(res.locals.legacy ? legacyJournalEntry(entry, req) : entry);
      if (!body.ok) {
        await deps.ledger.quarantineBody(storedBody(raw, text, encoding).body ?? raw.toString('base64'), body.message, ctx);
        return null;
      }
      if (body.invoices.length > max) return null;
      // The invoices were parsed from this body just now and nothing else holds them.
      return deps.ledger.ingestInvoices(body.invoices, { ...ctx, adopt: true, ...(invoiceEncoding !== 'utf-8' && { encoding: invoiceEncoding }) });
    });
    if (!body.ok) throw new AppError(body.code, body.message);
    if (summary === null) {
      throw new AppError(
        'too_many_invoices',
        `a push may hold at most ${max} invoices (tabshop.maxInvoicesPerPush); this one holds ${body.invoices.length}: nothing was stored, send them in smaller batches`,
      );
    }
    res.locals.pushSummary = summary;
    if (wantsJson(req)) res.json(summary);
    else res.type('text/plain').send('true');
  });
  router.all('/invoice', deviceAuth, (_req, res) => {
    res.set('Allow', 'POST');
    throw new AppError('method_not_allowed', 'invoice only accepts POST');
  });
  // The reads after the pushes (the busiest route), so a push does not pass their eight route layers first.
  for (const method of READ_METHODS) {
    router[method]('/home', deviceAuth, async (_req, res) => {
      const writable = await deps.store.probeWritable();
      if (!writable) throw new AppError('not_ready', 'the gateway cannot store sales right now');
      if (deps.ready && !deps.ready()) throw new AppError('not_ready', 'no catalogue from the upstream server yet (bridge mode); retry once it is reachable');
      res.type('text/plain').send('true');
    });
    router[method]('/stock', deviceAuth, (req, res) => sendCached(req, res, deps.views.stockBody()));
    router[method]('/tax', deviceAuth, (req, res) => sendCached(req, res, deps.views.taxBody()));
    router[method]('/discount', deviceAuth, (req, res) => sendCached(req, res, deps.views.discountBody()));
  }
  return router;
}

/** A push whose changes cannot be made durable answers 503: the tablet sends it again, and nothing is lost. */
async function durably<T>(uow: UnitOfWork, work: () => Promise<T>): Promise<T> {
  try {
    return await uow.transact(work);
  } catch (err) {
    if (err instanceof NotDurableError) throw new AppError('not_ready', 'the push could not be stored durably; nothing is lost if it is sent again');
    throw err;
  }
}

type ParsedBody = { ok: true; invoices: unknown[] } | { ok: false; code: 'invalid_json' | 'invalid_body'; message: string };

export function parseInvoiceBody(text: string): ParsedBody {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return { ok: false, code: 'invalid_json', message: `the body is not JSON: ${(err as Error).message}` };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !Array.isArray((body as { invoices?: unknown }).invoices)) {
    return { ok: false, code: 'invalid_body', message: 'the body must be an object with an "invoices" array' };
  }
  if (nestedDeeperThan(body, MAX_JSON_DEPTH)) {
    return { ok: false, code: 'invalid_body', message: `the body is nested deeper than ${MAX_JSON_DEPTH} levels` };
  }
  return { ok: true, invoices: (body as { invoices: unknown[] }).invoices };
}

// The journal keeps the bytes as received: UTF-8 text (a BOM included), else base64.
function journalEntry(req: Request, ctx: PushContext, raw: Buffer, text: string, encoding: BodyEncoding): JournalEntry {
  const entry: JournalEntry = {
    at: ctx.at.toISOString(),
    device: ctx.device,
    cashRegisterName: ctx.cashRegisterName,
    method: req.method,
    path: req.originalUrl.split('?')[0],
  };
  if (req.id !== undefined) entry.requestId = String(req.id);
  const query = req.originalUrl.split('?')[1];
  if (query) entry.query = redactParams(query);
  if (req.headers['content-type']) entry.contentType = req.headers['content-type'];
  Object.assign(entry, storedBody(raw, text, encoding));
  return entry;
}

/**
 * A push body as it is kept: UTF-8 text with a form's credential values redacted, else the raw
 * bytes (base64) — unless credentials must be redacted from them, then the decoded text.
 */
function storedBody(raw: Buffer, text: string, encoding: BodyEncoding): { body: string } | { body?: undefined; bodyBase64: string } {
  // UTF-8 as received (the decoder dropped a BOM: put it back rather than decode the body twice);
  // the decoded text when only that can be redacted.
  const received = encoding === 'utf-8' && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? `\uFEFF${text}` : text;
  const storable = storableBody(received);
  return encoding === 'utf-8' || storable !== received ? { body: storable } : { bodyBase64: raw.toString('base64') };
}

// Only an explicit application/json gets the JSON summary, not wildcards (tablets send those).
export function wantsJson(req: Request): boolean {
  const accept = req.headers.accept;
  if (!accept) return false;
  return accept.split(',').some((part) => {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    return type === 'application/json' && !params.some((p) => /^q=0(\.0*)?$/.test(p));
  });
}

export function sendCached(req: Request, res: Response, cachedBody: CachedBody): void {
  res.set('ETag', cachedBody.etag);
  res.set('Cache-Control', 'no-cache');
  res.set('Vary', 'Accept-Encoding');
  res.type('application/json');
  const inm = req.headers['if-none-match'];
  if (inm?.split(',').some((t) => t.trim() === cachedBody.etag || t.trim() === '*')) {
    res.status(304).end();
    return;
  }
  if (cachedBody.body.length > 1024 && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    res.set('Content-Encoding', 'gzip');
    res.end(cachedBody.gzipped());
    return;
  }
  res.end(cachedBody.body);
}
