import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { mapLimit } from '../map-limit.js';
import type { JournalEntry } from '../store/records.js';
import { decodeBody } from '../translate/body-encoding.js';
import { invoiceJsonFromForm } from '../tabshop/legacy.js';
import { isCaptureFile } from './capture-file.js';

/**
 * Fixtures are read into pushes: one push is one request that replay sends, byte for byte.
 * Accepted files: capture files (written by `capture`), `{"invoices": [...]}` push bodies, and
 * NDJSON (`.ndjson`/`.jsonl`) whose lines are invoices (one push each), push bodies, capture
 * records or gateway journal lines.
 */
export type PushKind = 'capture' | 'batch' | 'ndjson-invoice' | 'ndjson-batch' | 'journal';

export interface FixturePush {
  /** `file`, or `file:line` for NDJSON. */
  source: string;
  file: string;
  kind: PushKind;
  /** Exactly what replay sends. */
  body: Buffer;
  contentType: string;
  register?: string;
  device?: string;
  /** The body's `invoices`, when the body is `{"invoices": [...]}`. */
  invoices?: unknown[];
  /** Why the body is not a valid push body; it is still replayed as it is (the target answers 400). */
  bodyProblem?: string;
  /** A captured request that is not an invoice push (a legacy read): neither replayed nor validated. */
  skip?: string;
}

export interface FileProblem {
  source: string;
  message: string;
}

export interface FixtureSet {
  files: string[];
  pushes: FixturePush[];
  problems: FileProblem[];
}

export class FixturePathError extends Error {}

const FIXTURE_EXT = /\.(json|ndjson|jsonl)$/i;
const NDJSON_EXT = /\.(ndjson|jsonl)$/i;
const EXPECTED = /\.expected\.json$/i;
const NOT_A_FIXTURE =
  'not a fixture: expected a capture file (from `tabshop-gateway capture`), a {"invoices": [...]} push body, or NDJSON of invoices (.ndjson)';

/** Files named on the command line, and the fixture files under named folders (recursively, sorted; `*.expected.json` skipped). */
export async function listFixtureFiles(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    if (!info) throw new FixturePathError(`${path}: no such file or folder`);
    if (info.isDirectory()) files.push(...(await walk(path)));
    else files.push(path);
  }
  return files;
}

async function walk(dir: string): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(path)));
    else if (e.isFile() && FIXTURE_EXT.test(e.name) && !EXPECTED.test(e.name)) out.push(path);
  }
  return out;
}

/** Reads every file once, up front (replay never touches the disk while sending). */
export async function readFixtures(paths: string[]): Promise<FixtureSet> {
  const files = await listFixtureFiles(paths);
  const texts = await mapLimit(files, 64, (f) => readFile(f, 'utf8'));
  const set: FixtureSet = { files, pushes: [], problems: [] };
  files.forEach((file, i) => {
    const { pushes, problems } = pushesFromText(file, texts[i]);
    set.pushes.push(...pushes);
    set.problems.push(...problems);
  });
  return set;
}

export function pushesFromText(file: string, rawText: string): { pushes: FixturePush[]; problems: FileProblem[] } {
  const text = rawText.replace(/^\uFEFF/, '');
  if (!NDJSON_EXT.test(file)) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      if (looksLikeNdjson(text)) return ndjson(file, text);
      return { pushes: [], problems: [{ source: file, message: `not JSON: ${(err as Error).message}` }] };
    }
    const push = pushFromValue(file, file, value, text, false);
    return push ? { pushes: [push], problems: [] } : { pushes: [], problems: [{ source: file, message: NOT_A_FIXTURE }] };
  }
  return ndjson(file, text);
}

function looksLikeNdjson(text: string): boolean {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length < 2) return false;
  try {
    JSON.parse(lines[0]);
    return true;
  } catch {
    return false;
  }
}

function ndjson(file: string, text: string): { pushes: FixturePush[]; problems: FileProblem[] } {
  const pushes: FixturePush[] = [];
  const problems: FileProblem[] = [];
  text.split('\n').forEach((rawLine, i) => {
    const line = rawLine.replace(/\r$/, '');
    if (line.trim() === '') return;
    const source = `${file}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      problems.push({ source, message: `not JSON: ${(err as Error).message}` });
      return;
    }
    const push = pushFromValue(file, source, value, line, true);
    if (push) pushes.push(push);
    else problems.push({ source, message: 'not an invoice, a push body, a capture record or a journal line' });
  });
  return { pushes, problems };
}

function pushFromValue(file: string, source: string, value: unknown, text: string, inNdjson: boolean): FixturePush | null {
  if (!isObject(value)) return null;
  if (isCaptureFile(value)) return captured(file, source, 'capture', value);
  if ('invoices' in value) return { ...bodyPush(file, source, inNdjson ? 'ndjson-batch' : 'batch', text, 'application/json'), ...parsed(value) };
  if (inNdjson && isJournalEntry(value)) return captured(file, source, 'journal', { ...value, register: value.cashRegisterName });
  if (inNdjson) return { ...bodyPush(file, source, 'ndjson-invoice', `{"invoices":[${text}]}`, 'application/json'), invoices: [value] };
  return null;
}

type CapturedRequest = Pick<JournalEntry, 'method' | 'path' | 'contentType' | 'body' | 'bodyBase64' | 'legacy' | 'device'> & { register?: string };

function captured(file: string, source: string, kind: PushKind, c: CapturedRequest): FixturePush {
  const raw = c.body !== undefined ? Buffer.from(c.body, 'utf8') : Buffer.from(c.bodyBase64 ?? '', 'base64');
  const push = bodyPush(file, source, kind, raw, c.contentType ?? 'application/json');
  if (c.register !== undefined) push.register = c.register;
  if (c.device !== undefined) push.device = c.device;
  if (c.method !== 'POST' || !/\/invoice$/.test(c.path)) return { ...push, skip: `not an invoice push (${c.method} ${c.path})` };
  // Decoded as the gateway decodes a push (UTF-8, else Windows-1252), so a Latin-1 capture validates as it was stored.
  const { text } = decodeBody(raw);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // A legacy client's form-encoded push is replayed as the JSON push it carried (its credentials were redacted anyway).
    const inner = c.legacy ? invoiceJsonFromForm(text) : null;
    if (inner !== null) return { ...push, body: Buffer.from(inner, 'utf8'), contentType: 'application/json', ...parsed(JSON.parse(inner)) };
    return { ...push, bodyProblem: `the body is not JSON: ${(err as Error).message}` };
  }
  return { ...push, ...parsed(value) };
}

function bodyPush(file: string, source: string, kind: PushKind, body: string | Buffer, contentType: string): FixturePush {
  return { source, file, kind, body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body, contentType };
}

function parsed(value: unknown): Pick<FixturePush, 'invoices' | 'bodyProblem'> {
  if (isObject(value) && Array.isArray(value.invoices)) return { invoices: value.invoices };
  return { bodyProblem: 'the body must be an object with an "invoices" array' };
}

function isJournalEntry(v: Record<string, unknown>): v is Record<string, unknown> & JournalEntry {
  return typeof v.at === 'string' && typeof v.method === 'string' && typeof v.path === 'string';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
