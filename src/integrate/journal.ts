import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { JournalEntry } from '../store/records.js';

const JOURNAL_FILE = /^(\d{4}-\d{2}-\d{2})\.ndjson$/;

export interface JournalLine {
  entry: JournalEntry;
  file: string;
  line: number;
}

export interface SkippedLine {
  file: string;
  line: number;
  reason: string;
}

/** One journal line, or why it cannot be used (a torn last line after a crash, a foreign line). */
export function parseJournalLine(text: string): { ok: true; entry: JournalEntry } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON (${(err as Error).message})` };
  }
  const e = value as Partial<JournalEntry> | null;
  if (!e || typeof e !== 'object' || Array.isArray(e)) return { ok: false, reason: 'not a JSON object' };
  if (typeof e.at !== 'string' || Number.isNaN(Date.parse(e.at))) return { ok: false, reason: 'no valid "at" time' };
  if (typeof e.method !== 'string' || typeof e.path !== 'string') return { ok: false, reason: 'no "method" or "path"' };
  return { ok: true, entry: e as JournalEntry };
}

/**
 * `--since`: a day (YYYY-MM-DD, from its start in UTC) or an ISO date-time. Returns null when the
 * text is neither.
 */
export function parseSince(text: string): Date | null {
  const value = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text;
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/** The day files of `<dataDir>/journal`, oldest first, without those entirely before `since`. */
export async function journalFiles(dataDir: string, since?: Date): Promise<string[]> {
  const dir = join(dataDir, 'journal');
  const names = (await readdir(dir)).filter((n) => JOURNAL_FILE.test(n)).sort();
  const sinceDay = since?.toISOString().slice(0, 10);
  return names.filter((n) => !sinceDay || n.slice(0, 10) >= sinceDay).map((n) => join(dir, n));
}

/**
 * Streams journal entries in file order. Only reads: the gateway may be appending at the same
 * time (no lock is taken). Unusable lines are reported to `onSkip` and never stop the reading.
 */
export async function* readJournal(files: string[], onSkip: (s: SkippedLine) => void): AsyncGenerator<JournalLine> {
  for (const file of files) {
    const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
    let n = 0;
    for await (const text of lines) {
      n++;
      if (text.trim() === '') continue;
      const parsed = parseJournalLine(text);
      if (parsed.ok) yield { entry: parsed.entry, file, line: n };
      else onSkip({ file, line: n, reason: parsed.reason });
    }
  }
}
