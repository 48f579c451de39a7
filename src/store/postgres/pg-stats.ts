import type pg from 'pg';
import type { DateRange, ItemSums, StatsBucket, StatsStore } from '../../domain/ports/back-office-store.js';
import { Exact } from '../../domain/exact.js';
import { NotDurableError } from '../../domain/ports/unit-of-work.js';
import { figuresFromJson, figuresToJson, type FiguresJson } from '../../domain/figures-json.js';
import { applyToItems, Figures, ItemFigures, type ChangeFacts } from '../../domain/reports.js';
import { insertPiece, type Piece, type RoundPart, type TakenWrites } from './commit-queue.js';
import type { PgStore } from './pg-store.js';
import { prepared } from './prepared.js';
import { textValue } from './sql-values.js';

type ItemKind = 'product' | 'category';

interface Bucket {
  date: string;
  register: string;
  figures: Figures;
  items: Record<ItemKind, Map<string, ItemFigures>>;
}

interface ItemRow {
  received_on: string;
  cash_register: string;
  kind: ItemKind;
  item: string;
  name: string;
  sale_count: string;
  reversal_count: string;
  quantity: string;
  gross: string;
  vat: string;
  cost: string;
}

class ItemMap implements ItemSums {
  readonly items = new Map<string, ItemFigures>();

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

const emptyBucket = (date: string, register: string): Bucket => ({
  date,
  register,
  figures: new Figures(),
  items: { product: new Map(), category: new Map() },
});

/** A calendar date PostgreSQL stores (YYYY-MM-DD, year 1 to 9999). */
function isSqlDate(date: string): boolean {
  const ms = Date.parse(`${date}T00:00:00Z`);
  return /^(?!0000)\d{4}-\d{2}-\d{2}$/.test(date) && !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(date);
}
const keyOf = (date: string, register: string) => `${date}\u0000${register}`;
/** Buckets whose figures are kept as last written (a few per register and day in use). */
const MAX_KNOWN = 1_000;
const exact = (numeric: string) => new Exact().add(Exact.of(numeric));
const ITEM_SUMS = ['quantity', 'gross', 'vat', 'cost'] as const;
const DATE = "to_char(received_on, 'YYYY-MM-DD') AS received_on";
const IN_RANGE = `($1::date IS NULL OR received_on >= $1::date) AND ($2::date IS NULL OR received_on < $2::date) AND ($3::text IS NULL OR cash_register = $3)`;

/**
 * Stats on PostgreSQL: per (date of receipt in the shop's time zone, register) a `stats_buckets` row (its figures) and
 * `stats_items` rows (per product and per category). What the changes since the last round added
 * is kept here (a delta: small, whatever the history) and added to the rows in the next round's
 * transaction: item sums in place (numeric, exact), the bucket's figures read, added to and
 * written back. Queries read the rows of their range; the sales of a period come from `sales`.
 */
export class PgStats implements StatsStore, RoundPart {
  private queued = new Map<string, Bucket>();
  /** The figures of the buckets this process last wrote, and store.othersWrote then. */
  private readonly known = new Map<string, { figures: FiguresJson; since: number }>();

  constructor(private readonly store: PgStore) {}

  get pending(): boolean {
    return this.queued.size > 0;
  }

  drop(): void {
    this.queued.clear();
  }

  apply(date: string, register: string, change: ChangeFacts): void {
    // A date PostgreSQL cannot store would fail every round after it: such a change counts in no bucket.
    if (!isSqlDate(date)) return;
    const b = this.delta(date, register);
    b.figures.apply(change);
    applyToItems(b.items.product, change, (line) => line.product);
    applyToItems(b.items.category, change, (line) => change.factsOf(line).category);
  }

  /** The sales table answers which sales were first received when (received_at). */
  addSale(): void {}

  async select(range: DateRange, register?: string): Promise<StatsBucket[]> {
    await this.committed();
    const params = [range.from ?? null, range.to ?? null, register === undefined ? null : textValue(register)];
    const buckets = await this.store.pool.query<{ received_on: string; cash_register: string; figures: FiguresJson }>(
      `SELECT ${DATE}, cash_register, figures FROM stats_buckets WHERE ${IN_RANGE} ORDER BY received_on, cash_register`,
      params,
    );
    const out = new Map<string, StatsBucket & { products: ItemMap; categories: ItemMap }>();
    for (const row of buckets.rows) {
      const b = {
        date: row.received_on,
        register: row.cash_register,
        figures: figuresFromJson(row.figures),
        products: new ItemMap(),
        categories: new ItemMap(),
      };
      out.set(keyOf(b.date, b.register), b);
    }
    const items = await this.store.pool.query<ItemRow>(
      `SELECT ${DATE}, cash_register, kind, item, name, sale_count::text, reversal_count::text, quantity::text, gross::text, vat::text, cost::text
         FROM stats_items WHERE ${IN_RANGE}`,
      params,
    );
    for (const row of items.rows) {
      const b = out.get(keyOf(row.received_on, row.cash_register));
      if (!b) continue;
      const it = new ItemFigures();
      it.name = row.name;
      it.saleCount = Number(row.sale_count);
      it.reversalCount = Number(row.reversal_count);
      for (const k of ITEM_SUMS) it[k].add(exact(row[k]));
      (row.kind === 'product' ? b.products : b.categories).items.set(row.item, it);
    }
    return [...out.values()];
  }

  /**
   * A sale counts on the date its first change was dated when received (statsDate, else the UTC
   * date): the index narrows to the instants that date can cover in any zone (UTC−12 to UTC+14).
   */
  async saleIds(range: DateRange, register?: string): Promise<string[]> {
    await this.committed();
    const receivedOn = `COALESCE(record->'history'->0->>'statsDate', to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'))`;
    const { rows } = await this.store.pool.query<{ identifier: string }>(
      `SELECT identifier FROM sales
        WHERE ($1::timestamptz IS NULL OR (received_at >= $1::timestamptz - interval '14 hours' AND ${receivedOn} >= $4::text))
          AND ($2::timestamptz IS NULL OR (received_at < $2::timestamptz + interval '12 hours' AND ${receivedOn} < $5::text))
          AND ($3::text IS NULL OR cash_register = $3)
        ORDER BY seq`,
      [
        range.from === undefined ? null : `${range.from}T00:00:00Z`,
        range.to === undefined ? null : `${range.to}T00:00:00Z`,
        register === undefined ? null : textValue(register),
        range.from ?? null,
        range.to ?? null,
      ],
    );
    return rows.map((r) => r.identifier);
  }

  /** What this process queued is committed before a read (reads are not on the push path). */
  private async committed(): Promise<void> {
    try {
      await this.store.commit();
    } catch (err) {
      throw new NotDurableError(err);
    }
  }

  take(): TakenWrites | null {
    if (this.queued.size === 0) return null;
    const taken = [...this.queued.values()];
    this.queued = new Map();
    const written = new Map<string, FiguresJson>();
    // As the round begins: a refresh during the round leaves what it wrote unknown.
    const since = this.store.othersWrote;
    return {
      write: (client) => this.write(client, taken, written),
      committed: () => {
        if (this.known.size + written.size > MAX_KNOWN) this.known.clear();
        for (const [key, figures] of written) this.known.set(key, { figures, since });
      },
      // Sums commute: what the failed round took joins what came since. What it wrote is unknown now.
      failed: () => {
        for (const d of taken) addInto(this.delta(d.date, d.register), d);
        for (const key of written.keys()) this.known.delete(key);
      },
    };
  }

  /**
   * The buckets' stored figures: as this process last wrote them while nobody else may have written
   * since (only the holder of the write lease writes, and a process that takes it catches up with
   * the others' writes first: store.othersWrote), else read (and locked) in one statement. The
   * pieces add to them and to their item rows; `written` gets the figures the round writes.
   */
  private async write(client: pg.PoolClient, deltas: Bucket[], written: Map<string, FiguresJson>): Promise<Piece[]> {
    const registers = deltas.map((d) => textValue(d.register) ?? '');
    const keys = deltas.map((d, i) => keyOf(d.date, registers[i]));
    const stored = new Map<string, FiguresJson | undefined>();
    for (const key of keys) {
      const known = this.known.get(key);
      if (known?.since === this.store.othersWrote) stored.set(key, known.figures);
    }
    const unknown = deltas.filter((_, i) => !stored.has(keys[i]));
    if (unknown.length > 0) {
      const { rows } = await prepared<{ received_on: string; cash_register: string; figures: FiguresJson }>(
        client,
        `SELECT ${DATE}, cash_register, figures FROM stats_buckets
          WHERE (received_on, cash_register) IN (SELECT * FROM unnest($1::date[], $2::text[])) FOR UPDATE`,
        [unknown.map((d) => d.date), unknown.map((d) => textValue(d.register) ?? '')],
      );
      for (const key of keys) if (!stored.has(key)) stored.set(key, undefined);
      for (const row of rows) stored.set(keyOf(row.received_on, row.cash_register), row.figures);
    }
    const figures = deltas.map((d, i) => {
      const json = stored.get(keys[i]);
      const f = json ? figuresFromJson(json) : new Figures();
      f.merge(d.figures);
      const merged = figuresToJson(f);
      written.set(keys[i], merged);
      return [d.date, registers[i], JSON.stringify(merged)];
    });
    const pieces = insertPiece(
      'stats_buckets',
      [
        ['received_on', 'date'],
        ['cash_register', 'text'],
        ['figures', 'json'],
      ],
      figures,
      ['received_on', 'cash_register'],
    );
    const items: unknown[][] = [];
    deltas.forEach((d, i) => {
      for (const kind of ['product', 'category'] as const)
        for (const [item, it] of d.items[kind])
          items.push([
            d.date,
            registers[i],
            kind,
            textValue(item) ?? '',
            textValue(it.name) ?? '',
            it.saleCount,
            it.reversalCount,
            ...ITEM_SUMS.map((k) => it[k].toString()),
          ]);
    });
    if (items.length === 0) return pieces;
    const columns = ['received_on', 'cash_register', 'kind', 'item', 'name', 'sale_count', 'reversal_count', ...ITEM_SUMS];
    const types = ['date', 'text', 'text', 'text', 'text', 'bigint', 'bigint', 'numeric', 'numeric', 'numeric', 'numeric'];
    const added = ['sale_count', 'reversal_count', ...ITEM_SUMS].map((c) => `${c} = t.${c} + EXCLUDED.${c}`).join(', ');
    pieces.push({
      sql: `INSERT INTO stats_items AS t (${columns.join(', ')})
       SELECT * FROM unnest(${types.map((type, i) => `$${i + 1}::${type}[]`).join(', ')})
       ON CONFLICT (received_on, cash_register, kind, item) DO UPDATE SET
         name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE t.name END, ${added}`,
      params: columns.map((_, c) => items.map((row) => row[c])),
    });
    return pieces;
  }

  private delta(date: string, register: string): Bucket {
    const key = keyOf(date, register);
    let b = this.queued.get(key);
    if (!b) this.queued.set(key, (b = emptyBucket(date, register)));
    return b;
  }
}

function addInto(b: Bucket, d: Bucket): void {
  b.figures.merge(d.figures);
  mergeItemMaps(b.items.product, d.items.product);
  mergeItemMaps(b.items.category, d.items.category);
}
