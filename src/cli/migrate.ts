import type { Command } from 'commander';
import { type Config, ConfigError, loadConfig } from '../config/load.js';
import { POSTGRES_URL } from '../config/env.js';
import { ExitError } from './exit.js';

const pad = (v: number) => String(v).padStart(4, '0');

export function migrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply the PostgreSQL schema migrations not yet applied (also done at every start); exit 0 when the schema is current')
    .option('-c, --config <file>', 'config file whose store.postgres.url (or DATABASE_URL) names the database')
    .option('--url <url>', 'the database, postgres://user:password@host:port/db (beats the config and DATABASE_URL)')
    .option('--schema <name>', "the PostgreSQL schema to migrate (beats the config's store.postgres.schema; default public), made if missing")
    .option('--dry-run', 'list the migrations that would be applied, apply none')
    .option('--json', 'print {database, from, to, applied, pending} as JSON')
    .addHelpText(
      'after',
      `
The gateway applies the same migrations itself at start; run this ahead of an upgrade, or
with a database user that may create tables when the gateway's own user may not. Migrations
are versioned (migrations/NNNN_name.sql), each applied once in its own transaction and recorded
in schema_migrations; running it again applies nothing. Safe while a gateway runs.

Exit codes: 0 schema current (or --dry-run listed), 1 database unreachable or a migration
failed, 2 bad usage or config (no PostgreSQL configured).`,
    )
    .action(async (opts: { config?: string; url?: string; schema?: string; dryRun?: boolean; json?: boolean }) => {
      const configured = opts.url === undefined || opts.schema === undefined ? databaseFromConfig(opts.config, opts.url !== undefined) : undefined;
      const url = opts.url ?? configured!.url;
      const schema = opts.schema ?? configured?.schema ?? 'public';
      if (!POSTGRES_URL.test(url)) throw new ExitError(2, 'migrate: --url must be a postgres:// or postgresql:// URL');
      // The PostgreSQL client is loaded only by the commands that use it (docs/performance.md).
      const [{ createClient, DatabaseUnavailableError }, { migrate, MigrationError, prepareSchema }, { describeDatabase }, { useSchema }] = await Promise.all([
        import('../store/postgres/connection.js'),
        import('../store/postgres/migrate.js'),
        import('../store/postgres/sql-values.js'),
        import('../store/postgres/shared-database.js'),
      ]);
      const name = `${describeDatabase(url)}${schema === 'public' ? '' : `, schema ${schema}`}`;
      const client = createClient(url, 'tabshop-gateway migrate');
      try {
        await client.connect();
      } catch (err) {
        throw new ExitError(1, `migrate: ${new DatabaseUnavailableError(url, err).message}`);
      }
      try {
        if (schema !== 'public') {
          // A dry run makes nothing, not even the schema: a missing one has every migration pending.
          const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
          if (opts.dryRun && exists.rows.length === 0) throw new MigrationError(`schema ${schema} does not exist (every migration is pending)`);
          await prepareSchema(client, schema);
          await useSchema(client, schema);
        }
        const report = await migrate(client, { dryRun: opts.dryRun });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ database: describeDatabase(url), schema, ...report, dryRun: opts.dryRun === true })}\n`);
          return;
        }
        const lines = [
          ...report.applied.map((m) => `applied ${pad(m.version)}_${m.name}`),
          ...(opts.dryRun ? report.pending.map((m) => `would apply ${pad(m.version)}_${m.name}`) : []),
        ];
        lines.push(
          report.applied.length > 0
            ? `${name}: schema version ${report.from} → ${report.to}`
            : opts.dryRun && report.pending.length > 0
              ? `${name}: schema version ${report.from}, ${report.pending.length} migration(s) pending (dry run: nothing applied)`
              : `${name}: schema up to date (version ${report.to})`,
        );
        process.stdout.write(`${lines.join('\n')}\n`);
      } catch (err) {
        const message = err instanceof MigrationError ? err.message : `${(err as Error).message}`;
        throw new ExitError(1, `migrate: ${name}: ${message}`);
      } finally {
        await client.end().catch(() => undefined);
      }
    });
}

function databaseFromConfig(file: string | undefined, optional = false): { url: string; schema?: string } | undefined {
  if (optional && file === undefined) return undefined;
  let config: Config;
  try {
    config = loadConfig({ file, cwd: process.cwd(), env: process.env }).config;
  } catch (err) {
    if (err instanceof ConfigError) throw new ExitError(2, err.problems.map((p) => `config: ${p}`).join('\n'));
    throw err;
  }
  if (!config.store.postgres) {
    throw new ExitError(2, 'migrate: no PostgreSQL store configured: set store.postgres.url in the config, DATABASE_URL, or pass --url');
  }
  return { url: config.store.postgres.url, schema: config.store.postgres.schema };
}
