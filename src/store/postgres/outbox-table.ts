import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { LEASE_LOCK_FEATURE, WRITER_SCHEMA } from './connection.js';
import type { OutboxItem } from '../outbox-store.js';
import { OUTBOX_CHANNEL } from './outbox-notify.js';
import { namesOf, type PgPool } from './schema-names.js';
import { jsonText, textValue } from './sql-values.js';

/** Who holds a claim: this host and process, and a random part (one per worker: a pid may come back after a restart). */
export const workerId = () => `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

/** An item this worker claimed: its row id and the item as stored. */
export interface ClaimedItem {
  id: string;
  item: OutboxItem;
}

/** Per target and register: pending items, the head (oldest pending change), open dead letters. */
export interface OutboxTableSummary {
  target: string;
  register: string;
  depth: number;
  head: OutboxItem | undefined;
  deadLetters: number;
}

/**
 * Claims due items: the head of every register (no earlier pending item of the same target and
 * register, claimed or not), not waiting for a backoff, not under someone else's live lease.
 * Rows locked by a concurrent claim are skipped, not waited for; the outer UPDATE stamps the claim.
 */
export const CLAIM_SQL = `UPDATE outbox SET claimed_by = $2, lease_until = now() + make_interval(secs => $3::double precision / 1000)
WHERE id IN (
  SELECT h.id FROM outbox h
  WHERE h.target = $1 AND NOT h.dead
    AND (h.next_attempt_at IS NULL OR h.next_attempt_at <= now())
    AND (h.lease_until IS NULL OR h.lease_until <= now())
    AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.target = h.target AND e.cash_register = h.cash_register AND NOT e.dead AND (e.seq, e.id) < (h.seq, h.id))
  ORDER BY h.seq, h.id
  LIMIT $4
  FOR UPDATE SKIP LOCKED)
RETURNING id::text AS id, item`;

/** How long until a register head of the target becomes claimable (backoff or lease); null when nothing is pending. */
// GREATEST skips NULLs: without the CASE an empty outbox would read as "due now" (0), and idle workers would spin.
const WAIT_SQL = `SELECT CASE WHEN count(*) = 0 THEN NULL
  ELSE GREATEST(0, EXTRACT(EPOCH FROM (min(GREATEST(COALESCE(h.next_attempt_at, now()), COALESCE(h.lease_until, now()))) - now())) * 1000)::double precision END AS wait_ms
FROM outbox h
WHERE h.target = $1 AND NOT h.dead
  AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.target = h.target AND e.cash_register = h.cash_register AND NOT e.dead AND (e.seq, e.id) < (h.seq, h.id))`;

/**
 * The outbox table as delivery workers use it (PostgreSQL, schema 8): claims with a lease, and
 * settlements that only take effect while the claim is still this worker's (`claimed_by`), so a
 * worker whose lease expired (frozen, killed, cut off) can never undo another's delivery.
 * Dead-letter handling and the figures read and write the table directly: every process sees the same.
 */
/** How long a look at which kind of process last wrote the database is trusted. */
const WRITER_CHECK_MS = 2_000;

export class OutboxTable {
  private writerClaims = false;
  private checkedAt = -Infinity;
  private toldGated = false;

  constructor(
    private readonly pool: PgPool,
    readonly workerId: string,
    private readonly log: (msg: string) => void = () => undefined,
  ) {}

  /** The channel items of this table's schema are announced on (claim workers LISTEN there). */
  get channel(): string {
    return namesOf(this.pool).channel(OUTBOX_CHANNEL);
  }

  /**
   * A rolling upgrade: a process of a version that delivers its outbox from memory (it announces
   * no writer schema of 8 or more, migrations/0009) may still hold the database's lock, and
   * delivers every item itself; claiming them here would send each twice, out of order. Items
   * are claimed once the last writer said 8 or more, or nobody holds the lock any more.
   */
  private async mayClaim(): Promise<boolean> {
    if (this.writerClaims || performance.now() - this.checkedAt < WRITER_CHECK_MS) return this.writerClaims;
    this.checkedAt = performance.now();
    const { rows } = await this.pool.query<{ ok: boolean }>(
      `SELECT coalesce((SELECT writer_schema FROM gateway_leader WHERE id), $1) >= $1
        OR NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $2 AND objid = $3 AND objsubid = 2 AND granted) AS ok`,
      [WRITER_SCHEMA, ...namesOf(this.pool).lock(LEASE_LOCK_FEATURE)],
    );
    this.writerClaims = rows[0].ok;
    if (!this.writerClaims && !this.toldGated) {
      this.toldGated = true;
      this.log('a process of a previous version holds the database and delivers the outbox from its memory: this one delivers nothing until it is gone');
    }
    return this.writerClaims;
  }

  async claim(target: string, limit: number, leaseMs: number): Promise<ClaimedItem[]> {
    if (!(await this.mayClaim())) return [];
    const { rows } = await this.pool.query<ClaimedItem>(CLAIM_SQL, [target, this.workerId, leaseMs, limit]);
    return rows.sort((a, b) => a.item.seq - b.item.seq);
  }

  /** Milliseconds until the next claim of the target can find something (null: nothing pending). */
  async waitMs(target: string): Promise<number | null> {
    const { rows } = await this.pool.query<{ wait_ms: number | null }>(WAIT_SQL, [target]);
    return rows[0]?.wait_ms ?? null;
  }

  /** Delivered: the item is gone. False when the claim was lost (the lease expired and another worker took it). */
  async delivered(c: ClaimedItem): Promise<boolean> {
    const res = await this.pool.query('DELETE FROM outbox WHERE id = $1 AND claimed_by = $2', [c.id, this.workerId]);
    return res.rowCount === 1;
  }

  /** A failed attempt: the item as settled (attempts, error, next attempt), claimable again after its backoff. */
  async attempted(c: ClaimedItem, item: OutboxItem): Promise<boolean> {
    const res = await this.pool.query(
      `UPDATE outbox SET item = $3::json, next_attempt_at = $4::timestamptz, claimed_by = NULL, lease_until = NULL
      WHERE id = $1 AND claimed_by = $2`,
      [c.id, this.workerId, jsonText(item), item.nextAttemptAt],
    );
    return res.rowCount === 1;
  }

  /** Refused for good: a dead letter, out of its register's way. */
  async deadLettered(c: ClaimedItem, item: OutboxItem): Promise<boolean> {
    const res = await this.pool.query(
      `UPDATE outbox SET item = $3::json, dead = true, dismissed = false, next_attempt_at = NULL, claimed_by = NULL, lease_until = NULL
      WHERE id = $1 AND claimed_by = $2`,
      [c.id, this.workerId, jsonText(item)],
    );
    return res.rowCount === 1;
  }

  /** Gives a claim back without an attempt (stopping): claimable at once by any worker. */
  async release(c: ClaimedItem): Promise<void> {
    await this.pool.query(
      `WITH r AS (UPDATE outbox SET claimed_by = NULL, lease_until = NULL WHERE id = $1 AND claimed_by = $2 RETURNING target)
      SELECT pg_notify('${this.channel}', target) FROM r`,
      [c.id, this.workerId],
    );
  }

  /** Figures per target and register. */
  async summary(): Promise<OutboxTableSummary[]> {
    const [counts, heads] = await Promise.all([
      this.pool.query<{ target: string; register: string; depth: number; dead: number }>(`SELECT target, cash_register AS register,
        (count(*) FILTER (WHERE NOT dead))::int AS depth, (count(*) FILTER (WHERE dead AND NOT dismissed))::int AS dead
        FROM outbox GROUP BY target, cash_register`),
      this.pool.query<{
        target: string;
        register: string;
        item: OutboxItem;
      }>(`SELECT DISTINCT ON (target, cash_register) target, cash_register AS register, item
        FROM outbox WHERE NOT dead ORDER BY target, cash_register, seq, id`),
    ]);
    const headOf = new Map(heads.rows.map((r) => [`${r.target}\u0001${r.register}`, r.item]));
    return counts.rows.map((r) => ({
      target: r.target,
      register: r.register,
      depth: r.depth,
      deadLetters: r.dead,
      head: headOf.get(`${r.target}\u0001${r.register}`),
    }));
  }

  /** Every dead letter, open and dismissed. */
  async deadLetters(): Promise<OutboxItem[]> {
    const { rows } = await this.pool.query<{ item: OutboxItem }>('SELECT item FROM outbox WHERE dead ORDER BY id');
    return rows.map((r) => r.item);
  }

  /** The dead letters of a sale (identifier) or of one change (key), of one target or all. */
  async deadLettersMatching(match: string, target: string | undefined, opts: { openOnly?: boolean } = {}): Promise<ClaimedItem[]> {
    const { rows } = await this.pool.query<ClaimedItem>(
      `SELECT id::text AS id, item FROM outbox
      WHERE dead AND (key = $1 OR item->>'identifier' = $1) AND ($2::text IS NULL OR target = $2) AND NOT ($3 AND dismissed) ORDER BY seq, id`,
      [textValue(match), target === undefined ? null : textValue(target), opts.openOnly === true],
    );
    return rows;
  }

  /** A dead letter back in its queue (the item already reset); false when it is no longer a dead letter. */
  async requeue(row: ClaimedItem, item: OutboxItem): Promise<boolean> {
    const res = await this.pool.query(
      `WITH r AS (UPDATE outbox SET item = $2::json, dead = false, dismissed = false, next_attempt_at = NULL, claimed_by = NULL, lease_until = NULL
      WHERE id = $1 AND dead RETURNING target)
      SELECT pg_notify('${this.channel}', target) FROM r`,
      [row.id, jsonText(item)],
    );
    return res.rowCount === 1;
  }

  /** An open dead letter dismissed (the item carries the reason); false when it is not open any more. */
  async dismiss(row: ClaimedItem, item: OutboxItem): Promise<boolean> {
    const res = await this.pool.query('UPDATE outbox SET item = $2::json, dismissed = true WHERE id = $1 AND dead AND NOT dismissed', [row.id, jsonText(item)]);
    return res.rowCount === 1;
  }

  /** The sale changes of a target still in the table (pending and dead letters). */
  async saleItems(target: string): Promise<OutboxItem[]> {
    const { rows } = await this.pool.query<{ item: OutboxItem }>(`SELECT item FROM outbox WHERE target = $1 AND item->'sale' IS NOT NULL ORDER BY seq, id`, [
      target,
    ]);
    return rows.map((r) => r.item);
  }

  /** Items stored under a target's former name move to its current one (an item already there under that key wins). */
  async rename(former: string, name: string): Promise<number> {
    const res = await this.pool.query(
      `UPDATE outbox o SET target = $2, item = (jsonb_set(o.item::jsonb, '{target}', to_jsonb($2::text)))::json
      WHERE o.target = $1 AND NOT EXISTS (SELECT 1 FROM outbox n WHERE n.target = $2 AND n.key = o.key)`,
      [former, name],
    );
    return res.rowCount ?? 0;
  }

  /** How many items each unknown target holds (targets no longer configured). */
  async orphans(known: string[]): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ target: string; n: number }>(
      'SELECT target, count(*)::int AS n FROM outbox WHERE NOT (target = ANY($1::text[])) GROUP BY target',
      [known],
    );
    return new Map(rows.map((r) => [r.target, r.n]));
  }
}
