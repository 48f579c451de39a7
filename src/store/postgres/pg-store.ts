import { mkdir } from 'node:fs/promises';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { StockSource, Store, StoreRefresh } from '../port.js';
import {
  emptyArticles,
  type ArticleEntity,
  type ArticlesData,
  type JournalEntry,
  type Modification,
  type QuarantineItem,
  type SaleRecord,
} from '../records.js';
import { PendingList, PendingMap, PgCommitQueue, insertPiece, runPieces, type Column } from './commit-queue.js';
import { LEASE_LOCK_FEATURE, LeaseLostError, WriteLease, type LeaseCheck, type LeaseTimings, type PostgresOptions } from './connection.js';
import type { MigrationReport } from './migrate.js';
import { OutboxListener } from './outbox-notify.js';
import { SaleLookups } from './sale-lookups.js';
import { SalePrefetch } from './sale-prefetch.js';
import { ArticleRows, articlesFromRows, readArticleChanges } from './pg-articles.js';
import { prepared } from './prepared.js';
import { DEFAULT_SCHEMA } from './schema-names.js';
import { keepSpareSchemas, openSchema, SchemaPool } from './shared-database.js';
import { jsonbText, jsonText, numericValue, textValue, timeValue } from './sql-values.js';

const PAGE = 2000;
/** Every commit round notifies this channel (in the public schema; other schemas: SchemaNames.channel) with the state version it wrote (migrations/0014). */
export const STATE_CHANNEL = 'tabshop_state';
/** A read's version check that takes longer than this serves what the caches hold (the database is slow or down: nobody writes then). */
const CHECK_TIMEOUT_MS = 2_000;

/**
 * What one concern cached in memory reads when another process wrote since this one last did:
 * `since` is the state version the caches reflect (null: everything, the caches are reloaded
 * whole). Runs inside one read-only snapshot; returns what to apply, synchronously.
 */
export type Refresher = (client: pg.ClientBase, since: number | null) => Promise<(() => void) | null>;
/**
 * A stock entry that empties stock_levels first and records the table as derived (stock_state,
 * migrations/0012): the rest of the round rewrites every tracked product (no product has an empty identifier).
 */
const STOCK_RESET = '';
/**
 * A round's first statement: the lease's fencing check (LEASE_CHECK) and, only when it holds, the
 * state version raised and notified; when it does not, the statement fails (tabshop_lease_lost,
 * SQLSTATE LEASE_LOST: migrations/0019), and so does the rest of the round's query string.
 */
const raiseVersion = (leaseCheck: string, channel: string) => `WITH lease AS (${leaseCheck}),
  raised AS (UPDATE gateway_state SET version = version + 1 WHERE id AND (SELECT held AND current FROM lease)
    RETURNING version::text AS version, pg_notify('${channel}', version::text))
  SELECT lease.held, lease.epoch, raised.version AS round_version,
    CASE WHEN raised.version IS NULL THEN tabshop_lease_lost(lease.held, lease.current) END AS lease_lost
  FROM (SELECT) one LEFT JOIN lease ON true LEFT JOIN raised ON true`;
/** The SQLSTATE of a round's fencing check that found the lease lost (migrations/0019). */
const LEASE_LOST = 'TSL01';
const INT4_MAX = 2 ** 31 - 1;
const intValue = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= INT4_MAX ? v : null);

export const SALE_COLUMNS: Column[] = [
  ['identifier', 'text'],
  ['cash_register', 'text'],
  ['invoice_id', 'text'],
  ['status', 'text'],
  ['created_at', 'timestamptz'],
  ['received_at', 'timestamptz'],
  ['changed_at', 'timestamptz'],
  ['seq', 'bigint'],
  ['first_seq', 'bigint'],
  ['day_id', 'text'],
  ['total', 'numeric'],
  ['vat', 'numeric'],
  ['discount', 'numeric'],
  ['cost_price', 'numeric'],
  ['invoice', 'jsonb'],
  ['record', 'json'],
];
export const LINE_COLUMNS: Column[] = [
  ['sale_identifier', 'text'],
  ['position', 'integer'],
  ['line_no', 'integer'],
  ['product', 'text'],
  ['name', 'text'],
  ['quantity', 'numeric'],
  ['subtotal', 'numeric'],
  ['discount', 'numeric'],
  ['vat', 'numeric'],
  ['total', 'numeric'],
  ['cost_price', 'numeric'],
];
const PAYMENT_COLUMNS: Column[] = [
  ['sale_identifier', 'text'],
  ['position', 'integer'],
  ['method', 'text'],
  ['code', 'text'],
  ['amount', 'numeric'],
  ['given', 'numeric'],
  ['returned', 'numeric'],
];
const QUARANTINE_COLUMNS: Column[] = [
  ['id', 'text'],
  ['at', 'timestamptz'],
  ['code', 'text'],
  ['cash_register', 'text'],
  ['device', 'text'],
  ['invoice_id', 'text'],
  ['reason', 'text'],
  ['state', 'text'],
  ['count', 'integer'],
  ['item', 'json'],
];
const MODIFICATION_COLUMNS: Column[] = [
  ['version', 'integer'],
  ['entity', 'text'],
  ['identifier', 'text'],
  ['op', 'text'],
  ['at', 'timestamptz'],
  ['modification', 'json'],
];
export const JOURNAL_COLUMNS: Column[] = [
  ['received_at', 'timestamptz'],
  ['request_id', 'text'],
  ['device', 'text'],
  ['cash_register', 'text'],
  ['method', 'text'],
  ['path', 'text'],
  ['query', 'text'],
  ['content_type', 'text'],
  ['legacy', 'boolean'],
  ['headers', 'json'],
  ['body', 'bytea'],
  ['body_encoding', 'text'],
];

/**
 * A sale row: the exact record as json plus the columns SQL reports use. Keys go through
 * textValue too: an identifier with a NUL (possible through the API) must not fail the round.
 */
export function saleRow(r: SaleRecord): { row: unknown[]; lines: unknown[][]; payments: unknown[][] } {
  const { sale } = r;
  const first = r.history[0];
  const last = r.history[r.history.length - 1];
  const invoiceId = sale.source?.invoiceId;
  // Only a TabShop identifier (<register>:<invoice id>) fills the (cash_register, invoice_id) unique key.
  const ownInvoiceId = invoiceId !== undefined && sale.identifier === `${sale.cashRegisterName}:${invoiceId}` ? invoiceId : null;
  const key = textValue(sale.identifier) ?? '';
  const row = [
    key,
    textValue(sale.cashRegisterName) ?? '',
    textValue(ownInvoiceId),
    textValue(sale.status) ?? '',
    timeValue(sale.createdAt),
    timeValue(first?.at),
    timeValue(last?.at),
    last?.seq ?? 0,
    first?.seq ?? last?.seq ?? 0,
    textValue(sale.dayId ?? last?.dayId ?? null),
    numericValue(sale.total),
    numericValue(sale.vat),
    numericValue(sale.discount),
    numericValue(sale.costPrice),
    sale.source?.invoice === undefined ? null : jsonbText(sale.source.invoice),
    jsonText(r),
  ];
  const lines = (Array.isArray(sale.lines) ? sale.lines : []).map((l, i) => [
    key,
    i + 1,
    intValue(l.lineNo),
    textValue(l.product),
    textValue(l.name),
    numericValue(l.quantity),
    numericValue(l.subtotal),
    numericValue(l.discount),
    numericValue(l.vat),
    numericValue(l.total),
    numericValue(l.costPrice),
  ]);
  const payments = (Array.isArray(sale.payments) ? sale.payments : []).map((p, i) => [
    key,
    i + 1,
    scalarText(p?.method),
    scalarText(p?.code),
    numericValue(p?.amount),
    numericValue(p?.given),
    numericValue(p?.returned),
  ]);
  return { row, lines, payments };
}

/** A text column from a scalar (what a stored record holds is not checked: objects become null, not "[object Object]"). */
const scalarText = (v: unknown) => (typeof v === 'object' ? null : textValue(v));

export function journalRow(e: JournalEntry): unknown[] {
  const body = e.bodyBase64 !== undefined ? Buffer.from(e.bodyBase64, 'base64') : e.body !== undefined ? Buffer.from(e.body, 'utf8') : null;
  const encoding = e.bodyBase64 !== undefined ? 'base64' : e.body !== undefined ? 'utf8' : null;
  return [
    timeValue(e.at) ?? new Date().toISOString(),
    textValue(e.requestId),
    textValue(e.device),
    textValue(e.cashRegisterName),
    textValue(e.method) ?? '',
    textValue(e.path) ?? '',
    textValue(e.query),
    textValue(e.contentType),
    e.legacy === true,
    e.headers === undefined ? null : jsonText(e.headers),
    body,
    encoding,
  ];
}

/** A journal row back as the entry it was written from (capture, migrations, tests). */
export function journalEntryOf(row: {
  received_at: Date;
  request_id: string | null;
  device: string | null;
  cash_register: string | null;
  method: string;
  path: string;
  query: string | null;
  content_type: string | null;
  legacy: boolean;
  headers: Record<string, string> | null;
  body: Buffer | null;
  body_encoding: string | null;
}): JournalEntry {
  const e: JournalEntry = { at: row.received_at.toISOString(), method: row.method, path: row.path };
  if (row.request_id !== null) e.requestId = row.request_id;
  if (row.device !== null) e.device = row.device;
  if (row.cash_register !== null) e.cashRegisterName = row.cash_register;
  if (row.query !== null) e.query = row.query;
  if (row.content_type !== null) e.contentType = row.content_type;
  if (row.legacy) e.legacy = true;
  if (row.headers !== null) e.headers = row.headers;
  if (row.body !== null) {
    if (row.body_encoding === 'base64') e.bodyBase64 = row.body.toString('base64');
    else e.body = row.body.toString('utf8');
  }
  return e;
}

/**
 * The store on PostgreSQL (node-postgres pool). State lives in memory as with lowdb; every change
 * is queued and written by the next group-commit round, one transaction for everything changed
 * before it (journal, sales with their lines and payments, quarantine, changed article rows, change feed, back office,
 * outbox). Every process on a database is equal: writes take the database's write lease (a unit
 * of work, or a round started outside one), whose holder first brings its caches up to the
 * database's state version; every round raises that version and notifies the others, which
 * refresh in the background, and a read checks it first (fresh()): read-your-writes across processes.
 */
export class PgStore implements Store {
  readonly kind = 'postgres' as const;
  /** This store's schema on the process's pool for the database (shared by every store on it). */
  readonly pool: SchemaPool;
  readonly commitQueue: PgCommitQueue;
  readonly lease: WriteLease;
  migration: MigrationReport | null = null;
  /** The spare schema this store's was renamed from when it was new (null: it existed, or was made and migrated). */
  spareTaken: string | null = null;
  private articlesDoc: ArticlesData = emptyArticles();
  private readonly journalPart: PendingList<unknown[]>;
  private readonly salesPart: PendingMap<SaleRecord>;
  private readonly quarantinePart: PendingMap<QuarantineItem>;
  private readonly articlesPart: ArticleRows;
  private readonly modificationsPart: PendingMap<Modification>;
  private readonly stockPart: PendingMap<string | null>;
  /** What storedStock read from stock_levels (null: the table was derived from the sales instead). */
  private stockAtStart: Map<string, string> | null = null;
  private opened = false;
  /** The state version the caches reflect (gateway_state.version, migrations/0014). */
  private seen = 0;
  /** The version the running round raised the state to. */
  private roundVersion = 0;
  private readonly refreshers: Refresher[] = [];
  private readonly refreshListeners = new Set<(r: StoreRefresh) => void>();
  private refreshing: Promise<void> = Promise.resolve();
  private checking: Promise<void> | null = null;
  private nextCheck: Promise<void> | null = null;
  private listener: OutboxListener | null = null;
  /** Refreshes run, for operators and tests. */
  refreshes = 0;
  /** What the sale lookups may still rely on: sales known not stored yet (their round deletes no lines or payments first), rows read ahead. */
  private readonly saleLookups = new SaleLookups();
  /** The push path's lookups, read ahead together (prefetchSales). */
  readonly salePrefetch = new SalePrefetch(async (identifiers) => {
    const keys = identifiers.map((id) => textValue(id));
    const { rows } = await prepared<{ identifier: string; record: SaleRecord }>(
      this.pool,
      'SELECT identifier, record FROM sales WHERE identifier = ANY($1::text[])',
      [keys],
    );
    // Keyed as asked (the column has U+FFFD where an identifier has a NUL), like getSale's own lookup.
    const byKey = new Map(rows.map((r) => [r.identifier, r.record]));
    return new Map(identifiers.flatMap((id, i) => (byKey.has(keys[i] ?? '') ? [[id, byKey.get(keys[i] ?? '')!] as const] : [])));
  }, this.saleLookups);
  /** Raised whenever a refresh finds writes of another process: what this one last wrote may no longer be what is stored. */
  othersWrote = 0;
  /** The sales the running round writes. */
  private roundSales: ReadonlySet<string> = new Set();

  constructor(
    readonly options: PostgresOptions,
    readonly dataDir: string,
    private readonly log: (msg: string, err?: unknown) => void = () => undefined,
    leaseTimings: Partial<LeaseTimings> = {},
  ) {
    this.pool = new SchemaPool(options, options.schema ?? DEFAULT_SCHEMA, (err) => this.log('idle PostgreSQL connection failed', err));
    this.lease = new WriteLease(
      options.url,
      {
        raiseEpoch: async (holder) => {
          // Waits for a round of the previous holder still in flight (it holds the row FOR SHARE).
          const { rows } = await this.pool.query<{ epoch: string }>(
            `INSERT INTO gateway_leader (id, epoch, url, holder) VALUES (true, 1, '', $1)
              ON CONFLICT (id) DO UPDATE SET epoch = gateway_leader.epoch + 1, holder = EXCLUDED.holder, since = now()
              RETURNING epoch::text`,
            [holder],
          );
          return rows[0].epoch;
        },
        acquired: () => this.catchUp(),
        lost: (err) => this.log('lost the write lease (its connection ended); the rounds in flight fail, the next unit of work takes it again', err),
      },
      leaseTimings,
      this.pool.leases,
      () => this.pool.names.lock(LEASE_LOCK_FEATURE),
    );
    this.commitQueue = new PgCommitQueue(this.pool, {
      enter: () => this.lease.enter(true),
      // ONE simple query (several statements, no parameters): BEGIN, the settings, and the fencing
      // check with the version raise (only when the lease is held; the statement fails otherwise).
      // The commit queue sends it alone, before the round's write statement and COMMIT.
      // A round of a holder frozen mid-transaction must not hold up the next holder's epoch (FOR
      // SHARE) for long. The round's statements sent on their own are prepared, and their plans do
      // not depend on the values: planned once per connection instead of five times first
      // (plan_cache_mode's default) for every variant. No JIT: the tables of one row are never
      // analysed, their estimates put the fencing check above jit_above_cost, and compiling it
      // took ~65 ms of a round that runs in 1.
      opening: () =>
        `BEGIN; SET LOCAL idle_in_transaction_session_timeout = ${this.lease.timings.idleTimeoutMs}; SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL jit = off;
          ${raiseVersion(this.lease.checkSql(), this.pool.names.channel(STATE_CHANNEL))}`,
      opened: (row) => {
        const check = row as (Omit<LeaseCheck, 'current'> & { round_version: string | null }) | undefined;
        try {
          this.lease.verify(check);
        } catch (err) {
          if (err instanceof LeaseLostError) this.lease.forfeit();
          throw err;
        }
        this.roundVersion = Number(check?.round_version);
      },
      failure: (err) => {
        this.roundSales = new Set();
        if ((err as { code?: unknown } | null)?.code !== LEASE_LOST) return err;
        this.lease.forfeit();
        return new LeaseLostError((err as Error).message);
      },
      committed: () => {
        this.seen = this.roundVersion;
        this.saleLookups.committed(this.roundSales);
        this.roundSales = new Set();
      },
    });
    this.journalPart = new PendingList(async (_client, rows) => insertPiece('journal', JOURNAL_COLUMNS, rows));
    this.salesPart = new PendingMap(async (client, entries) => {
      // A sale the database did not have when it was looked up has no lines or payments to replace.
      this.roundSales = new Set(entries.map(([id]) => id));
      const stored = entries.filter(([id]) => !this.saleLookups.take(id)).map(([id]) => textValue(id));
      if (stored.length > 0) {
        await runPieces(client, [
          { sql: 'DELETE FROM sale_lines WHERE sale_identifier = ANY($1::text[])', params: [stored] },
          { sql: 'DELETE FROM sale_payments WHERE sale_identifier = ANY($1::text[])', params: [stored] },
        ]);
      }
      const rows = entries.map(([, r]) => saleRow(r));
      return [
        ...insertPiece(
          'sales',
          SALE_COLUMNS,
          rows.map((r) => r.row),
          ['identifier'],
        ),
        ...insertPiece(
          'sale_lines',
          LINE_COLUMNS,
          rows.flatMap((r) => r.lines),
        ),
        ...insertPiece(
          'sale_payments',
          PAYMENT_COLUMNS,
          rows.flatMap((r) => r.payments),
        ),
      ];
    });
    this.quarantinePart = new PendingMap(async (_client, entries) =>
      insertPiece(
        'quarantine',
        QUARANTINE_COLUMNS,
        entries.map(([, q]) => [
          textValue(q.id),
          timeValue(q.at),
          textValue(q.code) ?? '',
          textValue(q.cashRegisterName),
          textValue(q.device),
          textValue(q.invoiceId),
          textValue(q.reason),
          q.state ?? 'open',
          intValue(q.count) ?? 1,
          jsonText(q),
        ]),
        ['id'],
      ),
    );
    this.modificationsPart = new PendingMap(async (_client, entries) =>
      insertPiece(
        'modifications',
        MODIFICATION_COLUMNS,
        entries.map(([, m]) => [m.version, textValue(m.entity) ?? '', textValue(m.identifier) ?? '', textValue(m.op) ?? '', timeValue(m.at), jsonText(m)]),
        ['version'],
      ),
    );
    this.articlesPart = new ArticleRows(() => this.articlesDoc);
    this.stockPart = new PendingMap(async (client, entries) => {
      if (entries.some(([p]) => p === STOCK_RESET)) {
        await client.query('DELETE FROM stock_levels');
        await client.query('INSERT INTO stock_state (id, derived_at) VALUES (true, now()) ON CONFLICT (id) DO UPDATE SET derived_at = EXCLUDED.derived_at');
      }
      const gone = entries.filter(([p, q]) => q === null && p !== STOCK_RESET).map(([p]) => textValue(p));
      if (gone.length > 0) await client.query('DELETE FROM stock_levels WHERE product = ANY($1::text[])', [gone]);
      return insertPiece(
        'stock_levels',
        [
          ['product', 'text'],
          ['quantity', 'numeric'],
          ['changed_at', 'timestamptz'],
        ],
        entries.filter(([, q]) => q !== null).map(([p, q]) => [textValue(p) ?? '', q, new Date().toISOString()]),
        ['product'],
      );
    });
    for (const part of [this.journalPart, this.salesPart, this.quarantinePart, this.articlesPart, this.modificationsPart, this.stockPart])
      this.commitQueue.register(part);
  }

  /** Back office and outbox storage join this store's commit rounds. */
  join(part: Parameters<PgCommitQueue['register']>[0]): void {
    this.commitQueue.register(part);
  }

  async open(visit: Parameters<Store['open']>[0]): Promise<void> {
    try {
      // Migrations serialise themselves, so every process may run them (a no-op once applied).
      const { report, spare } = await openSchema(this.pool);
      this.migration = report;
      this.spareTaken = spare;
      // Read before anything is loaded: a round committed meanwhile is caught up with by the first unit of work.
      const version = await this.pool.query<{ version: string }>('SELECT version::text FROM gateway_state WHERE id');
      this.seen = Number(version.rows[0].version);
      const state = await this.pool.query<{ version: number; upstream: ArticlesData['upstream'] | null }>(
        'SELECT version, upstream FROM articles_state WHERE id',
      );
      const rows = await this.pool.query<{ entity: ArticleEntity; identifier: string; data: unknown }>('SELECT entity, identifier, data FROM article_rows');
      this.articlesDoc = articlesFromRows(state.rows[0], rows.rows);
      this.articlesPart.loaded(this.articlesDoc);
      // No stored sale or quarantine item is read here: the sales view, the back office's rows and
      // stock_levels answer from the database, so start-up does not grow with history.
      const mods = await this.pool.query<{ modification: Modification }>('SELECT modification FROM modifications ORDER BY version');
      for (const row of mods.rows) visit.onModification(row.modification);
      // The readiness check reports the free space of the data dir; with PostgreSQL it holds no data.
      await mkdir(this.dataDir, { recursive: true }).catch(() => undefined);
      this.opened = true;
      this.listener = new OutboxListener({
        url: this.options.url,
        channel: this.pool.names.channel(STATE_CHANNEL),
        label: 'state',
        logger: { warn: (o: { err?: unknown }, m: string) => this.log(m, o.err), debug: () => undefined } as unknown as Logger,
        onNotify: (payload) => this.notified(payload),
      });
      this.listener.start();
      // A process that opens shops in schemas of their own keeps a few ready for the next ones.
      if (!this.pool.names.isPublic) void keepSpareSchemas(this.options.url, this.log, this.options.spareSchemas);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** A concern that keeps state in memory reads what another process changed (back office, ledger). */
  onRefreshRows(refresher: Refresher): void {
    this.refreshers.push(refresher);
  }

  onRefresh(listener: (r: StoreRefresh) => void): void {
    this.refreshListeners.add(listener);
  }

  /** Write access for a unit of work: the lease, with its caches up to date. */
  beginWrite(): Promise<() => void> {
    return this.lease.enter();
  }

  /**
   * Resolves once the caches reflect every round committed before the call: one single-row read
   * of the state version (shared by the reads that arrive while it runs), and a refresh when
   * another process wrote since. The lease's holder is the only writer: its memory is the truth.
   */
  fresh(): Promise<void> {
    if (!this.opened || this.lease.held) return Promise.resolve();
    if (!this.checking) {
      const check = this.checkVersion().finally(() => {
        if (this.checking === check) this.checking = null;
      });
      this.checking = check;
      return check;
    }
    // A check that began before this read may have read the version before a write it must see.
    this.nextCheck ??= this.checking.then(() => {
      this.nextCheck = null;
      return this.fresh();
    });
    return this.nextCheck;
  }

  private async checkVersion(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CHECK_TIMEOUT_MS);
    });
    const check = async () => {
      const { rows } = await this.pool.query<{ version: string }>('SELECT version::text FROM gateway_state WHERE id');
      if (Number(rows[0].version) !== this.seen) await this.catchUp();
    };
    try {
      // A database that is down or slow: serve what the caches hold (nobody can write meanwhile).
      await Promise.race([check().catch((err) => this.log('could not check the state version; serving from the caches', err)), slow]);
    } finally {
      clearTimeout(timer);
    }
  }

  private notified(payload: string | null): void {
    if (this.lease.held) return;
    if (payload !== null && Number(payload) <= this.seen) return;
    void this.catchUp().catch((err) => this.log('could not refresh the caches after another process wrote', err));
  }

  /**
   * Brings every cache up to the database's state version, in one read-only snapshot, then applies
   * what was read synchronously (a read never sees half a refresh). When another process wrote
   * while this one had writes left by a failed round, those are dropped (their units answered 503)
   * and the caches are reloaded whole: they may hold changes the database never got.
   */
  catchUp(): Promise<void> {
    const run = this.refreshing.catch(() => undefined).then(() => this.refresh());
    this.refreshing = run;
    return run;
  }

  private async refresh(): Promise<void> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const dropped = (err: Error) => {
      broken = err;
    };
    client.on('error', dropped);
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const { rows } = await client.query<{ version: string }>('SELECT version::text FROM gateway_state WHERE id');
      const version = Number(rows[0].version);
      if (version === this.seen) {
        await client.query('COMMIT');
        return;
      }
      this.saleLookups.reset();
      this.othersWrote++;
      const full = this.commitQueue.pending;
      if (full) {
        this.log(`another process wrote since a failed round of this one: its writes are dropped (answered 503), the caches are reloaded`);
        this.commitQueue.dropPending();
      }
      const since = full ? null : this.seen;
      const catalogue = await this.readCatalogue(client, since);
      const seq = await client.query<{ seq: string }>('SELECT coalesce(max(seq), 0)::text AS seq FROM sales');
      const applies: (() => void)[] = [];
      for (const read of this.refreshers) {
        const apply = await read(client, since);
        if (apply) applies.push(apply);
      }
      await client.query('COMMIT');
      const refresh = catalogue();
      for (const apply of applies) apply();
      this.announce({ ...refresh, full, salesSeq: Number(seq.rows[0].seq) });
      this.seen = version;
      this.refreshes++;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.off('error', dropped);
      client.release(broken);
    }
  }

  /**
   * The catalogue: articles and their change feed, and the stored stock of the products whose
   * quantity changed (reads only; the function returned applies them to the articles document).
   */
  private async readCatalogue(client: pg.ClientBase, since: number | null): Promise<() => Pick<StoreRefresh, 'modifications' | 'quantities'>> {
    const stock = await client.query<{ product: string; quantity: string }>(
      `SELECT product, quantity::text AS quantity FROM stock_levels${since === null ? '' : ' WHERE state_version > $1'}`,
      since === null ? [] : [since],
    );
    const quantities = new Map(stock.rows.map((r) => [r.product, r.quantity]));
    if (since === null) {
      const state = await client.query<{ version: number; upstream: ArticlesData['upstream'] | null }>('SELECT version, upstream FROM articles_state WHERE id');
      const rows = await client.query<{ entity: ArticleEntity; identifier: string; data: unknown }>('SELECT entity, identifier, data FROM article_rows');
      const mods = await client.query<{ modification: Modification }>('SELECT modification FROM modifications ORDER BY version');
      return () => {
        this.articlesDoc = articlesFromRows(state.rows[0], rows.rows);
        this.articlesPart.loaded(this.articlesDoc);
        return { modifications: mods.rows.map((r) => r.modification), quantities };
      };
    }
    const changes = await readArticleChanges(client, this.articlesDoc);
    return () => {
      changes?.apply(this.articlesPart);
      return { modifications: changes?.modifications ?? [], quantities };
    };
  }

  private announce(r: StoreRefresh): void {
    for (const l of this.refreshListeners) l(r);
  }

  async close(): Promise<void> {
    // Rounds run one at a time: this one comes after any running round and takes whatever is left.
    if (this.opened) await this.commit().catch((err) => this.log('could not write the last changes at shutdown', err));
    this.opened = false;
    await this.listener?.stop();
    await this.lease.close();
    await this.pool.end().catch(() => undefined);
  }

  async probeWritable(): Promise<boolean> {
    // A database that does not answer within 2 s is as good as down for a readiness probe.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), 2_000);
    });
    // After a failed write, a commit round (what is still queued) tells whether the database takes writes again.
    const probe = async () => {
      await this.pool.query('SELECT 1');
      if (this.commitQueue.lastError) await this.commit();
      return this.commitQueue.lastError === null;
    };
    try {
      return await Promise.race([probe().catch(() => false), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  commit(): Promise<void> {
    return this.commitQueue.commit();
  }

  get lastCommitFailed(): boolean {
    return this.commitQueue.lastError !== null;
  }

  journal(entry: JournalEntry): void {
    this.journalPart.push(journalRow(entry));
  }

  get articles(): ArticlesData {
    return this.articlesDoc;
  }

  saveArticles(): void {
    this.articlesPart.mark();
  }

  async addModification(m: Modification): Promise<void> {
    this.modificationsPart.set(String(m.version), m);
    this.articlesPart.noteChange(m);
  }

  prefetchSales(identifiers: readonly string[]): void {
    if (this.opened) this.salePrefetch.want(identifiers);
  }

  async getSale(identifier: string): Promise<SaleRecord | undefined> {
    const pending = this.salesPart.get(identifier);
    if (pending) return pending;
    const ahead = await this.salePrefetch.take(identifier);
    if (ahead) {
      const record = this.salesPart.get(identifier) ?? ahead.record;
      if (record === undefined) this.saleLookups.absent(identifier, ahead.mark);
      return record;
    }
    const mark = this.saleLookups.mark();
    const { rows } = await prepared<{ record: SaleRecord }>(this.pool, 'SELECT record FROM sales WHERE identifier = $1', [textValue(identifier)]);
    // A round may have committed it between the two looks: the pending map is checked again.
    const record = this.salesPart.get(identifier) ?? rows[0]?.record;
    if (record === undefined) this.saleLookups.absent(identifier, mark);
    return record;
  }

  async putSale(record: SaleRecord, _partitionDay: string): Promise<void> {
    this.salesPart.set(record.sale.identifier, record);
  }

  /**
   * stock_levels as stored, when stock_state says it was derived and it has a row for every
   * tracked level; otherwise every stored sale goes to `replay` (one pass, in pages) and the
   * table is rewritten by followStock. Called at start, after open(), before any change.
   */
  async storedStock(replay: (record: SaleRecord) => void): Promise<ReadonlyMap<string, string> | null> {
    const derived = await this.pool.query('SELECT 1 FROM stock_state WHERE id');
    const { rows } = await this.pool.query<{ product: string; quantity: string }>('SELECT product, quantity::text AS quantity FROM stock_levels');
    const byRow = new Map(rows.map((r) => [r.product, r.quantity]));
    // Keyed as the catalogue keys its levels: the text column has U+FFFD where an identifier has a NUL.
    const stored = new Map<string, string>();
    for (const product of Object.keys(this.articlesDoc.stock)) {
      const quantity = byRow.get(textValue(product) ?? '');
      if (quantity !== undefined) stored.set(product, quantity);
    }
    const complete = stored.size === Object.keys(this.articlesDoc.stock).length;
    if (derived.rows.length > 0 && complete) {
      this.stockAtStart = byRow;
      return stored;
    }
    for await (const record of this.allSales()) replay(record);
    this.stockAtStart = null;
    return null;
  }

  /**
   * The table follows each change of a tracked product's quantity, in its round. At start, after
   * a derivation, every tracked product's quantity is rewritten (and the table recorded as
   * derived); after a read, only rows of products no longer tracked go.
   */
  followStock(stock: StockSource): void {
    const record = (product: string) => this.stockPart.set(product, stock.quantityOf(product)?.toString() ?? null);
    if (this.stockAtStart === null) {
      this.stockPart.set(STOCK_RESET, null);
      for (const product of stock.trackedProducts()) record(product);
    } else {
      const tracked = new Set(stock.trackedProducts().map((p) => textValue(p) ?? ''));
      for (const product of this.stockAtStart.keys()) if (!tracked.has(product)) this.stockPart.set(product, null);
      this.stockAtStart = null;
    }
    stock.onStockChange(record);
  }

  async getQuarantine(id: string): Promise<QuarantineItem | undefined> {
    const pending = this.quarantinePart.get(id);
    if (pending) return pending;
    const { rows } = await this.pool.query<{ item: QuarantineItem }>('SELECT item FROM quarantine WHERE id = $1', [textValue(id)]);
    return this.quarantinePart.get(id) ?? rows[0]?.item;
  }

  async putQuarantine(item: QuarantineItem): Promise<void> {
    this.quarantinePart.set(item.id, item);
  }

  /** Every stored sale record, in identifier order (exports, migrations). */
  async *allSales(): AsyncGenerator<SaleRecord> {
    let last = '';
    for (;;) {
      const { rows } = await this.pool.query<{ key: string; record: SaleRecord }>(
        'SELECT identifier AS key, record FROM sales WHERE identifier > $1 ORDER BY identifier LIMIT $2',
        [last, PAGE],
      );
      for (const row of rows) yield row.record;
      if (rows.length < PAGE) return;
      last = rows[rows.length - 1].key;
    }
  }
}
