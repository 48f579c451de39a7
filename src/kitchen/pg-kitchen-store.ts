import { insertRows, PendingList, PendingMap } from '../store/postgres/commit-queue.js';
import type { PgStore } from '../store/postgres/pg-store.js';
import { jsonText, textValue, timeValue } from '../store/postgres/sql-values.js';
import type { KitchenStore } from './store.js';
import type { KitchenJournalEntry, KitchenOrder, KitchenState } from './types.js';

const PAGE = 2000;

/** Kitchen orders and their journal on PostgreSQL (migration 0005), in the sales store's transactions. */
export class PgKitchenStore implements KitchenStore {
  private readonly orders: PendingMap<KitchenOrder>;
  private readonly journalRows: PendingList<unknown[]>;

  constructor(private readonly store: PgStore) {
    this.orders = new PendingMap(async (client, entries) =>
      insertRows(
        client,
        'kitchen_orders',
        [
          ['id', 'bigint'],
          ['seq', 'bigint'],
          ['received_at', 'timestamptz'],
          ['state', 'text'],
          ['source', 'text'],
          ['table_name', 'text'],
          ['order_doc', 'json'],
        ],
        entries.map(([, o]) => [Number(o.id), o.seq, timeValue(o.receivedAt), o.state, textValue(o.source) ?? '', textValue(o.table), jsonText(o)]),
        ['id'],
      ),
    );
    this.journalRows = new PendingList(async (client, rows) =>
      insertRows(
        client,
        'kitchen_journal',
        [
          ['received_at', 'timestamptz'],
          ['source', 'text'],
          ['order_id', 'bigint'],
          ['body', 'bytea'],
        ],
        rows,
      ),
    );
    store.join(this.orders);
    store.join(this.journalRows);
  }

  /** Index columns of every row; the whole record of pinned ones only: memory does not grow with history. */
  async load(visit: Parameters<KitchenStore['load']>[0]): Promise<void> {
    let last = 0;
    for (;;) {
      const { rows } = await this.store.pool.query<{ id: string; seq: string; received_at: Date; state: KitchenState; order_doc: KitchenOrder | null }>(
        `SELECT id, seq, received_at, state,
           CASE WHEN state = 'open' OR json_array_length(coalesce(order_doc->'pendingHooks', '[]'::json)) > 0 THEN order_doc END AS order_doc
         FROM kitchen_orders WHERE id > $1 ORDER BY id LIMIT $2`,
        [last, PAGE],
      );
      for (const row of rows) {
        const entry = { id: String(row.id), seq: Number(row.seq), receivedAt: row.order_doc?.receivedAt ?? row.received_at.toISOString(), state: row.state };
        visit(entry, row.order_doc);
      }
      if (rows.length < PAGE) return;
      last = Number(rows[rows.length - 1].id);
    }
  }

  async get(id: string): Promise<KitchenOrder | undefined> {
    const pending = this.orders.get(id);
    if (pending) return pending;
    if (!/^\d{1,15}$/.test(id)) return undefined;
    const { rows } = await this.store.pool.query<{ order_doc: KitchenOrder }>('SELECT order_doc FROM kitchen_orders WHERE id = $1', [Number(id)]);
    // A round may have committed it between the two looks.
    return this.orders.get(id) ?? rows[0]?.order_doc;
  }

  async put(order: KitchenOrder): Promise<void> {
    this.orders.set(order.id, order);
  }

  journal(entry: KitchenJournalEntry): void {
    this.journalRows.push([timeValue(entry.at), textValue(entry.source) ?? '', Number(entry.orderId), Buffer.from(entry.raw, 'base64')]);
  }
}
