import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ClientBase } from 'pg';
import { DEFAULT_SCHEMA, quoteSchema, SCHEMA_PATTERN } from './schema-names.js';

/** `migrations/` at the package root: src/store/postgres and dist/store/postgres are both three levels below it. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Every migration file, in version order (`NNNN_name.sql`). */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const list = readdirSync(dir)
    .filter((f) => FILE.test(f))
    .sort()
    .map((file) => {
      const [, version, name] = FILE.exec(file)!;
      const sql = readFileSync(`${dir}/${file}`, 'utf8');
      return { version: Number(version), name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
  // Gaps are allowed (branches number their migrations ahead of each other); twice the same number is not.
  list.forEach((m, i) => {
    if (m.version < 1 || (i > 0 && m.version <= list[i - 1].version))
      throw new Error(`${dir}: migration versions must be unique and start at 1 (found ${m.version} twice or out of order)`);
  });
  return list;
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

export interface MigrationReport {
  /** Schema version before and after. */
  from: number;
  to: number;
  applied: { version: number; name: string }[];
  /** Known but not applied (dryRun). */
  pending: { version: number; name: string }[];
}

/** Serialises migrations of several processes on one database (transaction-scoped advisory lock). */
const MIGRATION_LOCK = 7_291_304_811;

/**
 * Applies the migrations not yet recorded in schema_migrations, each in its own transaction
 * with its record, under an advisory lock: idempotent, safe to run from two processes at once
 * (each transaction reads what is applied again under the lock: the other process may have
 * applied some meanwhile). Refuses a database whose schema is newer than this gateway, or whose
 * recorded migration differs.
 */
export async function migrate(client: ClientBase, opts: { dryRun?: boolean; migrations?: Migration[] } = {}): Promise<MigrationReport> {
  const migrations = opts.migrations ?? loadMigrations();
  let report: MigrationReport | null = null;
  for (;;) {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const applied = await appliedVersions(client, migrations);
      const version = Math.max(0, ...applied);
      report ??= { from: version, to: version, applied: [], pending: [] };
      report.to = version;
      // Every known migration not recorded yet, in version order (one numbered below the highest applied fills a gap).
      const todo = migrations.filter((m) => !applied.has(m.version));
      report.pending = todo.map(({ version: v, name }) => ({ version: v, name }));
      const next = todo[0];
      if (opts.dryRun || !next) {
        await client.query('COMMIT');
        return report;
      }
      await client.query(next.sql);
      await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [next.version, next.name, next.checksum]);
      await client.query('COMMIT');
      report.applied.push({ version: next.version, name: next.name });
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}

/** The migration versions recorded in the database, after checking each record against this gateway's files. */
async function appliedVersions(client: ClientBase, migrations: Migration[]): Promise<Set<number>> {
  await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
    'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
  );
  const known = new Map(migrations.map((m) => [m.version, m]));
  for (const row of rows) {
    const m = known.get(row.version);
    if (!m) {
      throw new MigrationError(
        `the database schema is at version ${rows[rows.length - 1].version} (${rows[rows.length - 1].name}), newer than this gateway knows (${migrations.at(-1)?.version ?? 0}): upgrade tabshop-gateway`,
      );
    }
    if (m.checksum !== row.checksum) {
      throw new MigrationError(
        `migration ${String(m.version).padStart(4, '0')}_${m.name} applied to the database differs from migrations/${String(m.version).padStart(4, '0')}_${m.name}.sql of this gateway: do not edit applied migrations, add a new one`,
      );
    }
  }
  return new Set(rows.map((r) => r.version));
}

/** Ready-made schemas (migrated in the background) that a new shop's schema is renamed from: opening it then migrates nothing. */
export const SPARE_PREFIX = 'tabshop_spare_';
/** A spare being migrated: taken by nobody until it is renamed to SPARE_PREFIX…, once complete. */
const MAKING_PREFIX = 'tabshop_making_';

/**
 * The schema a store keeps its tables in, made if it is missing (under the migration lock: two
 * processes opening a new shop at once make it once): a spare schema renamed when there is one
 * (keepSpareSchemas), else an empty one the migrations fill. Its oid names its channels and locks.
 */
export async function prepareSchema(client: ClientBase, schema: string): Promise<{ oid: number; created: boolean; spare?: string }> {
  if (!SCHEMA_PATTERN.test(schema)) throw new MigrationError(`${JSON.stringify(schema)} is not a schema name this gateway uses (${SCHEMA_PATTERN.source})`);
  const find = () => client.query<{ oid: number }>('SELECT oid::int8::float8 AS oid FROM pg_namespace WHERE nspname = $1', [schema]);
  const found = await find();
  if (found.rows.length > 0 || schema === DEFAULT_SCHEMA) return { oid: Number(found.rows[0]?.oid ?? 0), created: false };
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    const again = await find();
    let spare: string | undefined;
    if (again.rows.length === 0) {
      const spares = await client.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1) ORDER BY nspname LIMIT 1`, [
        SPARE_PREFIX,
      ]);
      spare = spares.rows[0]?.nspname;
      await client.query(spare ? `ALTER SCHEMA ${quoteSchema(spare)} RENAME TO ${quoteSchema(schema)}` : `CREATE SCHEMA ${quoteSchema(schema)}`);
    }
    const { rows } = await find();
    await client.query('COMMIT');
    return { oid: Number(rows[0].oid), created: again.rows.length === 0, spare };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * Makes spare schemas until the database has `count` (each migrated in full under a name no store
 * takes, then renamed to a spare's): a new shop's schema is then a rename, not seventeen
 * migrations. Runs on its own connection, one spare at a time; `client` searches in the spare.
 */
export async function makeSpareSchemas(client: ClientBase, count: number, random: () => string): Promise<number> {
  let made = 0;
  for (;;) {
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_namespace WHERE starts_with(nspname, $1)', [SPARE_PREFIX]);
    if (rows[0].n >= count) return made;
    const id = random();
    const making = `${MAKING_PREFIX}${id}`;
    await client.query(`CREATE SCHEMA ${quoteSchema(making)}`);
    await client.query(`SET search_path TO ${quoteSchema(making)}`);
    await migrate(client);
    // No sale, no tracked product: the (empty) stock_levels is derived, so the shop's first start writes nothing for it (migrations/0012).
    await client.query('INSERT INTO stock_state (id, derived_at) VALUES (true, now()) ON CONFLICT (id) DO NOTHING');
    await client.query('RESET search_path');
    await client.query(`ALTER SCHEMA ${quoteSchema(making)} RENAME TO ${quoteSchema(`${SPARE_PREFIX}${id}`)}`);
    made++;
  }
}
