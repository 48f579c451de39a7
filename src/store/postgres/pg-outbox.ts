import type { OutboxStorage } from '../outbox-port.js';
import type { OutboxItem, OutboxState } from '../outbox-store.js';
import type pg from 'pg';
import { PendingDoc, PendingMap } from './commit-queue.js';
import { notifyOutbox, OUTBOX_CHANNEL } from './outbox-notify.js';
import { prepared } from './prepared.js';
import type { PgStore } from './pg-store.js';
import { jsonText, textValue } from './sql-values.js';

const keyOf = (item: OutboxItem) => `${item.target}\u0001${item.key}`;

interface Written {
  item: OutboxItem;
  /** An update of a stored item (else a new item, kept if one is stored under its key already). */
  replace: boolean;
}

export async function writeItems(client: pg.PoolClient, items: OutboxItem[], onConflict: string): Promise<void> {
  if (items.length === 0) return;
  await prepared(
    client,
    `INSERT INTO outbox (target, key, cash_register, seq, dead, dismissed, next_attempt_at, item)
    SELECT u.target, u.key, u.cash_register, u.seq, u.dead, u.dismissed, u.next_attempt_at, u.item
    FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::boolean[], $6::boolean[], $7::timestamptz[], $8::json[]) WITH ORDINALITY
      AS u(target, key, cash_register, seq, dead, dismissed, next_attempt_at, item, ord)
    ORDER BY u.ord
    ON CONFLICT (target, key) DO ${onConflict}`,
    [
      items.map((i) => textValue(i.target)),
      items.map((i) => textValue(i.key)),
      items.map((i) => textValue(i.cashRegisterName) ?? ''),
      items.map((i) => i.seq),
      items.map((i) => i.dead !== undefined),
      items.map((i) => i.dismissed !== undefined),
      items.map((i) => (i.dead === undefined ? i.nextAttemptAt : null)),
      items.map((i) => jsonText(i)),
    ],
  );
}

/** The outbox on PostgreSQL: one row per pending item or dead letter (delivered items are deleted), in the sales store's commit rounds. */
export class PgOutboxStore implements OutboxStorage {
  private stateDoc: OutboxState = { targets: {} };
  private readonly rows: PendingMap<Written | null>;
  private readonly stateDocPart: PendingDoc;
  private readonly writtenBy = new WeakMap<OutboxItem, number>();
  private readonly removed = new WeakSet<OutboxItem>();

  constructor(private readonly store: PgStore) {
    this.rows = new PendingMap(async (client, entries) => {
      const gone = entries.filter(([, w]) => w === null).map(([k]) => k.split('\u0001'));
      if (gone.length > 0) {
        await client.query('DELETE FROM outbox WHERE (target, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))', [
          gone.map((g) => textValue(g[0])),
          gone.map((g) => textValue(g[1])),
        ]);
      }
      const live = entries.map(([, w]) => w).filter((w): w is Written => w !== null);
      // A new item never overwrites a stored one (that a worker may hold, or an admin retried); an update does.
      await writeItems(
        client,
        live.filter((w) => !w.replace).map((w) => w.item),
        'NOTHING',
      );
      await writeItems(
        client,
        live.filter((w) => w.replace).map((w) => w.item),
        'UPDATE SET cash_register = EXCLUDED.cash_register, seq = EXCLUDED.seq, dead = EXCLUDED.dead, dismissed = EXCLUDED.dismissed, next_attempt_at = EXCLUDED.next_attempt_at, item = EXCLUDED.item',
      );
      // Delivered with the commit (never for a round that rolls back): every process's workers look at once.
      await notifyOutbox(
        client,
        live.filter((w) => w.item.dead === undefined).map((w) => w.item.target),
        store.pool.names.channel(OUTBOX_CHANNEL),
      );
      return [];
    });
    this.stateDocPart = new PendingDoc(
      () => jsonText(this.stateDoc),
      async (_client, json) => [
        { sql: 'INSERT INTO outbox_state (id, doc) VALUES (true, $1::json) ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc', params: [json] },
      ],
    );
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
    this.rows.set(keyOf(item), { item, replace: false });
    this.writtenBy.set(item, this.store.commitQueue.roundsStarted + 1);
  }

  update(item: OutboxItem): void {
    if (this.removed.has(item)) return;
    this.rows.set(keyOf(item), { item, replace: true });
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
