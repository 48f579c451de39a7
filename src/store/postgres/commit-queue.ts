import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import type pg from 'pg';
import { deferred, type Deferred } from '../deferred.js';
import { isQueryTimeout } from './connection.js';
import { prepared } from './prepared.js';

/**
 * One data-modifying statement (`$1`… its own parameters) that a part hands to the round instead of
 * running it: the round runs every part's pieces together, as the CTEs of ONE statement.
 */
export interface Piece {
  sql: string;
  params: unknown[];
}
import type { PgPool } from './schema-names.js';

/** What one part of the store (sales, journal, back office, outbox…) puts into a commit round. */
export interface TakenWrites {
  /**
   * Runs what must come first (reads, deletes of rows written again), each statement on its own,
   * and returns the pieces: they run after every part's write, in one statement. Pieces of one
   * statement see none of each other's changes, so two pieces never write the same table's rows.
   */
  write(client: pg.PoolClient): Promise<Piece[]>;
  /** The round committed. */
  committed(): void;
  /** The round failed: keep the writes for the next one (unless something newer replaced them). */
  failed(): void;
}

export interface RoundPart {
  /** Synchronously moves what is pending into the starting round; null when nothing is pending. */
  take(): TakenWrites | null;
  /** Forgets what is pending (another process wrote since it was queued: the caches are reloaded instead). */
  drop(): void;
  /** Something waits for a round (written by a failed one, or queued since). */
  readonly pending: boolean;
}

/** How the rounds run under the write lease (PgStore). */
export interface RoundHooks {
  /** Before a round takes a connection: write access (the lease), with the function that says the round is done. */
  enter(): Promise<() => void>;
  /**
   * What starts every round's transaction, as statements of one simple query: BEGIN, and a last
   * statement that checks the lease is still held and raises the state version, returning one row
   * with `round_version`, and that FAILS when the lease is not held.
   */
  opening(): string;
  /** The row of the opening's last statement: the round's transaction is open. */
  opened(row: Record<string, unknown> | undefined): void;
  /** The error a round failed with, as the caller sees it (a lost lease is told, and forfeited). */
  failure(err: unknown): unknown;
  /** The round committed. */
  committed(): void;
}

/**
 * Group commit on PostgreSQL: callers change memory and queue their writes with the store's
 * parts, then await commit(). One round takes everything queued so far and writes it in ONE
 * transaction (one COMMIT, one WAL flush on the server), then resolves every caller that arrived
 * before the round began. Rounds run one at a time, so concurrent pushes share a COMMIT and a
 * resolved commit always means durable.
 */
export class PgCommitQueue {
  private readonly parts: RoundPart[] = [];
  private next: Deferred | null = null;
  private running = false;
  private drops = 0;
  lastError: unknown = null;
  /** Rounds that wrote something and committed. */
  rounds = 0;
  roundsStarted = 0;
  /** Everything queued before round n began is committed once durableThrough ≥ n. */
  durableThrough = 0;

  constructor(
    private readonly pool: PgPool,
    private readonly hooks: RoundHooks,
  ) {}

  register(part: RoundPart): void {
    this.parts.push(part);
  }

  get busy(): boolean {
    return this.running;
  }

  /** Something is queued or left by a failed round. */
  get pending(): boolean {
    return this.parts.some((p) => p.pending);
  }

  /** Forgets every queued write (another process wrote since: the caches are reloaded instead). */
  dropPending(): void {
    for (const p of this.parts) p.drop();
    this.lastError = null;
    this.drops++;
  }

  commit(): Promise<void> {
    if (!this.next) this.next = deferred();
    const { promise } = this.next;
    if (!this.running) void this.run();
    return promise;
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.next) {
      // A round takes its writes on a later turn of the event loop, never between two microtasks:
      // a change made of steps chained by promises (a sale stored, then what its hooks account:
      // day figures, stats) lands in one round, whole.
      await setImmediatePromise();
      const round = this.next;
      this.next = null;
      const index = ++this.roundsStarted;
      let done: (() => void) | null = null;
      let taken: TakenWrites[] = [];
      try {
        if (this.pending) {
          // Write access first: taking the lease may find that another process wrote since these
          // changes were made, and drop them (the caches are reloaded): this round then fails.
          const drops = this.drops;
          done = await this.hooks.enter();
          if (this.drops !== drops) throw new Error('another gateway process wrote since these changes were made: they were dropped, not stored');
        }
        taken = this.parts.map((p) => p.take()).filter((t): t is TakenWrites => t !== null);
        if (taken.length > 0) await this.writeHeld(taken);
        this.lastError = null;
        for (const t of taken) t.committed();
        if (taken.length > 0) this.rounds++;
        this.durableThrough = index;
        round.resolve();
      } catch (err) {
        for (const t of taken) t.failed();
        this.lastError = err;
        round.reject(err);
      } finally {
        done?.();
      }
    }
    this.running = false;
  }

  private async writeHeld(taken: TakenWrites[]): Promise<void> {
    const client = await this.pool.connect();
    let broken: unknown;
    // pg-pool listens for 'error' only while a connection is idle: the server ending this one between
    // two statements (a database shut down) must fail the round, not crash the process.
    const dropped = (err: Error) => {
      broken = err;
    };
    client.on('error', dropped);
    try {
      this.hooks.opened(roundRow(await client.query(this.hooks.opening())));
      // In part order (the journal first, then sales, quarantine, articles, back office, outbox),
      // what must come first; then every part's pieces at once, in one statement.
      const pieces: Piece[] = [];
      for (const t of taken) pieces.push(...(await t.write(client)));
      await runPieces(client, pieces);
      await client.query('COMMIT');
      this.hooks.committed();
    } catch (err) {
      // An unanswered statement still occupies the connection: a ROLLBACK would wait behind it.
      // Discarding the connection ends the transaction on the server just as well.
      if (isQueryTimeout(err)) broken = err;
      else
        await client.query('ROLLBACK').catch((e) => {
          broken = e;
        });
      throw this.hooks.failure(err);
    } finally {
      client.off('error', dropped);
      client.release(broken as Error | undefined);
    }
  }
}

/**
 * A pending set keyed by id (the latest value wins), with what the running round took kept
 * visible until it committed: reads see every change, committed or not.
 */
export class PendingMap<V> implements RoundPart {
  private queued = new Map<string, V>();
  private inFlight = new Map<string, V>();

  constructor(private readonly writeAll: (client: pg.PoolClient, entries: [string, V][]) => Promise<Piece[]>) {}

  set(key: string, value: V): void {
    this.queued.set(key, value);
  }

  /** The latest value not yet known to be committed. */
  get(key: string): V | undefined {
    return this.queued.get(key) ?? this.inFlight.get(key);
  }

  has(key: string): boolean {
    return this.queued.has(key) || this.inFlight.has(key);
  }

  get size(): number {
    return this.queued.size;
  }

  get pending(): boolean {
    return this.queued.size > 0;
  }

  drop(): void {
    this.queued.clear();
  }

  take(): TakenWrites | null {
    if (this.queued.size === 0) return null;
    const taken = this.queued;
    this.queued = new Map();
    for (const [k, v] of taken) this.inFlight.set(k, v);
    const entries = [...taken];
    return {
      write: (client) => this.writeAll(client, entries),
      committed: () => {
        for (const [k, v] of taken) if (this.inFlight.get(k) === v) this.inFlight.delete(k);
      },
      failed: () => {
        for (const [k, v] of taken) {
          if (!this.queued.has(k)) this.queued.set(k, v);
          if (this.inFlight.get(k) === v) this.inFlight.delete(k);
        }
      },
    };
  }
}

/**
 * Pending rows keyed by id whose value is taken when the round starts (`snapshot`), not when the
 * change is queued: many changes between two rounds write the row once, as it is then.
 */
export class PendingSnapshots<V> implements RoundPart {
  private queued = new Map<string, () => V>();

  constructor(private readonly writeAll: (client: pg.PoolClient, values: V[]) => Promise<Piece[]>) {}

  set(key: string, snapshot: () => V): void {
    this.queued.set(key, snapshot);
  }

  get pending(): boolean {
    return this.queued.size > 0;
  }

  drop(): void {
    this.queued.clear();
  }

  take(): TakenWrites | null {
    if (this.queued.size === 0) return null;
    const taken = this.queued;
    this.queued = new Map();
    const values = [...taken.values()].map((snapshot) => snapshot());
    return {
      write: (client) => this.writeAll(client, values),
      committed: () => undefined,
      failed: () => {
        for (const [k, snapshot] of taken) if (!this.queued.has(k)) this.queued.set(k, snapshot);
      },
    };
  }
}

/** An append-only pending list (the journal). */
export class PendingList<V> implements RoundPart {
  private queued: V[] = [];

  constructor(private readonly writeAll: (client: pg.PoolClient, items: V[]) => Promise<Piece[]>) {}

  push(item: V): void {
    this.queued.push(item);
  }

  get pending(): boolean {
    return this.queued.length > 0;
  }

  drop(): void {
    this.queued = [];
  }

  take(): TakenWrites | null {
    if (this.queued.length === 0) return null;
    const taken = this.queued;
    this.queued = [];
    return {
      write: (client) => this.writeAll(client, taken),
      committed: () => undefined,
      failed: () => {
        this.queued = [...taken, ...this.queued];
      },
    };
  }
}

/** A single document (articles, presence, outbox state), serialised when its round starts. */
export class PendingDoc implements RoundPart {
  private dirty = false;

  constructor(
    private readonly snapshot: () => string,
    private readonly writeDoc: (client: pg.PoolClient, json: string) => Promise<Piece[]>,
    /** The round that took the snapshot committed (true) or failed (false). */
    private readonly settled: (committed: boolean) => void = () => undefined,
  ) {}

  mark(): void {
    this.dirty = true;
  }

  get pending(): boolean {
    return this.dirty;
  }

  drop(): void {
    this.dirty = false;
  }

  take(): TakenWrites | null {
    if (!this.dirty) return null;
    this.dirty = false;
    const json = this.snapshot();
    return {
      write: (client) => this.writeDoc(client, json),
      committed: () => this.settled(true),
      failed: () => {
        this.dirty = true;
        this.settled(false);
      },
    };
  }
}

export type Column = [name: string, type: string];

/**
 * One statement for many rows: INSERT … SELECT FROM unnest($1::type[], …) in array order, with
 * ON CONFLICT (key) DO UPDATE of every other column when `conflict` is given. No rows: no piece.
 */
export function insertPiece(table: string, columns: Column[], rows: unknown[][], conflict?: string[]): Piece[] {
  if (rows.length === 0) return [];
  const params = columns.map((_, i) => rows.map((r) => r[i]));
  const unnest = columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');
  const names = columns.map(([n]) => n);
  let sql = `INSERT INTO ${table} (${names.join(', ')}) SELECT ${names.map((n) => `u.${n}`).join(', ')} FROM unnest(${unnest}) WITH ORDINALITY AS u(${names.join(', ')}, ord) ORDER BY u.ord`;
  if (conflict) {
    const rest = names.filter((n) => !conflict.includes(n));
    sql += ` ON CONFLICT (${conflict.join(', ')}) DO ${rest.length ? `UPDATE SET ${rest.map((n) => `${n} = EXCLUDED.${n}`).join(', ')}` : 'NOTHING'}`;
  }
  return [{ sql, params }];
}

/** insertPiece run on its own. */
export async function insertRows(client: pg.PoolClient, table: string, columns: Column[], rows: unknown[][], conflict?: string[]): Promise<void> {
  await runPieces(client, insertPiece(table, columns, rows, conflict));
}

/**
 * Pieces as one statement (`WITH w1 AS (…), w2 AS (…) SELECT`): one round trip, and one prepared
 * statement per combination of pieces. PostgreSQL runs every data-modifying CTE to completion,
 * checks foreign keys at the end of the statement (sale lines may come with their sale), and
 * raises any piece's error for the whole statement (the round then rolls back).
 */
export async function runPieces(client: pg.PoolClient, pieces: Piece[]): Promise<void> {
  if (pieces.length === 0) return;
  await prepared(client, ...piecesStatement(pieces));
}

/** Pieces (at least one) as one statement and its parameters. */
function piecesStatement(pieces: Piece[]): [sql: string, params: unknown[]] {
  if (pieces.length === 1) return [pieces[0].sql, pieces[0].params];
  const params: unknown[] = [];
  const ctes = pieces.map((p, i) => {
    const offset = params.length;
    params.push(...p.params);
    return `w${i + 1} AS (${p.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)})`;
  });
  return [`WITH ${ctes.join(',\n')}\nSELECT`, params];
}

/** The row of a round's opening (RoundHooks.opening) among the results of a simple query. */
function roundRow(results: pg.QueryResult | pg.QueryResult[]): Record<string, unknown> | undefined {
  const all = Array.isArray(results) ? results : [results];
  return all.find((r) => r.fields?.some((f) => f.name === 'round_version'))?.rows[0];
}
