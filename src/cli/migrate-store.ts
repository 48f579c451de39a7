import type { Command } from 'commander';
import { POSTGRES_URL } from '../config/env.js';
import { CorruptFileError } from '../store/durable-file.js';
import type { CopyReport } from '../store/postgres/copy-from-lowdb.js';
import type { ShopsCopyReport } from '../store/postgres/copy-shops.js';
import { createLogger } from '../logger.js';
import { DataDirLockedError } from '../store/lock.js';
import { ExitError } from './exit.js';

export function migrateStoreCommand(program: Command): void {
  program
    .command('migrate-store')
    .description('copy a lowdb data dir into a PostgreSQL database (resumable), then compare counts and totals of both')
    .requiredOption('--from <dir>', 'the lowdb data dir (no gateway may be running on it)')
    .requiredOption('--to <url>', 'the PostgreSQL database, postgres://user:password@host:port/db (empty, or a copy of the same dir left unfinished)')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Copies articles and their change feed, sales (with their original invoices and history),
quarantine, closed days, cash movements, presence, the outbox and the journal. Stop the gateway
first: both the data dir and the database are locked while copying. The database schema is
migrated first. Interrupted? Run the same command again: it resumes (sales already copied are
skipped, journal lines are added once). The data dir is left as it is, so going back to lowdb
stays possible until the gateway has taken pushes on PostgreSQL.

A data dir of several shops (shops.json, or shops' data dirs under shops/) is copied as a
deployment on PostgreSQL keeps it: the data dir itself (shop default) into the public schema, each
shop's data dir (shops/<id>/) into the schema shop_<id>, shops.json into the table shop_directory.

Then set "store": {"postgres": {"url": "…"}} (or DATABASE_URL) and start the gateway.

Exit codes: 0 copied and verified, 1 a failure or a mismatch (the report names it), 2 bad usage.`,
    )
    .action(async (opts: { from: string; to: string; json?: boolean }) => {
      if (!POSTGRES_URL.test(opts.to)) throw new ExitError(2, 'migrate-store: --to must be a postgres:// or postgresql:// URL');
      const tty = process.stderr.isTTY && !opts.json;
      // The PostgreSQL client is loaded only by the commands that use it (docs/performance.md).
      const [
        { DatabaseUnavailableError },
        { copyLowdbToPostgres, CopyRefusedError },
        { MigrationError },
        { copyShopsToPostgres, hasShops },
        { UsernameTakenError },
      ] = await Promise.all([
        import('../store/postgres/connection.js'),
        import('../store/postgres/copy-from-lowdb.js'),
        import('../store/postgres/migrate.js'),
        import('../store/postgres/copy-shops.js'),
        import('../shops/shops-file.js'),
      ]);
      const onProgress = (what: string, n: number) => {
        if (tty) process.stderr.write(`\r${what}: ${n.toLocaleString('en')}\u001b[K`);
      };
      let report: CopyReport | ShopsCopyReport;
      try {
        report = hasShops(opts.from)
          ? await copyShopsToPostgres({ dataDir: opts.from, url: opts.to, logger: createLogger('warn', process.stderr), onProgress })
          : await copyLowdbToPostgres({ dataDir: opts.from, url: opts.to, onProgress });
      } catch (err) {
        if (tty) process.stderr.write('\n');
        if (
          err instanceof CopyRefusedError
          || err instanceof DataDirLockedError
          || err instanceof CorruptFileError
          || err instanceof DatabaseUnavailableError
          || err instanceof MigrationError
          || err instanceof UsernameTakenError
        ) {
          throw new ExitError(1, `migrate-store: ${err.message}`);
        }
        throw err;
      }
      if (tty) process.stderr.write('\n');
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
      } else if ('shops' in report) {
        for (const shop of report.shops)
          process.stdout.write(
            `Shop ${shop.id} (schema ${shop.schema}):\n${shop.copiedBefore ? `  copied and verified by an earlier run (${shop.report.from})` : describe(shop.report)}\n`,
          );
        process.stdout.write(
          `${report.directory} shops of shops.json written to the table shop_directory\n${
            report.ok
              ? 'OK: every shop copied and verified'
              : `MISMATCH in shop ${report.shops
                  .filter((s) => !s.report.ok)
                  .map((s) => s.id)
                  .join(', ')}`
          }\n`,
        );
      } else {
        process.stdout.write(`${describe(report)}\n`);
      }
      if (!report.ok) throw new ExitError(1, '');
    });
}

function describe(report: CopyReport): string {
  const c = report.copied;
  const lines = [
    `Copied ${report.from} into ${report.to} in ${(report.durationMs / 1000).toFixed(1)} s`,
    `  copied   ${c.sales} sales (${c.salesSkipped} already there), ${c.quarantine} quarantine items, ${c.modifications} article changes, ${c.closedDays} closed days, ${c.movements} cash movements, ${c.outbox} outbox items, ${c.journal} journal lines, ${c.kitchenOrders} kitchen orders, ${c.kitchenJournal} kitchen journal lines, ${c.runtimeDevices} back-office devices, ${c.lowStockThresholds} low-stock thresholds`,
    ...report.journalSkippedLines.map((s) => `  skipped  ${s.file}:${s.line}: ${s.reason} (as capture does)`),
    '  check                          lowdb            postgres',
    ...report.checks.map((k) => `  ${k.ok ? 'ok ' : 'BAD'} ${k.what.padEnd(28)} ${k.source.padStart(14)}  ${k.target.padStart(14)}`),
    report.ok
      ? 'OK: every count and total matches'
      : `MISMATCH: ${report.checks
          .filter((k) => !k.ok)
          .map((k) => k.what)
          .join(', ')}`,
  ];
  return lines.join('\n');
}
