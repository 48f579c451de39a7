import type { Command } from 'commander';
import { checkPushes, formatProblem } from '../integrate/check.js';
import type { FixturePush } from '../integrate/fixtures.js';
import { formatReplaySummary, num } from '../integrate/format.js';
import { ProgressReporter } from '../integrate/progress.js';
import { invoiceUrl, replay, type ReplayItem, type ReplayRun } from '../integrate/replayer.js';
import { ReplayStats, isFailure, type PushOutcome, type ReplaySummary } from '../integrate/stats.js';
import { idString } from '../translate/invoice-keys.js';
import { ExitError } from './exit.js';
import { readFixtureArgs } from './fixtures-input.js';
import { integerOption, rateOption } from './options.js';
import { readSecret } from './read-secret.js';

interface ReplayOptions {
  url?: string;
  user?: string;
  password?: string;
  concurrency: number;
  rate?: number;
  retries: number;
  timeout: number;
  dryRun?: boolean;
  json?: boolean;
}

export function replayCommand(program: Command): void {
  program
    .command('replay')
    .description('push fixtures (capture files, {"invoices": [...]} bodies, NDJSON of invoices) to a TabShop endpoint')
    .argument('<paths...>', 'fixture files or folders')
    .option('--url <url>', 'the server URL exactly as typed into a tablet; "invoice" is appended')
    .option('-u, --user <user>', 'device user name (HTTP Basic auth)')
    .option('-p, --password <password>', 'device password (default: $TABSHOP_PASSWORD, else a prompt on a TTY)')
    .option('-c, --concurrency <n>', 'pushes in flight at once', integerOption(1, 256), 16)
    .option('--rate <r/s>', 'at most this many pushes per second, e.g. 50/s', rateOption)
    .option('--retries <n>', 'retries of a push after a connection error (exponential backoff; HTTP errors are not retried)', integerOption(0, 20), 5)
    .option('--timeout <ms>', 'give up on an answer after this long (then retry)', integerOption(1, 3_600_000), 30_000)
    .option('--dry-run', 'read, validate and count the pushes without sending anything')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
One fixture push is one request, sent byte for byte. Pushes that share an invoice
id go one after another in file order (a refund after its sale); the rest go in
parallel over keep-alive connections. A progress bar on a TTY, one line per push
otherwise (stderr); the summary goes to stdout. Ctrl-C stops starting pushes,
waits for those in flight (Ctrl-C again aborts them) and prints the summary so far.
Exit codes: 0 every push answered 2xx, 1 a push failed (non-2xx, or no connection
after retries), the run was interrupted, or fixtures are unreadable/invalid
(--dry-run), 2 bad usage.`,
    )
    .action(async (paths: string[], opts: ReplayOptions) => {
      if (!opts.url && !opts.dryRun) throw new ExitError(2, 'replay: --url is required (the server URL as typed into a tablet)');
      let url: URL | undefined;
      try {
        url = opts.url === undefined ? undefined : invoiceUrl(opts.url);
      } catch (err) {
        throw new ExitError(2, `replay: --url: ${(err as Error).message}`);
      }
      if (url && /\/invoice\/invoice$/.test(url.pathname)) {
        process.stderr.write(`replay: warning: pushing to ${url.href}; --url is the server URL as typed into a tablet, without "invoice"\n`);
      }
      const set = await readFixtureArgs('replay', paths);
      if (set.problems.length > 0) {
        for (const p of set.problems) process.stderr.write(`${p.source}: ${p.message}\n`);
        throw new ExitError(1, `replay: ${set.problems.length} fixture problem${set.problems.length === 1 ? '' : 's'}; nothing was sent`);
      }
      const pushes = set.pushes.filter((p) => !p.skip);
      const skipped = set.pushes.length - pushes.length;
      warnAboutRegisters(pushes);
      const items = pushes.map(toItem);
      const target = url?.href ?? '(no --url)';

      if (opts.dryRun) {
        const check = checkPushes(pushes);
        const counted = new ReplayStats(target, items.length, skipped).summary(0, { interrupted: false, dryRun: true });
        const summary: ReplaySummary = { ...counted, invoices: { ...counted.invoices, sent: check.invoices } };
        report(summary, opts.json === true);
        for (const p of check.problems) process.stderr.write(`${formatProblem(p)}\n`);
        if (check.problems.length > 0)
          throw new ExitError(
            1,
            `replay: dry run: ${num(check.problems.length)} problem${check.problems.length === 1 ? '' : 's'} (see above); nothing was sent`,
          );
        return;
      }

      const authorization = await basicAuthorization(opts);
      const stats = new ReplayStats(target, items.length, skipped);
      const progress = new ProgressReporter(process.stderr, items.length);
      const stop = new AbortController();
      const abort = new AbortController();
      const onSigint = () => {
        if (!stop.signal.aborted) {
          stop.abort();
          progress.line('replay: stopping: no new pushes; waiting for those in flight (Ctrl-C again to abort them)');
        } else abort.abort();
      };
      process.on('SIGINT', onSigint);
      const started = performance.now();
      let run: ReplayRun;
      try {
        run = await replay(items, {
          url: url!,
          authorization,
          concurrency: opts.concurrency,
          rate: opts.rate,
          retries: opts.retries,
          backoffMs: 200,
          backoffCapMs: 5_000,
          timeoutMs: opts.timeout,
          stop: stop.signal,
          abort: abort.signal,
          onResult: (item, outcome) => {
            stats.record(outcome, item.invoiceCount);
            if (!progress.tty || isFailure(outcome)) progress.line(resultLine(stats.done, items.length, item, outcome));
            progress.update(stats.done, stats.failures);
          },
        });
      } finally {
        process.off('SIGINT', onSigint);
      }
      progress.finish();
      const summary = stats.summary(performance.now() - started, { interrupted: run.interrupted || run.outcomes.some((o) => o.kind === 'interrupted') });
      report(summary, opts.json === true);
      if (summary.failed > 0 || summary.interrupted) throw new ExitError(1, '');
    });
}

function toItem(push: FixturePush): ReplayItem {
  const keys = new Set<string>();
  for (const inv of push.invoices ?? []) {
    const id = (inv as { id?: unknown } | null)?.id;
    if (typeof id === 'string' || typeof id === 'number') keys.add(idString(id));
  }
  return { source: push.source, body: push.body, contentType: push.contentType, keys: [...keys], invoiceCount: push.invoices?.length ?? 0 };
}

/** Every push goes to the register of --user; mixing registers in one replay is usually a mistake. */
function warnAboutRegisters(pushes: FixturePush[]): void {
  const registers = [...new Set(pushes.map((p) => p.register).filter((r) => r !== undefined))].sort();
  if (registers.length > 1) {
    process.stderr.write(
      `replay: warning: the fixtures were captured from ${registers.length} registers (${registers.join(', ')}); `
        + 'they all go to the register of --user (capture --register R selects one)\n',
    );
  }
}

async function basicAuthorization(opts: ReplayOptions): Promise<string | undefined> {
  if (opts.user === undefined) return undefined;
  let password = opts.password ?? process.env.TABSHOP_PASSWORD;
  if (password === undefined) {
    if (!process.stdin.isTTY) throw new ExitError(2, 'replay: --user needs --password (or $TABSHOP_PASSWORD)');
    password = await readSecret(`Password for ${opts.user}: `);
  }
  return `Basic ${Buffer.from(`${opts.user}:${password}`, 'utf8').toString('base64')}`;
}

function resultLine(done: number, total: number, item: ReplayItem, outcome: PushOutcome): string {
  const n = `[${String(done).padStart(String(total).length)}/${total}]`;
  if (outcome.kind === 'interrupted') return `${n} --- interrupted  ${item.source}`;
  if (outcome.kind === 'connection_error') {
    return `${n} ERR ${outcome.code}  ${item.source}  ${outcome.message}${outcome.attempts > 1 ? ` (after ${outcome.attempts} attempts)` : ''}`;
  }
  const s = outcome.summary;
  const detail = s ? `  created ${s.created} · updated ${s.updated} · unchanged ${s.unchanged} · quarantined ${s.quarantined}` : '';
  const retried = outcome.attempts > 1 ? ` (attempt ${outcome.attempts})` : '';
  return `${n} ${outcome.status} ${outcome.latencyMs.toFixed(0).padStart(5)} ms  ${item.source}${detail}${retried}`;
}

function report(summary: ReplaySummary, json: boolean): void {
  process.stdout.write(json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatReplaySummary(summary)}\n`);
}
