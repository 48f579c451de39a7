import type pg from 'pg';

/** The schema of a database written before schemas were configurable: its channels and locks keep their names. */
export const DEFAULT_SCHEMA = 'public';
/** A schema a store may be given: a plain lower-case identifier (no quoting surprises, fits every name built from it). */
/** Not pg_… (PostgreSQL's) nor tabshop_spare_… / tabshop_making_… (spare schemas, migrate.ts). */
export const SCHEMA_PATTERN = /^(?!pg_|tabshop_spare_|tabshop_making_)[a-z_][a-z0-9_]{0,62}$/;

export { schemaForShop } from '../shop-schema.js';

/** The advisory lock keys of one feature (two int4: classid, objid) in the public schema, as older versions take them. */
const PUBLIC_CLASS = 0x7ab5_4009;
/** Other schemas: classid = SCHEMA_CLASS + the feature's public objid, objid = the schema's oid. */
const SCHEMA_CLASS = 0x7ab5_4100;

/**
 * The names one store's schema gives what is shared by every schema of a database: NOTIFY
 * channels and advisory lock keys. The public schema keeps the names of the versions before
 * (a rolling upgrade still works); another schema's are made from its oid, which is unique in the
 * database, short, and stays the schema's when it is renamed (spare schemas, migrate.ts).
 */
export class SchemaNames {
  private constructor(
    readonly schema: string,
    readonly oid: number | null,
  ) {}

  static readonly public = new SchemaNames(DEFAULT_SCHEMA, null);

  static of(schema: string, oid: number): SchemaNames {
    return schema === DEFAULT_SCHEMA ? SchemaNames.public : new SchemaNames(schema, oid);
  }

  get isPublic(): boolean {
    return this.oid === null;
  }

  /** `tabshop_state` in public, `tabshop_state_16412` in the schema of oid 16412 (63 bytes at most, as PostgreSQL wants). */
  channel(base: string): string {
    return this.oid === null ? base : `${base}_${this.oid}`;
  }

  /** A feature's lock (its public key is [0x7ab54009, feature]) in this schema. */
  lock(feature: number): [number, number] {
    // An oid above 2^31 (a cluster that made billions of objects) folds into int4: two schemas would then share a lock, which serialises them, nothing worse for the lease.
    return this.oid === null ? [PUBLIC_CLASS, feature] : [SCHEMA_CLASS + feature, this.oid & 0x7fff_ffff];
  }
}

/** What the PostgreSQL adapters need of a pool: a plain pg.Pool (the public schema), or a store's SchemaPool. */
export type PgPool = Pick<pg.Pool, 'query' | 'connect'> & { readonly names?: SchemaNames };

export const namesOf = (pool: PgPool): SchemaNames => pool.names ?? SchemaNames.public;

/** A schema name quoted for SQL text (the pattern already excludes anything that needs escaping; this is belt and braces). */
export const quoteSchema = (schema: string) => `"${schema.replace(/"/g, '""')}"`;
