import type { ShopsDocument, ShopsStorage, StoredShop } from '../../shops/shops-file.js';
import pg from 'pg';
import { DatabaseUnavailableError, type PostgresOptions } from './connection.js';
import { DEFAULT_SCHEMA } from './schema-names.js';
import { SchemaPool } from './shared-database.js';

/** undefined_table: a database whose shop default has not been migrated to version 18 yet holds no shops. */
const UNDEFINED_TABLE = '42P01';

/**
 * The shop directory's document in the table shop_directory of shop default's schema
 * (migrations/0018), one row per shop: what shops.json is on lowdb. A write is committed
 * (synchronous_commit, connection.ts) before it returns.
 */
export class ShopDirectoryTable implements ShopsStorage {
  readonly name = 'the table shop_directory';
  private readonly pool: SchemaPool;

  constructor(options: PostgresOptions, onError: (err: Error) => void) {
    this.pool = new SchemaPool(options, options.schema ?? DEFAULT_SCHEMA, onError);
  }

  async read(): Promise<ShopsDocument | null> {
    try {
      const { rows } = await this.pool.query<{ doc: StoredShop }>("SELECT doc FROM shop_directory ORDER BY (doc->>'createdAt'), id");
      return rows.length ? { shops: rows.map((r) => r.doc) } : null;
    } catch (err) {
      if ((err as { code?: string }).code === UNDEFINED_TABLE) return null;
      // Read before shop default opens: a database out of reach is told as the store tells it.
      if (!(err instanceof pg.DatabaseError)) throw new DatabaseUnavailableError(this.pool.url, err);
      throw err;
    }
  }

  async write(doc: ShopsDocument, changed: string): Promise<void> {
    const shop = doc.shops.find((s) => s.id === changed);
    if (!shop) {
      await this.pool.query('DELETE FROM shop_directory WHERE id = $1', [changed]);
      return;
    }
    await this.pool.query(
      `INSERT INTO shop_directory (id, doc) VALUES ($1, $2)
       ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, updated_at = now()`,
      [changed, JSON.stringify(shop)],
    );
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
