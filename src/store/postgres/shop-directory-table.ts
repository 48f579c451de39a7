import type { Logger } from 'pino';
import pg from 'pg';
import { type ShopsDocument, type ShopsStorage, type StoredShop, UsernameTakenError } from '../../shops/shops-file.js';
import { DatabaseUnavailableError, type PostgresOptions } from './connection.js';
import { OutboxListener } from './outbox-notify.js';
import { DEFAULT_SCHEMA, SchemaNames } from './schema-names.js';
import { SchemaPool } from './shared-database.js';

/** undefined_table: a database whose shop default has not been migrated that far yet. */
const UNDEFINED_TABLE = '42P01';

/** The channel a change of the directory notifies on (payload: its version), once it commits. */
export const SHOPS_CHANNEL = 'tabshop_shops';

/** The version, and the rows written after `$1` (through their version index: nothing when nothing changed). */
const SINCE = `SELECT s.version::text AS version,
  (SELECT json_agg(d.doc ORDER BY d.doc->>'createdAt', d.id) FROM shop_directory d WHERE d.version > $1) AS docs
  FROM shop_directory_state s`;

/**
 * The shop directory's document in the table shop_directory of shop default's schema
 * (migrations/0018, 0020), one row per shop: what shops.json is on lowdb. Every process follows it:
 * a change raises the one-row version first (the row lock orders the changes of every process),
 * reads what other processes changed, writes its row and its usernames (unique across shops:
 * shop_usernames), notifies, and commits (synchronous_commit, connection.ts) before it returns.
 */
export class ShopDirectoryTable implements ShopsStorage {
  readonly name = 'the table shop_directory';
  private readonly pool: SchemaPool;
  private doc: ShopsDocument = { shops: [] };
  /** The version `doc` reflects (-1: none read yet, or read from a table without versions). */
  private version = -1;
  private channelName: string | null = null;

  constructor(
    private readonly options: PostgresOptions,
    private readonly logger: Logger,
  ) {
    this.pool = new SchemaPool(options, options.schema ?? DEFAULT_SCHEMA, (err) =>
      logger.error({ err }, 'idle PostgreSQL connection of the shop directory failed'),
    );
  }

  async read(): Promise<ShopsDocument | null> {
    try {
      const doc = await this.since(this.pool);
      return doc.shops.length ? doc : null;
    } catch (err) {
      if ((err as { code?: string }).code === UNDEFINED_TABLE) return this.readUnversioned();
      // Read before shop default opens: a database out of reach is told as the store tells it.
      if (!(err instanceof pg.DatabaseError)) throw new DatabaseUnavailableError(this.pool.url, err);
      throw err;
    }
  }

  /** A database at schema version 18 (shop default migrates it when it opens, next): the rows as they are. */
  private async readUnversioned(): Promise<ShopsDocument | null> {
    try {
      const { rows } = await this.pool.query<{ doc: StoredShop }>("SELECT doc FROM shop_directory ORDER BY (doc->>'createdAt'), id");
      this.doc = { shops: rows.map((r) => r.doc) };
      return rows.length ? this.doc : null;
    } catch (err) {
      if ((err as { code?: string }).code === UNDEFINED_TABLE) return null;
      throw err;
    }
  }

  async refresh(): Promise<ShopsDocument | null> {
    const before = this.version;
    const doc = await this.since(this.pool);
    return this.version === before ? null : doc;
  }

  /**
   * Merges the rows changed since `version` into the document (unchanged shops keep their objects).
   * Inside a change, the version read is the one before the change's own (which may roll back).
   */
  private async since(client: Pick<pg.ClientBase, 'query'>): Promise<ShopsDocument> {
    const { rows } = await client.query<{ version: string; docs: StoredShop[] | null }>(SINCE, [this.version]);
    return this.merge(rows[0].docs, Number(rows[0].version));
  }

  private merge(docs: StoredShop[] | null, version: number): ShopsDocument {
    if (version === this.version) return this.doc;
    const changed = docs ?? [];
    if (changed.length > 0) {
      const byId = new Map(changed.map((s) => [s.id, s]));
      const shops = this.doc.shops.map((s) => byId.get(s.id) ?? s);
      for (const s of this.doc.shops) byId.delete(s.id);
      this.doc = { shops: [...shops, ...byId.values()] };
    }
    this.version = version;
    return this.doc;
  }

  async change(changed: string, edit: (latest: ShopsDocument) => ShopsDocument): Promise<ShopsDocument> {
    const client = await this.pool.connect();
    let failed: Error | undefined;
    try {
      const channel = await this.channel(client);
      // Three round trips: begin, raise the version and read what changed; write; commit.
      const [, raised, since] = (await client.query(
        `BEGIN; UPDATE shop_directory_state SET version = version + 1 RETURNING version::text AS version; ${SINCE.replace('$1', String(this.version))}`,
      )) as unknown as pg.QueryResult[];
      const version = Number(raised.rows[0].version);
      // Under the version's row lock: every change before this one is committed and read here.
      const latest = this.merge(since.rows[0].docs, version - 1);
      const next = edit(latest);
      const shop = next.shops.find((s) => s.id === changed);
      if (!shop) throw new Error(`the change of shop ${changed} removed it (a shop is never deleted)`);
      const had = new Set(usernames(latest.shops.find((s) => s.id === changed)));
      const names = usernames(shop);
      const added = names.filter((u) => !had.has(u));
      // One statement: the row, its usernames (the unique key decides: a username added here that
      // another shop holds refuses the change) and the notification, sent only if it commits.
      const { rows } = await client.query<{ taken: string | null }>(
        `WITH shop AS (
           INSERT INTO shop_directory (id, doc, version) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, version = EXCLUDED.version, updated_at = now()),
         gone AS (DELETE FROM shop_usernames WHERE shop = $1 AND NOT (username = ANY($4::text[]))),
         added AS (INSERT INTO shop_usernames (username, shop) SELECT u, $1 FROM unnest($4::text[]) AS u ON CONFLICT (username) DO NOTHING)
         SELECT (SELECT username FROM shop_usernames WHERE username = ANY($5::text[]) AND shop <> $1 LIMIT 1) AS taken, pg_notify($6, $7) AS notified`,
        [changed, JSON.stringify(shop), version, names, added, channel, String(version)],
      );
      if (rows[0].taken !== null) throw new UsernameTakenError(rows[0].taken);
      await client.query('COMMIT');
      this.doc = next;
      this.version = version;
      return next;
    } catch (err) {
      // A connection that can still roll back is kept (a refused change, such as a taken username, is no fault of it).
      const rolledBack = await client.query('ROLLBACK').then(
        () => true,
        () => false,
      );
      if (!rolledBack) failed = err as Error;
      throw err;
    } finally {
      client.release(failed);
    }
  }

  /** The channel of shop default's schema (its oid names it: schema-names.ts), looked up once. */
  private async channel(client: Pick<pg.ClientBase, 'query'>): Promise<string> {
    if (!this.channelName) {
      const schema = this.pool.schema;
      const { rows } = await client.query<{ oid: number }>('SELECT oid::int8::float8 AS oid FROM pg_namespace WHERE nspname = $1', [schema]);
      this.channelName = SchemaNames.of(schema, Number(rows[0]?.oid ?? 0)).channel(SHOPS_CHANNEL);
    }
    return this.channelName;
  }

  async watch(onChange: () => void): Promise<() => Promise<void>> {
    const listener = new OutboxListener({
      url: this.options.url,
      channel: await this.channel(this.pool),
      label: 'shop directory',
      // Also told (null) when the LISTEN connection is back: what was sent meanwhile was lost.
      onNotify: () => onChange(),
      logger: this.logger,
    });
    listener.start();
    return () => listener.stop();
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

const usernames = (shop: StoredShop | undefined): string[] => [...(shop?.devices ?? []), ...(shop?.admins ?? [])].map((a) => a.username);
