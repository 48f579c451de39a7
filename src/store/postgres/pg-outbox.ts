import type { OutboxStorage } from '../outbox-port.js';
import type { OutboxItem, OutboxState } from '../outbox-store.js';
import { insertRows, PendingDoc, PendingMap } from './commit-queue.js';
import type { PgStore } from './pg-store.js';
import { jsonText, textValue } from './sql-values.js';

const keyOf = (item: OutboxItem) => `${item.target}\u0001${item.key}`;

/** The outbox on PostgreSQL: one row per pending item or dead letter (delivered items are deleted), in the sales store's commit rounds. */
export class PgOutboxStore implements OutboxStorage {
  private stateDoc: OutboxState = { targets: {} };
  private readonly rows: PendingMap<OutboxItem | null>;
  private readonly stateDocPart: PendingDoc;
  private readonly writtenBy = new WeakMap<OutboxItem, number>();
  private readonly removed = new WeakSet<OutboxItem>();

  constructor(private readonly store: PgStore) {
    this.rows = new PendingMap(async (client, entries) => {
      const gone = entries.filter(([, item]) => item === null).map(([k]) => k.split('\u0001'));
      if (gone.length > 0) {
        await client.query('DELETE FROM outbox WHERE (target, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))', [gone.map((g) => textValue(g[0])), gone.map((g) => textValue(g[1]))]);
      }
      const live = entries.map(([, item]) => item).filter((item): item is OutboxItem => item !== null);
      await insertRows(client, 'outbox', [['target', 'text'], ['key', 'text'], ['cash_register', 'text'], ['seq', 'bigint'], ['dead', 'boolean'], ['item', 'json']],
        live.map((i) => [textValue(i.target), textValue(i.key), textValue(i.cashRegisterName) ?? '', i.seq, i.dead !== undefined, jsonText(i)]), ['target', 'key']);
    });
    this.stateDocPart = new PendingDoc(() => jsonText(this.stateDoc), async (client, json) => {
      await client.query('INSERT INTO outbox_state (id, doc) VALUES (true, $1::json) ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc', [json]);
    });
    store.join(this.rows);
    store.join(this.stateDocPart);
  }

  get state(): OutboxState {
    return this.stateDoc;
  }

  async load(): Promise<OutboxItem[]> {
    const state = await this.store.pool.query<{ doc: OutboxState }>('SELECT doc FROM outbox_state WHERE id');
    this.stateDoc = { ...(state.rows[0]?.doc ?? {}), targets: state.rows[0]?.doc?.targets ?? {} };
    const { rows } = await this.store.pool.query<{ item: OutboxItem }>('SELECT item FROM outbox ORDER BY target, cash_register, seq');
    return rows.map((r) => r.item);
  }

  add(item: OutboxItem): void {
    this.removed.delete(item);
    this.rows.set(keyOf(item), item);
    this.writtenBy.set(item, this.store.commitQueue.roundsStarted + 1);
  }

  update(item: OutboxItem): void {
    if (this.removed.has(item)) return;
    this.rows.set(keyOf(item), item);
  }

  remove(item: OutboxItem): void {
    this.removed.add(item);
    this.rows.set(keyOf(item), null);
  }

  isWritten(item: OutboxItem): boolean {
    const round = this.writtenBy.get(item);
    return round === undefined || this.store.commitQueue.durableThrough >= round;
  }

  saveState(): void {
    this.stateDocPart.mark();
  }

  async prepare(): Promise<void> {
    // Nothing to create: every target shares the outbox table.
  }
}
