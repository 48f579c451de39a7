import { stat, mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { captureFileName, captureFromEntry } from '../integrate/capture-file.js';
import { num } from '../integrate/format.js';
import { journalFiles, parseSince, readJournal, type SkippedLine } from '../integrate/journal.js';
import { POSTGRES_URL } from '../config/env.js';
import type { JournalEntry } from '../store/records.js';
import { ExitError } from './exit.js';
import { collect } from './options.js';

interface CaptureOptions {
  dataDir?: string;
  databaseUrl?: string;
  out: string;
  since?: string;
  register: string[];
  redact?: boolean;
  json?: boolean;
}

export function captureCommand(program: Command): void {
  program
    .command('capture')
    .description('export the journal of raw invoice pushes as fixture files, one per push (safe while the gateway runs)')
    .option('-d, --data-dir <dir>', 'the gateway data dir (default: $DATA_DIR)')
    .option('--database-url <url>', 'read the journal of a gateway on PostgreSQL instead (default without --data-dir and $DATA_DIR: $DATABASE_URL)')
    .requiredOption('-o, --out <dir>', 'folder for the capture files (created if missing; same-named files are overwritten)')
    .option('--since <date>', 'only pushes received at or after this day (YYYY-MM-DD, UTC) or ISO time')
    .option('--register <name>', 'only pushes of this cash register (repeatable)', collect, [])
    .option('--redact', 'blank customer name, address and email in the bodies')
    .option('--json', 'print a JSON report instead of text')
    .addHelpText(
      'after',
      `
Files are named <received time>_<register>.json and hold the raw body with its
metadata (method, path, content type, register, device, received time); replay
and validate read them. Exit codes: 0 done, 1 unreadable data dir or database, 2 bad usage.`,
    )
    .action(async (opts: CaptureOptions) => {
      const since = opts.since === undefined ? undefined : parseSince(opts.since);
      if (since === null) throw new ExitError(2, `capture: --since must be a day (2026-11-23) or an ISO time (2026-11-23T08:00:00Z), got "${opts.since}"`);
      const skipped: SkippedLine[] = [];
      const source = await journalSource(opts, since, (s) => skipped.push(s));
      await mkdir(opts.out, { recursive: true });

      const registers = new Set(opts.register);
      const notRedacted: { file: string; reason: string }[] = [];
      const byRegister: Record<string, number> = {};
      const written: string[] = [];
      const taken = new Set<string>();
      const pending = new Set<Promise<void>>();
      for await (const entry of source.entries) {
        if (since && Date.parse(entry.at) < since.getTime()) continue;
        if (registers.size > 0 && !registers.has(entry.cashRegisterName ?? '')) continue;
        const { capture, notRedacted: why } = captureFromEntry(entry, { redact: opts.redact === true });
        const name = captureFileName(capture, taken);
        if (why) notRedacted.push({ file: name, reason: why });
        const register = capture.register ?? '(none)';
        byRegister[register] = (byRegister[register] ?? 0) + 1;
        written.push(name);
        const write = writeFile(join(opts.out, name), `${JSON.stringify(capture, null, 2)}\n`).finally(() => pending.delete(write));
        pending.add(write);
        if (pending.size >= 32) await Promise.race(pending);
      }
      await Promise.all(pending);

      const skippedLines = skipped.map((s) => ({ ...s, file: relative(process.cwd(), s.file) || s.file }));
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ out: opts.out, ...source.report, pushes: written.length, byRegister, redacted: opts.redact === true, notRedacted, skippedLines, files: written }, null, 2)}\n`,
        );
        return;
      }
      for (const s of skippedLines) process.stderr.write(`capture: warning: skipped ${s.file}:${s.line}: ${s.reason}\n`);
      for (const n of notRedacted) process.stderr.write(`capture: warning: ${n.file} was not redacted: ${n.reason}\n`);
      const lines = [`Captured ${num(written.length)} push${written.length === 1 ? '' : 'es'} from ${source.description} into ${opts.out}`];
      for (const [register, n] of Object.entries(byRegister).sort()) lines.push(`  ${register.padEnd(12)} ${num(n)}`);
      if (opts.redact)
        lines.push(`  redacted: customer name, address and email blanked${notRedacted.length ? ` (${notRedacted.length} not redactable, see warnings)` : ''}`);
      if (skipped.length)
        lines.push(`  skipped ${num(skipped.length)} unreadable journal line${skipped.length === 1 ? '' : 's'} (a torn last line after a crash is normal)`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

interface JournalSource {
  /** A failed read ends the iteration with an ExitError. */
  entries: AsyncIterable<JournalEntry>;
  description: string;
  report: Record<string, unknown>;
}

async function journalSource(opts: CaptureOptions, since: Date | undefined, onSkip: (s: SkippedLine) => void): Promise<JournalSource> {
  if (opts.dataDir !== undefined && opts.databaseUrl !== undefined) throw new ExitError(2, 'capture: give --data-dir or --database-url, not both');
  const dataDir = opts.dataDir ?? (opts.databaseUrl === undefined ? process.env.DATA_DIR : undefined);
  const url = dataDir === undefined ? (opts.databaseUrl ?? process.env.DATABASE_URL) : undefined;
  if (url !== undefined) {
    if (!POSTGRES_URL.test(url)) throw new ExitError(2, 'capture: --database-url must be a postgres:// or postgresql:// URL');
    // The PostgreSQL client is loaded only by the commands that use it (docs/performance.md).
    const [{ DatabaseUnavailableError }, { readPgJournal }, { describeDatabase }] = await Promise.all([
      import('../store/postgres/connection.js'),
      import('../store/postgres/journal-reader.js'),
      import('../store/postgres/sql-values.js'),
    ]);
    const failed = (err: unknown) =>
      new ExitError(1, `capture: ${err instanceof DatabaseUnavailableError ? err.message : `${describeDatabase(url)}: ${(err as Error).message}`}`);
    const rows = readPgJournal(url, since);
    const entries = (async function* () {
      try {
        yield* rows;
      } catch (err) {
        throw failed(err);
      }
    })();
    return { entries, description: `the journal of ${describeDatabase(url)}`, report: { database: describeDatabase(url) } };
  }
  if (!dataDir) throw new ExitError(2, 'capture: --data-dir is required (or set DATA_DIR, or give --database-url / DATABASE_URL for a gateway on PostgreSQL)');
  if (!(await stat(dataDir).catch(() => null))?.isDirectory()) throw new ExitError(2, `capture: no such data dir: ${dataDir}`);
  let files: string[];
  try {
    files = await journalFiles(dataDir, since);
  } catch (err) {
    throw new ExitError(
      1,
      `capture: cannot read ${join(dataDir, 'journal')} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): is ${dataDir} a tabshop-gateway data dir?`,
    );
  }
  const entries = (async function* () {
    for await (const { entry } of readJournal(files, onSkip)) yield entry;
  })();
  return {
    entries,
    description: `${num(files.length)} journal file${files.length === 1 ? '' : 's'}`,
    report: { journalFiles: files.length },
  };
}
