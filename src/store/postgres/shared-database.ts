import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { createClient, createLeasePool, createPool, DatabaseUnavailableError, type PostgresOptions } from './connection.js';
import { makeSpareSchemas, migrate, prepareSchema, type MigrationReport } from './migrate.js';
import { DEFAULT_SCHEMA, quoteSchema, SchemaNames, type PgPool } from './schema-names.js';

/**
 * What every store of this process on one database shares (one per database URL): the pool the
 * stores' statements and commit rounds use, and the smaller pool their write leases are held on
 * while a burst runs (separate, so leases held by many shops at once can never take the
 * connections their own rounds need). The LISTEN connection is shared too (outbox-notify.ts).
 */
interface SharedDatabase {
  pool: pg.Pool;
  leases: pg.Pool;
  shares: number;
  /** The stores' loggers: an idle connection that fails is told once, to the first. */
  onError: Set<(err: Error) => void>;
}

const databases = new Map<string, SharedDatabase>();

/** The schema a pooled connection's search_path names since this process last set it (none: the server's default, as opened). */
const searchPaths = new WeakMap<pg.ClientBase, string>();

function share(opts: PostgresOptions, onError: (err: Error) => void): SharedDatabase {
  let db = databases.get(opts.url);
  if (!db) {
    const errors = new Set<(err: Error) => void>();
    const report = (err: Error) => errors.values().next().value?.(err);
    db = { pool: createPool(opts, report), leases: createLeasePool(opts, report), shares: 0, onError: errors };
    databases.set(opts.url, db);
  }
  // Stores configured with different sizes share the largest (pg-pool reads `max` at each checkout).
  db.pool.options.max = Math.max(db.pool.options.max ?? 0, opts.poolSize);
  db.leases.options.max = Math.max(db.leases.options.max ?? 0, opts.poolSize);
  db.shares++;
  db.onError.add(onError);
  return db;
}

/**
 * One store's view of the shared pool: every connection it hands out has its search_path set to
 * the store's schema (a SET only when the connection was last used for another schema), so the
 * store's SQL names no schema. In `public` a connection keeps the server's default search_path,
 * exactly as before schemas were configurable.
 */
export class SchemaPool implements PgPool {
  private db: SharedDatabase | null;
  private readonly onError: (err: Error) => void;
  private known: SchemaNames | null;

  constructor(
    readonly options: PostgresOptions,
    readonly schema: string,
    onError: (err: Error) => void,
  ) {
    this.onError = onError;
    this.db = share(options, onError);
    this.known = schema === DEFAULT_SCHEMA ? SchemaNames.public : null;
  }

  /** Channel names and lock keys of the schema: known once the store opened it (its oid); never guessed before. */
  get names(): SchemaNames {
    if (!this.known) throw new Error(`the names of schema ${this.schema} are known once its store is open`);
    return this.known;
  }

  set names(names: SchemaNames) {
    this.known = names;
  }

  get url(): string {
    return this.options.url;
  }

  /** Where the write lease's connections come from (bounded: a store past the bound waits for one). */
  get leases(): pg.Pool {
    return this.live().leases;
  }

  /** @internal A connection of the shared pool as it is (openSchema points it at the schema once it exists). */
  rawConnect(): Promise<pg.PoolClient> {
    return this.live().pool.connect();
  }

  private live(): SharedDatabase {
    if (!this.db) throw new Error('the PostgreSQL pool of this store is closed');
    return this.db;
  }

  async connect(): Promise<pg.PoolClient> {
    const client = await this.live().pool.connect();
    try {
      await useSchema(client, this.schema);
    } catch (err) {
      client.release(err as Error);
      throw err;
    }
    return client;
  }

  /** As pg.Pool's: a connection for one statement, discarded when the statement fails (as pg-pool does). */
  readonly query = (async (text: string | pg.QueryConfig, values?: unknown[]) => {
    const client = await this.connect();
    let failed: Error | undefined;
    const dropped = (err: Error) => {
      failed = err;
    };
    client.on('error', dropped);
    try {
      return await client.query(text as string, values);
    } catch (err) {
      failed = err as Error;
      throw err;
    } finally {
      client.off('error', dropped);
      client.release(failed);
    }
  }) as unknown as pg.Pool['query'];

  /** This store's share ends; the last store of the database closes the pools. */
  async end(): Promise<void> {
    const db = this.db;
    if (!db) return;
    this.db = null;
    db.onError.delete(this.onError);
    if (--db.shares > 0) return;
    databases.delete(this.options.url);
    await Promise.all([db.pool.end().catch(() => undefined), db.leases.end().catch(() => undefined)]);
  }
}

/**
 * Makes the store's schema ready when it opens: made (or renamed from a spare) if missing, migrated,
 * and its names (channels, locks) known. The migrations run on a connection of their own, as
 * before schemas: a long one must not meet the pool's statement time limit. A schema other than
 * public is first looked at on a pooled connection: when nothing is to migrate (a spare, a shop
 * opened before) no connection is opened for it (one less connect and authentication per shop opened).
 */
export async function openSchema(pool: SchemaPool): Promise<{ report: MigrationReport; spare: string | null }> {
  if (pool.schema !== DEFAULT_SCHEMA) {
    const client = await pool.rawConnect();
    let failed: Error | undefined;
    try {
      const { oid, spare } = await prepareSchema(client, pool.schema);
      await useSchema(client, pool.schema);
      const report = await migrate(client, { dryRun: true });
      if (report.pending.length === 0) {
        pool.names = SchemaNames.of(pool.schema, oid);
        return { report, spare: spare ?? null };
      }
    } catch (err) {
      failed = err as Error;
      throw err;
    } finally {
      client.release(failed);
    }
  }
  const client = createClient(pool.url, 'tabshop-gateway migrate');
  await client.connect().catch((err) => {
    throw new DatabaseUnavailableError(pool.url, err);
  });
  try {
    const { oid } = await prepareSchema(client, pool.schema);
    await useSchema(client, pool.schema);
    const report = await migrate(client);
    pool.names = SchemaNames.of(pool.schema, oid);
    return { report, spare: null };
  } finally {
    // Not awaited: over a link that stopped answering, the goodbye would never be acknowledged.
    void client.end().catch(() => undefined);
  }
}

/** Points a connection's search_path at `schema` unless it already does (public: the server's default). */
export async function useSchema(client: pg.ClientBase, schema: string): Promise<void> {
  const want = schema === DEFAULT_SCHEMA ? undefined : schema;
  if (searchPaths.get(client) === want) return;
  await client.query(want === undefined ? 'RESET search_path' : `SET search_path TO ${quoteSchema(want)}`);
  if (want === undefined) searchPaths.delete(client);
  else searchPaths.set(client, want);
}

/** Connections of the shared pools of this process (tests, status). */
export function sharedConnections(url: string): { pool: number; leases: number } | null {
  const db = databases.get(url);
  return db ? { pool: db.pool.totalCount, leases: db.leases.totalCount } : null;
}

/** Spare schemas kept ready on a database whose stores use schemas of their own (a burst of new shops beyond it migrates). */
export const SPARE_SCHEMAS = 3;
const making = new Map<string, Promise<void>>();
/** The one more look asked for while a run was under way, shared by everyone who asked meanwhile. */
interface NextLook {
  done: Promise<void>;
  log: (msg: string, err?: unknown) => void;
  count: number;
}
const again = new Map<string, NextLook>();

/**
 * In the background, one at a time per database: brings the spare schemas up to `count`, so the
 * next new shop's schema is a rename (migrate.ts prepareSchema). Asked again while it runs, it
 * looks once more when done: once for all who asked meanwhile, not once each (each waiting look
 * kept its caller's store alive, closed or not, and cost a connection of its own).
 */
export function keepSpareSchemas(url: string, log: (msg: string, err?: unknown) => void, count = SPARE_SCHEMAS): Promise<void> {
  if (count <= 0) return Promise.resolve();
  const running = making.get(url);
  if (running) {
    const next = again.get(url);
    if (next) {
      // The latest caller's log only: an earlier one may belong to a store closed since.
      next.log = log;
      next.count = Math.max(next.count, count);
      return next.done;
    }
    const ask: NextLook = {
      log,
      count,
      done: running.then((): Promise<void> => {
        again.delete(url);
        return keepSpareSchemas(url, ask.log, ask.count);
      }),
    };
    again.set(url, ask);
    return ask.done;
  }
  const run = (async () => {
    const client = createClient(url, 'tabshop-gateway spare schemas');
    try {
      await client.connect();
      await makeSpareSchemas(client, count, () => randomBytes(6).toString('hex'));
    } catch (err) {
      log('could not prepare spare schemas (new shops are migrated when they open meanwhile)', err);
    } finally {
      void client.end().catch(() => undefined);
      making.delete(url);
    }
  })();
  making.set(url, run);
  return run;
}
