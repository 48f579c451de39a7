import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type pg from 'pg';
import { OutboxListener } from '../store/postgres/outbox-notify.js';
import { namesOf, type PgPool } from '../store/postgres/schema-names.js';
import { jsonText, textValue, timeValue } from '../store/postgres/sql-values.js';
import type { KitchenChange, OrderQuery } from './kitchen.js';
import { publishTo } from './memory-orders.js';
import type { KitchenOrders, OrderChange } from './orders.js';
import { viewOf, type KitchenJournalEntry, type KitchenOrder } from './types.js';

/** Announces committed kitchen changes to every process (payload: the seq). */
export const KITCHEN_CHANNEL = 'tabshop_kitchen';
/**
 * The transaction-scoped advisory lock every seq-taking kitchen change holds: seqs are taken
 * and committed one after the other, so a reader that saw seq n has seen every seq below it.
 */
const WRITE_LOCK_FEATURE = 15;
/** How often screens catch up by polling while the LISTEN connection is down. */
const POLL_MS = 2000;
/** How soon a new order that could not be stored is tried again. */
const RETRY_MS = 1000;
const PAGE = 500;

/**
 * The next seq: from the sequence, and past every stored one (rows written by a gateway older than
 * schema version 15, or copied by migrate-store, did not take theirs from it). Under the write lock (feature WRITE_LOCK_FEATURE of the schema, schema-names.ts).
 */
const NEXT_SEQ = "setval('kitchen_seqs', greatest(nextval('kitchen_seqs'), (SELECT coalesce(max(seq), 0) + 1 FROM kitchen_orders)))";
const NEXT_ID_AND_SEQ = `SELECT setval('kitchen_order_ids', greatest(nextval('kitchen_order_ids'), (SELECT coalesce(max(id), 0) + 1 FROM kitchen_orders))) AS id, ${NEXT_SEQ} AS seq`;
const ORDER_COLUMNS = 'id, seq, received_at, state, source, table_name, order_doc, hooks_pending';
const hooksPending = (o: KitchenOrder) => (o.pendingHooks?.length ?? 0) > 0;
const row = (o: KitchenOrder) => [
  Number(o.id),
  o.seq,
  timeValue(o.receivedAt),
  o.state,
  textValue(o.source) ?? '',
  textValue(o.table),
  jsonText(o),
  hooksPending(o),
];
const validId = (id: string) => /^\d{1,15}$/.test(id);

export interface PgKitchenOrdersDeps {
  pool: PgPool;
  /** For the LISTEN connection. */
  url: string;
  logger: Logger;
  /** Tests shorten it. */
  pollMs?: number;
}

/**
 * The kitchen's orders on PostgreSQL (migrations 0005, 0015), shared by every process on the
 * database: nothing of the history is held in memory. A new order, a done or a reopen is one
 * transaction that takes its seq under the kitchen's write lock, decides on the row locked FOR
 * UPDATE and NOTIFYs; every process LISTENs and tells its live screens every change after the
 * last seq they were told, read back from the table in seq order.
 */
export class PgKitchenOrders implements KitchenOrders {
  private readonly listeners = new Set<(change: KitchenChange) => void>();
  /** The last seq told to this process's screens. */
  private published = 0;
  private catchingUp: Promise<number> | null = null;
  private again = false;
  private readonly notifications: OutboxListener;
  private poller: NodeJS.Timeout | null = null;
  private stopped = false;
  private writing: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: PgKitchenOrdersDeps) {
    this.notifications = new OutboxListener({
      url: deps.url,
      logger: deps.logger,
      channel: namesOf(deps.pool).channel(KITCHEN_CHANNEL),
      label: 'kitchen',
      onNotify: () => void this.catchUp().catch(() => undefined),
    });
  }

  async open(): Promise<void> {
    const { rows } = await this.deps.pool.query<{ seq: string }>('SELECT coalesce(max(seq), 0) AS seq FROM kitchen_orders');
    this.published = Number(rows[0].seq);
    this.notifications.start();
    this.poller = setInterval(() => {
      if (!this.notifications.listening && this.listeners.size > 0) void this.catchUp().catch(() => undefined);
    }, this.deps.pollMs ?? POLL_MS);
    this.poller.unref();
  }

  /**
   * While the database cannot be reached the message is tried again every second (the tablet's
   * connection stays open meanwhile, bounded by the listener's connection limit); only a stop
   * gives up on it, logging its bytes.
   */
  async add(fields: Omit<KitchenOrder, 'id' | 'seq'>, journal: Omit<KitchenJournalEntry, 'orderId'>): Promise<KitchenOrder> {
    for (let attempt = 1; ; attempt++) {
      try {
        const order = await this.transaction(async (client) => {
          await client.query('SELECT pg_advisory_xact_lock($1, $2)', namesOf(this.deps.pool).lock(WRITE_LOCK_FEATURE));
          const { rows } = await client.query<{ id: string; seq: string }>(NEXT_ID_AND_SEQ);
          const order: KitchenOrder = { id: String(rows[0].id), seq: Number(rows[0].seq), ...fields };
          await client.query(`INSERT INTO kitchen_orders (${ORDER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, row(order));
          await client.query('INSERT INTO kitchen_journal (received_at, source, order_id, body) VALUES ($1, $2, $3, $4)', [
            timeValue(journal.at),
            textValue(journal.source) ?? '',
            Number(order.id),
            Buffer.from(journal.raw, 'base64'),
          ]);
          await notify(client, namesOf(this.deps.pool).channel(KITCHEN_CHANNEL), order.seq);
          return order;
        });
        await this.catchUp().catch(() => undefined);
        return order;
      } catch (err) {
        if (this.stopped) {
          this.deps.logger.error(
            { err, ...journal },
            'kitchen message NOT stored: the gateway stopped while the database could not take it (its bytes, base64, are in this line)',
          );
          throw err;
        }
        if (attempt === 1 || attempt % 30 === 0) this.deps.logger.error({ err, attempt }, 'could not store a kitchen message; retrying every second');
        await delay(RETRY_MS);
      }
    }
  }

  async change(id: string, next: (current: KitchenOrder) => OrderChange | null): Promise<{ order: KitchenOrder; changed: boolean } | null> {
    if (!validId(id)) return null;
    const result = await this.transaction(async (client) => {
      // Lock order: the write lock, then the row (a webhook's delivery takes both too): no deadlock.
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', namesOf(this.deps.pool).lock(WRITE_LOCK_FEATURE));
      const { rows } = await client.query<{ order_doc: KitchenOrder }>('SELECT order_doc FROM kitchen_orders WHERE id = $1 FOR UPDATE', [Number(id)]);
      const current = rows[0]?.order_doc;
      if (!current) return null;
      const decided = next(current);
      if (!decided) return { order: current, changed: false };
      let order = decided.order;
      if (decided.shown) {
        const { rows: seqs } = await client.query<{ seq: string }>(`SELECT ${NEXT_SEQ} AS seq`);
        order = { ...order, seq: Number(seqs[0].seq) };
      }
      await client.query('UPDATE kitchen_orders SET seq = $2, state = $3, order_doc = $4, hooks_pending = $5 WHERE id = $1', [
        Number(id),
        order.seq,
        order.state,
        jsonText(order),
        hooksPending(order),
      ]);
      if (decided.shown) await notify(client, namesOf(this.deps.pool).channel(KITCHEN_CHANNEL), order.seq);
      return { order, changed: true };
    });
    if (result?.changed) await this.catchUp().catch(() => undefined);
    return result;
  }

  async get(id: string): Promise<KitchenOrder | undefined> {
    if (!validId(id)) return undefined;
    const { rows } = await this.deps.pool.query<{ order_doc: KitchenOrder }>('SELECT order_doc FROM kitchen_orders WHERE id = $1', [Number(id)]);
    return rows[0]?.order_doc;
  }

  async list(q: OrderQuery): Promise<{ items: KitchenOrder[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.state !== 'all') where.push(`state = $${params.push(q.state)}`);
    if (q.from) where.push(`received_at >= $${params.push(q.from)}`);
    if (q.to) where.push(`received_at < $${params.push(q.to)}`);
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [{ rows }, { rows: counted }] = await Promise.all([
      this.deps.pool.query<{ order_doc: KitchenOrder }>(
        `SELECT order_doc FROM kitchen_orders ${filter} ORDER BY id DESC OFFSET $${params.length + 1} LIMIT $${params.length + 2}`,
        [...params, q.firstResult, q.maxResults],
      ),
      this.deps.pool.query<{ total: string }>(`SELECT count(*) AS total FROM kitchen_orders ${filter}`, params),
    ]);
    return { items: rows.map((r) => r.order_doc), total: Number(counted[0].total) };
  }

  async changes(since: number | null, recall: number): Promise<{ reset: boolean; changes: KitchenChange[] }> {
    // Everything told to the screens up to here, no further: a later change reaches a stream
    // subscribed before this call live, in order.
    const upTo = await this.catchUp();
    const reset = since === null || since > upTo;
    const { rows } = reset
      ? await this.deps.pool.query<{ order_doc: KitchenOrder }>(
          `SELECT order_doc FROM (
             (SELECT seq, order_doc FROM kitchen_orders WHERE state = 'open' AND seq <= $1)
             UNION ALL
             (SELECT seq, order_doc FROM kitchen_orders WHERE state = 'done' AND seq <= $1 ORDER BY seq DESC LIMIT $2)
           ) picture ORDER BY seq`,
          [upTo, recall],
        )
      : await this.deps.pool.query<{ order_doc: KitchenOrder }>(
          `SELECT order_doc FROM kitchen_orders WHERE seq > $1 AND seq <= $2 AND state <> 'rejected' ORDER BY seq`,
          [since, upTo],
        );
    return { reset, changes: rows.map(({ order_doc: o }) => ({ seq: o.seq, order: viewOf(o) })) };
  }

  async undelivered(): Promise<KitchenOrder[]> {
    const { rows } = await this.deps.pool.query<{ order_doc: KitchenOrder }>('SELECT order_doc FROM kitchen_orders WHERE hooks_pending ORDER BY id');
    return rows.map((r) => r.order_doc);
  }

  subscribe(listener: (change: KitchenChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    this.listeners.clear();
    await this.notifications.stop();
  }

  /**
   * Tells this process's screens every committed change after the last one told, in seq order;
   * resolves with the last seq told. One read at a time; a call meanwhile reads once more after it.
   */
  private catchUp(): Promise<number> {
    if (this.catchingUp) {
      // The read under way may have started before this caller's change committed: once more.
      this.again = true;
      return this.catchingUp;
    }
    const run = (async () => {
      do {
        this.again = false;
        for (;;) {
          const { rows } = await this.deps.pool.query<{ seq: string; order_doc: KitchenOrder | null }>(
            `SELECT seq, CASE WHEN state <> 'rejected' THEN order_doc END AS order_doc
             FROM kitchen_orders WHERE seq > $1 ORDER BY seq LIMIT ${PAGE}`,
            [this.published],
          );
          for (const r of rows) {
            this.published = Number(r.seq);
            if (r.order_doc) publishTo(this.listeners, { seq: this.published, order: viewOf(r.order_doc) });
          }
          if (rows.length < PAGE) break;
        }
      } while (this.again);
      return this.published;
    })().finally(() => {
      this.catchingUp = null;
    });
    this.catchingUp = run;
    return run;
  }

  /**
   * One at a time in this process: they queue for the write lock anyway, and waiting for it on
   * pooled connections would take them from the sales (forty tablets sending at once).
   */
  private transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const run = this.writing.then(() => this.inTransaction(work));
    this.writing = run.catch(() => undefined);
    return run;
  }

  private async inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.deps.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}

const notify = (client: pg.ClientBase, channel: string, seq: number) => client.query(`SELECT pg_notify('${channel}', $1)`, [String(seq)]);

/** Orders as they are (ids and seqs kept), e.g. copied from a data dir; the next ids and seqs go past them (NEXT_SEQ). */
export async function insertKitchenOrders(client: pg.ClientBase, orders: KitchenOrder[]): Promise<void> {
  for (const o of orders)
    await client.query(
      `INSERT INTO kitchen_orders (${ORDER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, received_at = EXCLUDED.received_at, state = EXCLUDED.state,
         source = EXCLUDED.source, table_name = EXCLUDED.table_name, order_doc = EXCLUDED.order_doc, hooks_pending = EXCLUDED.hooks_pending`,
      row(o),
    );
}

/** The kitchen screen's CSRF token of the database: made by the first process that asks, read by the others. */
export async function sharedScreenToken(pool: PgPool): Promise<string> {
  await pool.query('INSERT INTO kitchen_screen (id, csrf_token) VALUES (1, $1) ON CONFLICT (id) DO NOTHING', [randomBytes(24).toString('base64url')]);
  const { rows } = await pool.query<{ csrf_token: string }>('SELECT csrf_token FROM kitchen_screen WHERE id = 1');
  return rows[0].csrf_token;
}
