import type pg from 'pg';
import { articlesFrom, type ArticleEntity, type ArticlesData, type Modification } from '../records.js';
import { insertRows, type Column, type RoundPart, type TakenWrites } from './commit-queue.js';
import { jsonText, numericValue, textValue } from './sql-values.js';

type Collection = 'taxes' | 'discounts' | 'categories' | 'products' | 'commodities' | 'stock';

const ENTITIES: [Collection, ArticleEntity][] = [
  ['taxes', 'tax'],
  ['discounts', 'discount'],
  ['categories', 'category'],
  ['products', 'product'],
  ['commodities', 'commodity'],
  ['stock', 'stock'],
];
const COLLECTION_OF = new Map(ENTITIES.map(([c, e]) => [e, c]));

const ARTICLE_COLUMNS: Column[] = [
  ['entity', 'text'],
  ['identifier', 'text'],
  ['version', 'integer'],
  ['changed_at', 'timestamptz'],
  ['name', 'text'],
  ['price', 'numeric'],
  ['cost_price', 'numeric'],
  ['rate', 'numeric'],
  ['tax', 'text'],
  ['discount', 'text'],
  ['parent', 'text'],
  ['product', 'text'],
  ['category', 'text'],
  ['data', 'json'],
];

type Fields = Record<string, unknown>;

/** An article row: the exact article as json plus the typed copies SQL uses (migration 0007). */
function articleRow(entity: ArticleEntity, id: string, item: unknown, version: number, at: string): unknown[] {
  const f = (item !== null && typeof item === 'object' ? item : {}) as Fields;
  const text = (k: string) => (typeof f[k] === 'object' ? null : textValue(f[k]));
  return [
    entity,
    textValue(id) ?? '',
    version,
    at,
    text('name'),
    entity === 'product' ? numericValue(f.price) : null,
    entity === 'product' ? numericValue(f.costPrice) : null,
    entity === 'tax' ? numericValue(f.vat) : entity === 'discount' ? numericValue(f.percentage) : null,
    text('tax'),
    text('discount'),
    text('parent'),
    entity === 'stock' ? textValue(id) : text('product'),
    text('category'),
    jsonText(item),
  ];
}

interface StoredRow {
  entity: ArticleEntity;
  identifier: string;
  data: unknown;
}

/** The articles document back from its rows (the in-memory catalogue still holds them all). */
export function articlesFromRows(state: { version: number; upstream: ArticlesData['upstream'] | null } | undefined, rows: StoredRow[]): ArticlesData {
  const doc = articlesFrom(state ? { version: state.version, ...(state.upstream ? { upstream: state.upstream } : {}) } : null);
  for (const row of rows) {
    const collection = COLLECTION_OF.get(row.entity);
    if (!collection) continue;
    // The key as the catalogue wrote it: the text column has U+FFFD where the identifier had a NUL.
    const own = (row.data as Fields | null)?.[collection === 'stock' ? 'product' : 'identifier'];
    (doc[collection] as Record<string, unknown>)[typeof own === 'string' ? own : row.identifier] = row.data;
  }
  return doc;
}

/**
 * Brings `doc` up to date with the database when another process changed the articles: the rows of
 * a version above the document's, and the rows the change feed says went away since. Reads only
 * (run inside the refresh's snapshot); returns what to apply, synchronously, or null when nothing changed.
 */
export async function readArticleChanges(
  client: pg.ClientBase,
  doc: ArticlesData,
): Promise<{ apply(rows: ArticleRows): void; modifications: Modification[] } | null> {
  const state = await client.query<{ version: number; upstream: ArticlesData['upstream'] | null }>('SELECT version, upstream FROM articles_state WHERE id');
  const version = state.rows[0]?.version ?? 0;
  const upstream = state.rows[0]?.upstream ?? undefined;
  if (version === doc.version && jsonText(upstream) === jsonText(doc.upstream)) return null;
  const since = Math.min(doc.version, version);
  const changed = await client.query<StoredRow>('SELECT entity, identifier, data FROM article_rows WHERE version > $1', [since]);
  const feed = await client.query<{ modification: Modification }>(
    'SELECT modification FROM modifications WHERE version > $1 AND version <= $2 ORDER BY version',
    [since, version],
  );
  const modifications = feed.rows.map((r) => r.modification);
  return {
    modifications,
    apply(rows) {
      const touched: { collection: Collection; id: string; item: unknown | undefined }[] = [];
      const put = new Set<string>();
      for (const row of changed.rows) {
        const collection = COLLECTION_OF.get(row.entity);
        if (!collection) continue;
        const own = (row.data as Fields | null)?.[collection === 'stock' ? 'product' : 'identifier'];
        const id = typeof own === 'string' ? own : row.identifier;
        (doc[collection] as Record<string, unknown>)[id] = row.data;
        touched.push({ collection, id, item: row.data });
        put.add(`${collection}/${id}`);
      }
      for (const m of modifications) {
        if (m.op !== 'delete') continue;
        const gone =
          m.entity === 'product' ? (['products', 'stock'] as Collection[]) : [COLLECTION_OF.get(m.entity)].filter((c): c is Collection => c !== undefined);
        for (const collection of gone) {
          if (put.has(`${collection}/${m.identifier}`)) continue;
          delete (doc[collection] as Record<string, unknown>)[m.identifier];
          touched.push({ collection, id: m.identifier, item: undefined });
        }
      }
      doc.version = version;
      if (upstream) doc.upstream = upstream;
      else delete doc.upstream;
      rows.refreshed(touched, version, upstream);
    },
  };
}

/**
 * The articles as rows: a round writes the rows that changed since the last committed round
 * (upserted) or went away (deleted), never the whole catalogue, plus articles_state when the
 * version or the upstream sync state moved. A row changed when its object is not the one last
 * written (the catalogue replaces an article on every write) or when a change-feed entry names it
 * (a stock adjustment changes its level in place). Rows are serialised when the round starts.
 */
export class ArticleRows implements RoundPart {
  private dirty = false;
  /** Rows named by change-feed entries since the last round, with the entry's version. */
  private named = new Map<Collection, Map<string, number>>();
  /** What the database holds: per collection and identifier, the object last written. */
  private readonly written = new Map<Collection, Map<string, unknown>>(ENTITIES.map(([c]) => [c, new Map()]));
  private writtenVersion = -1;
  private writtenUpstream = 'null';

  constructor(private readonly doc: () => ArticlesData) {}

  /** The rows just loaded are what the database holds. */
  loaded(doc: ArticlesData): void {
    for (const [collection] of ENTITIES) {
      const written = this.written.get(collection)!;
      written.clear();
      for (const [id, item] of Object.entries(doc[collection])) written.set(id, item);
    }
    this.writtenVersion = doc.version;
    this.writtenUpstream = jsonText(doc.upstream);
  }

  mark(): void {
    this.dirty = true;
  }

  get pending(): boolean {
    return this.dirty;
  }

  drop(): void {
    this.dirty = false;
    this.named = new Map();
  }

  /** A refresh put these rows (read from the database) into the document: they are written already. */
  refreshed(rows: { collection: Collection; id: string; item: unknown | undefined }[], version: number, upstream: ArticlesData['upstream']): void {
    for (const { collection, id, item } of rows) {
      if (item === undefined) this.written.get(collection)!.delete(id);
      else this.written.get(collection)!.set(id, item);
    }
    this.writtenVersion = version;
    this.writtenUpstream = jsonText(upstream);
  }

  noteChange(m: Modification): void {
    const collection = COLLECTION_OF.get(m.entity);
    if (!collection) return;
    let ids = this.named.get(collection);
    if (!ids) this.named.set(collection, (ids = new Map()));
    ids.set(m.identifier, Math.max(ids.get(m.identifier) ?? 0, m.version));
    // A product's deletion takes its stock level with it.
    if (m.entity === 'product' && m.op === 'delete') this.noteChange({ ...m, entity: 'stock' });
  }

  take(): TakenWrites | null {
    if (!this.dirty) return null;
    this.dirty = false;
    const doc = this.doc();
    const named = this.named;
    this.named = new Map();
    const at = new Date().toISOString();
    const upserts: unknown[][] = [];
    const deletes: [ArticleEntity, string][] = [];
    const done: (() => void)[] = [];
    for (const [collection, entity] of ENTITIES) {
      const map = doc[collection] as Record<string, unknown>;
      const written = this.written.get(collection)!;
      const names = named.get(collection);
      for (const [id, item] of Object.entries(map)) {
        if (written.get(id) === item && !names?.has(id)) continue;
        upserts.push(articleRow(entity, id, item, names?.get(id) ?? doc.version, at));
        done.push(() => written.set(id, item));
      }
      for (const id of written.keys()) {
        if (Object.hasOwn(map, id)) continue;
        deletes.push([entity, textValue(id) ?? '']);
        done.push(() => written.delete(id));
      }
    }
    const version = doc.version;
    const upstream = jsonText(doc.upstream);
    const stateChanged = version !== this.writtenVersion || upstream !== this.writtenUpstream;
    if (upserts.length === 0 && deletes.length === 0 && !stateChanged) return null;
    return {
      write: async (client: pg.PoolClient) => {
        if (deletes.length > 0) {
          await client.query('DELETE FROM article_rows WHERE (entity, identifier) IN (SELECT * FROM unnest($1::text[], $2::text[]))', [
            deletes.map(([e]) => e),
            deletes.map(([, id]) => id),
          ]);
        }
        await insertRows(client, 'article_rows', ARTICLE_COLUMNS, upserts, ['entity', 'identifier']);
        if (stateChanged) {
          await client.query(
            `INSERT INTO articles_state (id, version, upstream, saved_at) VALUES (true, $1, $2::json, now())
            ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, upstream = EXCLUDED.upstream, saved_at = EXCLUDED.saved_at`,
            [version, upstream],
          );
          // Never backwards: a round that failed after setval (sequences ignore rollbacks) may have moved it further.
          await client.query(
            `SELECT setval('article_versions', $1) FROM article_versions
            WHERE $1 > CASE WHEN is_called THEN last_value ELSE -1 END`,
            [version],
          );
        }
        return [];
      },
      committed: () => {
        for (const d of done) d();
        this.writtenVersion = version;
        this.writtenUpstream = upstream;
      },
      failed: () => {
        this.dirty = true;
        for (const [collection, ids] of named) {
          for (const [id, v] of ids)
            this.noteChange({ entity: ENTITIES.find(([c]) => c === collection)![1], identifier: id, version: v, op: 'update', data: null, at });
        }
      },
    };
  }
}
