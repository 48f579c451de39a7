import type { JournalEntry } from '../store/records.js';
import { redactPushBody } from './redact.js';

/** Marks a capture file and its format version. */
export const CAPTURE_FORMAT = 1;

/** One push as the gateway received it: the raw body and its metadata (written by `capture`). */
export interface CaptureFile {
  tabshopCapture: typeof CAPTURE_FORMAT;
  receivedAt: string;
  register?: string;
  device?: string;
  requestId?: string;
  method: string;
  path: string;
  query?: string;
  contentType?: string;
  /** A pre-146 client's request (tabshop.legacy): headers kept, credential values blanked. */
  legacy?: boolean;
  headers?: Record<string, string>;
  /** Customer name, address and email were blanked by --redact. */
  redacted?: boolean;
  /** The raw body as UTF-8 text, or base64 when it is not valid UTF-8. */
  body?: string;
  bodyBase64?: string;
}

export function isCaptureFile(value: unknown): value is CaptureFile {
  const v = value as Partial<CaptureFile> | null;
  return !!v && typeof v === 'object' && v.tabshopCapture === CAPTURE_FORMAT && typeof v.method === 'string' && typeof v.path === 'string';
}

export interface CaptureResult {
  capture: CaptureFile;
  /** Set when --redact could not be applied to this body (it is kept as received). */
  notRedacted?: string;
}

export function captureFromEntry(entry: JournalEntry, opts: { redact: boolean }): CaptureResult {
  const capture: CaptureFile = { tabshopCapture: CAPTURE_FORMAT, receivedAt: entry.at, method: entry.method, path: entry.path };
  if (entry.cashRegisterName !== undefined) capture.register = entry.cashRegisterName;
  if (entry.device !== undefined) capture.device = entry.device;
  if (entry.requestId !== undefined) capture.requestId = entry.requestId;
  if (entry.query !== undefined) capture.query = entry.query;
  if (entry.contentType !== undefined) capture.contentType = entry.contentType;
  if (entry.legacy) capture.legacy = true;
  if (entry.headers !== undefined) capture.headers = entry.headers;
  let notRedacted: string | undefined;
  let body = entry.body;
  if (opts.redact && body !== undefined && body !== '') {
    const redacted = redactPushBody(body, entry.contentType);
    if (redacted.ok) body = redacted.text;
    else notRedacted = redacted.reason;
  } else if (opts.redact && entry.bodyBase64 !== undefined) {
    notRedacted = 'the body is not UTF-8 text';
  }
  if (opts.redact && notRedacted === undefined) capture.redacted = true;
  if (body !== undefined) capture.body = body;
  if (entry.bodyBase64 !== undefined) capture.bodyBase64 = entry.bodyBase64;
  return notRedacted === undefined ? { capture } : { capture, notRedacted };
}

/**
 * `<received time>_<register>.json`, e.g. `2026-11-23T09-12-44.517Z_TAB-1.json`: sorting the
 * names sorts the pushes by time. Same-millisecond pushes of a register get `_2`, `_3`, … in
 * journal order, so capturing the same journal twice gives the same names.
 */
export function captureFileName(capture: CaptureFile, taken: Set<string>): string {
  const time = capture.receivedAt.replace(/:/g, '-');
  const register = (capture.register ?? 'unknown').replace(/[^A-Za-z0-9._-]/g, '_');
  const resource = /\/invoice$/.test(capture.path)
    ? ''
    : `_${
        capture.path
          .split('/')
          .pop()
          ?.replace(/[^A-Za-z0-9._-]/g, '_') || 'root'
      }`;
  const base = `${time}_${register}${resource}`;
  let name = `${base}.json`;
  for (let n = 2; taken.has(name); n++) name = `${base}_${n}.json`;
  taken.add(name);
  return name;
}
