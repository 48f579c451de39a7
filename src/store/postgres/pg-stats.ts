import type pg from 'pg';
import type { DateRange, ItemSums, StatsBucket, StatsStore } from '../../domain/ports/back-office-store.js';
import { figuresFromJson, figuresToJson, itemsFromJson, itemsToJson, type FiguresJson, type ItemFiguresJson } from '../../domain/figures-json.js';
import { applyToItems, Figures, ItemFigures, type ChangeFacts } from '../../domain/reports.js';
import { dateOf } from '../../domain/stats.js';
import { insertRows, type RoundPart, type TakenWrites } from './commit-queue.js';
import type { PgStore } from './pg-store.js';
import { textValue } from './sql-values.js';

interface Bucket {
  date: string;
  register: string;
  figures: Figures;
  products: Map<string, ItemFigures>;
  categories: Map<string, ItemFigures>;
}

interface BucketRow {
  received_on: string;
  cash_register: string;
  figures: FiguresJson;
  products: Record<string, ItemFiguresJson>;
  categories: Record<string, ItemFiguresJson>;
}

class ItemMap implements ItemSums {
  constructor(readonly items: Map<string, ItemFigures>) {}

  mergeInto(out: Map<string, ItemFigures>): void {
    mergeItemMaps(out, this.items);
  }
}

function mergeItemMaps(out: Map<string, ItemFigures>, from: Map<string, ItemFigures>): void {
  for (const [key, it] of from) {
    let mine = out.get(key);
    if (!mine) out.set(key, (mine = new ItemFigures()));
    mine.merge(it);
  }
}

const emptyBucket = (date: string, register: string): Bucket => ({ date, register, figures: new Figures(), products: new Map(), categories: new Map() });

const bucketOf = (row: BucketRow): Bucket => ({
  date: row.received_on,
  register: row.cash_register,
  figures: figuresFromJson(row.figures),
  products: itemsFromJson(row.products),
  categories: itemsFromJson(row.categories),
});

const keyOf = (date: string, register: string) => `${date}\u0000${register}`;

/**
 * Stats buckets on PostgreSQL (stats_buckets): what the changes since the last round added to each
 * bucket is kept here (a delta: small, whatever the history) and added to the stored row in the
 * next round's transaction, so the row moves with the sale changes it counts. Queries read the rows of
 * their range; the sales of a period come from the sales table (received_at).
 */
export class PgStats implements StatsStore, RoundPart {
  private pending = new Map<string, Bucket>();

  constructor(private readonly store: PgStore) {}

  apply(at: string, register: string, change: ChangeFacts): void {
    const b = this.delta(dateOf(at), register);
    b.figures.apply(change);
    applyToItems(b.products, change, (line) => line.product);
    applyToItems(b.categories, change, (line) => change.factsOf(line).category);
  }

  /** The sales table answers which sales were first received when. */
  addSale(): void {}

  async select(range: DateRange, register?: string): Promise<StatsBucket[]> {
    // What this process queued is committed first (a read is not on the push path).
    await this.store.commit();
    const { rows } = await this.store.pool.query<BucketRow>(
      `SELECT to_char(received_on, 'YYYY-MM-DD') AS received_on, cash_register, figures, products, categories FROM stats_buckets
        WHERE ($1::date IS NULL OR received_on >= $1::date) AND ($2::date IS NULL OR received_on < $2::date)
          AND ($3::text IS NULL OR cash_register = $3)
        ORDER BY received_on, cash_register`,
      [range.from ?? null, range.to ?? null, register === undefined ? null : textValue(register)],
    );
    return rows.map((row) => {
      const b = bucketOf(row);
      return { ...b, products: new ItemMap(b.products), categories: new ItemMap(b.categories) };
    });
  }

  async saleIds(range: DateRange, register?: string): Promise<string[]> {
    await this.store.commit();
    const { rows } = await this.store.pool.query<{ identifier: string }>(
      `SELECT identifier FROM sales
        WHERE ($1::timestamptz IS NULL OR received_at >= $1::timestamptz) AND ($2::timestamptz IS NULL OR received_at < $2::timestamptz)
          AND ($3::text IS NULL OR cash_register = $3)
        ORDER BY seq`,
      [
        range.from === undefined ? null : `${range.from}T00:00:00Z`,
        range.to === undefined ? null : `${range.to}T00:00:00Z`,
        register === undefined ? null : textValue(register),
      ],
    );
    return rows.map((r) => r.identifier);
  }

  take(): TakenWrites | null {
    if (this.pending.size === 0) return null;
    const taken = [...this.pending.values()];
    this.pending = new Map();
    return {
      write: (client) => this.write(client, taken),
      committed: () => undefined,
      // Sums commute: what the failed round took joins what came since.
      failed: () => {
        for (const d of taken) addInto(this.delta(d.date, d.register), d);
      },
    };
  }

  private async write(client: pg.PoolClient, deltas: Bucket[]): Promise<void> {
    const dates = deltas.map((d) => d.date);
    const registers = deltas.map((d) => textValue(d.register) ?? '');
    const { rows } = await client.query<BucketRow>(
      `SELECT to_char(received_on, 'YYYY-MM-DD') AS received_on, cash_register, figures, products, categories FROM stats_buckets
        WHERE (received_on, cash_register) IN (SELECT * FROM unnest($1::date[], $2::text[])) FOR UPDATE`,
      [dates, registers],
    );
    const stored = new Map(rows.map((row) => [keyOf(row.received_on, row.cash_register), row]));
    const out = deltas.map((d, i) => {
      const row = stored.get(keyOf(d.date, registers[i]));
      const b = row ? bucketOf(row) : emptyBucket(d.date, d.register);
      addInto(b, d);
      return [
        d.date,
        registers[i],
        JSON.stringify(figuresToJson(b.figures)),
        JSON.stringify(itemsToJson(b.products)),
        JSON.stringify(itemsToJson(b.categories)),
      ];
    });
    await insertRows(
      client,
      'stats_buckets',
      [
        ['received_on', 'date'],
        ['cash_register', 'text'],
        ['figures', 'json'],
        ['products', 'json'],
        ['categories', 'json'],
      ],
      out,
      ['received_on', 'cash_register'],
    );
  }

  private delta(date: string, register: string): Bucket {
    const key = keyOf(date, register);
    let b = this.pending.get(key);
    if (!b) this.pending.set(key, (b = emptyBucket(date, register)));
    return b;
  }
}

function addInto(b: Bucket, d: Bucket): void {
  b.figures.merge(d.figures);
  mergeItemMaps(b.products, d.products);
  mergeItemMaps(b.categories, d.categories);
}
