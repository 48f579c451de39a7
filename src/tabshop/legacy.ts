import type { IncomingHttpHeaders } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { accountOf, REALM } from '../auth/basic-auth.js';
import { AppError } from '../errors.js';
import type { Store } from '../domain/ports/store.js';
import type { UnitOfWork } from '../domain/ports/unit-of-work.js';
import type { JournalEntry } from '../store/records.js';
import { decodeBody, type BodyEncoding } from '../translate/body-encoding.js';

/**
 * Pre-146 TabShop clients (DESIGN §4.1 `tabshop.legacy`, tabshop-protocol-notes §2): credentials
 * as URL parameters or form fields, and the invoice JSON inside a form-encoded body. The exact
 * field names were never published, so every name seen in the wild is accepted and every legacy
 * request is journaled in full (credential values blanked) to confirm them from a capture.
 */
export const USER_FIELDS = ['user', 'username', 'login'] as const;
export const PASSWORD_FIELDS = ['password', 'pwd', 'pass'] as const;
export const REDACTED = '***';

const CREDENTIAL_FIELDS: ReadonlySet<string> = new Set([...USER_FIELDS, ...PASSWORD_FIELDS]);
/** Headers that carry secrets; never journaled. */
const SECRET_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie']);

export interface LegacyCredentials {
  name: string;
  pass: string;
  /** Where they were found, for messages: "URL parameters", "form fields", or both. */
  from: string;
}

/**
 * The first user name and the first password under any accepted name, looked up in each source
 * in turn (the query, then the form); null when no source has either.
 */
export function findCredentials(sources: { label: string; params: URLSearchParams }[]): LegacyCredentials | null {
  const lookup = (names: readonly string[]) => {
    for (const { label, params } of sources) {
      for (const name of names) {
        const value = params.get(name);
        if (value !== null) return { value, label };
      }
    }
    return null;
  };
  const name = lookup(USER_FIELDS);
  const pass = lookup(PASSWORD_FIELDS);
  if (name === null && pass === null) return null;
  const from = [...new Set([name?.label, pass?.label].filter((l) => l !== undefined))].join(' and ');
  return { name: name?.value ?? '', pass: pass?.value ?? '', from };
}

export function isFormEncoded(contentType: string | undefined): boolean {
  return /^\s*application\/x-www-form-urlencoded\b/i.test(contentType ?? '');
}

/**
 * The invoice JSON of a form-encoded push: the first field value that parses as `{"invoices": [...]}`.
 * Its percent-escapes are bytes, read as UTF-8 or, when they are not UTF-8, as Windows-1252
 * (an old client escapes `ä` as `%E4`), like a push body (body-encoding.ts).
 */
export function invoiceFromForm(text: string): { json: string; encoding: BodyEncoding } | null {
  if (!text.includes('=')) return null;
  for (const field of text.split('&')) {
    const eq = field.indexOf('=');
    if (eq < 0) continue;
    const { text: value, encoding } = decodeBody(percentDecodedBytes(field.slice(eq + 1)));
    const trimmed = value.trim();
    if (!trimmed.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(trimmed) as unknown;
      if (parsed !== null && typeof parsed === 'object' && Array.isArray((parsed as { invoices?: unknown }).invoices)) return { json: trimmed, encoding };
    } catch {
      // not this field
    }
  }
  return null;
}

export const invoiceJsonFromForm = (text: string): string | null => invoiceFromForm(text)?.json ?? null;

const isHexDigit = (b: number) => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);

/** A form value's bytes: `+` is a space, `%XX` one byte, anything else its UTF-8 bytes. */
function percentDecodedBytes(value: string): Uint8Array {
  const bytes = Buffer.from(value, 'utf8');
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x2b) {
      out[n++] = 0x20;
    } else if (b === 0x25 && i + 2 < bytes.length && isHexDigit(bytes[i + 1]) && isHexDigit(bytes[i + 2])) {
      out[n++] = Number.parseInt(String.fromCharCode(bytes[i + 1], bytes[i + 2]), 16);
      i += 2;
    } else {
      out[n++] = b;
    }
  }
  return out.subarray(0, n);
}

const isCredentialField = (name: string) => CREDENTIAL_FIELDS.has(name.toLowerCase());

/**
 * Credential values (user, password, pwd, pass, ... in any letter case) replaced by "***", their
 * names kept; every other field kept byte for byte (re-encoding would turn a Latin-1 `%E4` into U+FFFD).
 */
export function redactParams(text: string): string {
  const fields = text.split('&');
  let changed = false;
  const out = fields.map((field) => {
    const eq = field.indexOf('=');
    const rawName = eq < 0 ? field : field.slice(0, eq);
    let name: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
    } catch {
      name = rawName;
    }
    if (!isCredentialField(name)) return field;
    changed = true;
    return `${rawName}=${REDACTED}`;
  });
  return changed ? out.join('&') : text;
}

/** A request body as it may be stored (journal, quarantine): a form's credential values redacted. */
export function storableBody(text: string): string {
  // Tablets label JSON pushes as form data too: what starts like JSON is not a form (and costs nothing here).
  const first = text.trimStart()[0];
  return first === '{' || first === '[' || !text.includes('=') ? text : redactParams(text);
}

export function journalHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || SECRET_HEADERS.has(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

const rawQuery = (req: Request) => {
  const q = req.originalUrl.indexOf('?');
  return q >= 0 ? req.originalUrl.slice(q + 1) : '';
};

/**
 * The most of an unauthenticated form body the credential lookup reads: a request is never
 * buffered up to server.bodyLimit before its sender is known (issue 18: 200 such posts took
 * 1.1 GB). Legacy clients put the credentials before the invoice field; a body whose
 * credentials come later than this is refused like one without credentials.
 */
export const LEGACY_FORM_PREFIX_BYTES = 64 * 1024;
/** After such a 401, how much more of the body is read (and dropped) so the client sees the answer before the connection is cut. */
const UNAUTHENTICATED_DRAIN_BYTES = 256 * 1024;

/**
 * Reads a form-encoded body without an Authorization header up to `limit` bytes. A body that fits
 * is req.body (as express.raw leaves it); a longer one stops there, its start kept in
 * res.locals.formPrefix and the rest left unread in the (paused) request: readBodyAfterPrefix()
 * reads it once the sender is authenticated, and an unauthenticated request never does.
 */
export function readFormPrefix(limit: number): RequestHandler {
  return (req, res, next) => {
    const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
    // Already read in front of this app (a deployment of shops finds the shop from these credentials).
    if (Buffer.isBuffer(res.locals.formPrefix)) return next();
    if (req.headers.authorization || !isFormEncoded(req.headers['content-type']) || encoding !== 'identity' || req.readableEnded) return next();
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size <= limit) return;
      stop();
      req.pause();
      const read = Buffer.concat(chunks);
      // Exactly `limit` bytes are looked at; the rest of the last chunk goes back to the request.
      req.unshift(read.subarray(limit));
      res.locals.formPrefix = Buffer.from(read.subarray(0, limit));
      // Answered without reading the rest (401): the rest is discarded as it arrives, never kept,
      // and only up to a bound: a sender of megabytes nobody authenticated is cut off after it.
      res.once('finish', () => {
        if (!res.locals.formPrefix) return;
        let discarded = 0;
        req.on('data', (c: Buffer) => {
          discarded += c.length;
          if (discarded > UNAUTHENTICATED_DRAIN_BYTES) req.socket.destroy();
        });
        req.resume();
      });
      next();
    };
    const onEnd = () => {
      stop();
      req.body = Buffer.concat(chunks);
      next();
    };
    const onError = (err: Error) => {
      stop();
      next(err);
    };
    const onAborted = () => {
      stop();
      next(new AppError('bad_request', 'the request was aborted'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  };
}

/**
 * For a route that needs the whole body: the body whose start readFormPrefix() kept, read to its
 * end (at most `limit` bytes in all); any other request goes to `reader` (express.raw).
 */
export function readBodyAfterPrefix(limit: number, reader: RequestHandler): RequestHandler {
  return (req, res, next) => {
    const prefix = res.locals.formPrefix as Buffer | undefined;
    if (!prefix) return reader(req, res, next);
    const chunks = [prefix];
    let size = prefix.length;
    const done = (err?: unknown) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', done);
      delete res.locals.formPrefix;
      if (err) return next(err);
      req.body = Buffer.concat(chunks);
      next();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return done(Object.assign(new Error('request entity too large'), { type: 'entity.too.large', status: 413 }));
      chunks.push(chunk);
    };
    const onEnd = () => done();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', done);
    req.resume();
  };
}

/** Form fields complete within a body's start (up to its last "&"; all of it when the body ended). */
function completeFields(prefix: Buffer): URLSearchParams {
  const text = prefix.toString('utf8');
  const end = text.lastIndexOf('&');
  return new URLSearchParams(end >= 0 ? text.slice(0, end) : '');
}

/** "512kb", "10mb" (server.bodyLimit's format, 1024-based like express) in bytes. */
export function sizeInBytes(size: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)([kmg]?)b$/i.exec(size.trim());
  if (!m) throw new Error(`not a size: ${size}`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.floor(Number(m[1]) * unit);
}

/**
 * Runs before device auth on every TabShop route. Without an Authorization header it looks for
 * credentials in the query and in a form-encoded body (its first LEGACY_FORM_PREFIX_BYTES only);
 * when legacy mode is on they are handed to basicAuth (so failed logins are throttled the same
 * way), when off the client is told that legacy mode exists.
 */
export function legacyCredentials(opts: { enabled: boolean }): RequestHandler[] {
  const find: RequestHandler = (req, res, next) => {
    if (req.headers.authorization) return next();
    const sources = [{ label: 'URL parameters', params: new URLSearchParams(rawQuery(req)) }];
    if (Buffer.isBuffer(req.body) && isFormEncoded(req.headers['content-type'])) {
      sources.push({ label: 'form fields', params: new URLSearchParams(req.body.toString('utf8')) });
    } else if (Buffer.isBuffer(res.locals.formPrefix)) {
      sources.push({ label: 'form fields', params: completeFields(res.locals.formPrefix) });
    }
    const creds = findCredentials(sources);
    if (!creds) return next();
    if (!opts.enabled) {
      return next(
        new AppError(
          'unauthorized',
          `credentials were sent as ${creds.from} (pre-146 TabShop); this gateway expects HTTP Basic auth. `
            + 'Update TabShop, or set "tabshop": {"legacy": true} in the gateway config to accept legacy clients',
          undefined,
          { 'WWW-Authenticate': `Basic realm="${REALM}"` },
        ),
      );
    }
    res.locals.legacyCredentials = creds;
    res.locals.legacy = true;
    next();
  };
  return [readFormPrefix(LEGACY_FORM_PREFIX_BYTES), find];
}

/** Device auth wrapped for legacy clients: credential lookup before it, journaling of legacy reads after it. */
export function withLegacy(auth: RequestHandler, opts: { enabled: boolean; store: Store; uow: UnitOfWork; now: () => Date }): RequestHandler {
  const steps = [...legacyCredentials(opts), auth, journalLegacyReads(opts)];
  return (req, res, next) => {
    // With an Authorization header the legacy steps have nothing to do (no form read, no lookup,
    // res.locals.legacy stays unset, so nothing to journal): straight to auth.
    if (req.headers.authorization) {
      Promise.resolve(auth(req, res, next)).catch(next);
      return;
    }
    const run = (i: number, err?: unknown): void => {
      if (err != null || i === steps.length) {
        next(err);
        return;
      }
      Promise.resolve(steps[i](req, res, (e?: unknown) => run(i + 1, e))).catch(next);
    };
    run(0);
  };
}

/** For basicAuth: the legacy credentials found by legacyCredentials(), if any. */
export const legacyCredentialsOf = (res: { locals: Record<string, unknown> }): LegacyCredentials | undefined =>
  res.locals.legacyCredentials as LegacyCredentials | undefined;

/** After device auth: journals legacy read requests (invoice pushes journal themselves). */
export function journalLegacyReads(deps: { store: Store; uow: UnitOfWork; now: () => Date }): RequestHandler {
  return (req, res, next) => {
    if (res.locals.legacy && !/\/invoice$/.test(req.path)) {
      const account = accountOf(res);
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const entry = legacyJournalEntry(
        {
          at: deps.now().toISOString(),
          device: account.username,
          cashRegisterName: account.cashRegister,
          method: req.method,
          path: req.originalUrl.split('?')[0],
          ...(req.id !== undefined && { requestId: String(req.id) }),
          ...(req.headers['content-type'] && { contentType: req.headers['content-type'] }),
          ...(body.length > 0 && { body: body.toString('utf8') }),
        },
        req,
      );
      // A unit of work of its own that the read does not wait for: flushed soon, the tablet answered now.
      deps.uow.transact(async () => deps.store.journal(entry)).catch(() => undefined);
    }
    next();
  };
}

/** A journal entry of a legacy request in full: headers (no secrets), query and form with credential values blanked. */
export function legacyJournalEntry(entry: JournalEntry, req: Request): JournalEntry {
  const out: JournalEntry = { ...entry, legacy: true, headers: journalHeaders(req.headers) };
  const query = rawQuery(req);
  if (query) out.query = redactParams(query);
  if (out.body !== undefined) out.body = storableBody(out.body);
  return out;
}
