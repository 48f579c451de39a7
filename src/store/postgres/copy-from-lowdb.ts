import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Decimal } from 'decimal.js';
import { journalFiles, readJournal, type SkippedLine } from '../../integrate/journal.js';
import type { BalanceMovement } from '../../domain/reports.js';
import type { ClosedDay } from '../back-office-port.js';
import { LowdbBackOfficeStore } from '../lowdb-back-office.js';
import { readSettingsFile } from '../lowdb-settings.js';
import { LowdbStore } from '../lowdb-store.js';
import { OutboxStore, type OutboxItem } from '../outbox-store.js';
import type { Modification, QuarantineItem } from '../records.js';
import { insertRows, type Column } from './commit-queue.js';
import { PgBackOfficeStore } from './pg-back-office.js';
import { PgOutboxStore } from './pg-outbox.js';
import { PgRuntimeSettingsStore } from './pg-runtime-settings.js';
import { JOURNAL_COLUMNS, journalRow, PgStore } from './pg-store.js';
import { describeDatabase } from './sql-values.js';
import { copyKitchen } from '../../kitchen/copy-to-postgres.js';

export class CopyRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CopyRefusedError';
  }
}

export interface CheckRow {
  what: string;
  source: string;
  target: string;
  ok: boolean;
}

export interface CopyReport {
  from: string;
  to: string;
  /** Copied in this run (a resumed run skips what is already there and unchanged). */
  copied: {
    sales: number;
    salesSkipped: number;
    quarantine: number;
    modifications: number;
    closedDays: number;
    movements: number;
    outbox: number;
    journal: number;
    kitchenOrders: number;
    kitchenJournal: number;
    /** Devices created in the back office and low-stock thresholds (admin-settings.json). */
    runtimeDevices: number;
    lowStockThresholds: number;
  };
  journalSkippedLines: SkippedLine[];
  checks: CheckRow[];
  ok: boolean;
  durationMs: number;
}

const BATCH = 500;
const ARTICLE_MAPS = ['taxes', 'discounts', 'categories', 'products', 'commodities', 'stock'] as const;
const JOURNAL_BATCH = 1000;
const IMPORT_JOURNAL_COLUMNS: Column[] = [...JOURNAL_COLUMNS, ['source', 'text']];

const money = (v: unknown) => {
  try {
    return new Decimal(String(v ?? 0));
  } catch {
    return new Decimal(0);
  }
};

/**
 * Copies a lowdb data dir (articles and change feed, sales, quarantine, back office, outbox,
 * journal) into a PostgreSQL database, then compares counts and totals of both. Both are locked
 * meanwhile (no gateway may run on either). Resumable: running it again after an interruption
 * upserts by key, skips sales already copied at the same change, and adds each journal line once.
 * The target must be empty or a previous (possibly unfinished) copy of the same data dir.
 */
export async function copyLowdbToPostgres(opts: {
  dataDir: string;
  url: string;
  /** The schema to copy into (a shop's: schemaForShop; default public). */
  schema?: string;
  onProgress?: (what: string, n: number) => void;
}): Promise<CopyReport> {
  const started = Date.now();
  const dataDir = resolve(opts.dataDir);
  const progress = opts.onProgress ?? (() => undefined);
  if (!existsSync(join(dataDir, 'articles.json')) && !existsSync(join(dataDir, 'sales')) && !existsSync(join(dataDir, 'journal'))) {
    throw new CopyRefusedError(`${dataDir} is not a tabshop-gateway data dir (no articles.json, sales/ or journal/)`);
  }

  // The source: opening it takes its lock and folds a crash's write-ahead log back into the chunks.
  const source = new LowdbStore(dataDir);
  const src = { sales: 0, completed: 0, reversed: 0, total: new Decimal(0), completedTotal: new Decimal(0), payments: 0, paymentsTotal: new Decimal(0) };
  const quarantine: QuarantineItem[] = [];
  const modifications: Modification[] = [];
  await source.open({
    onSale: (r) => {
      src.sales++;
      src.total = src.total.plus(money(r.sale.total));
      for (const p of Array.isArray(r.sale.payments) ? r.sale.payments : []) {
        src.payments++;
        src.paymentsTotal = src.paymentsTotal.plus(money(p?.amount));
      }
      if (r.sale.status === 'completed') {
        src.completed++;
        src.completedTotal = src.completedTotal.plus(money(r.sale.total));
      } else src.reversed++;
    },
    onQuarantine: (q) => quarantine.push(q),
    onModification: (m) => modifications.push(m),
  });
  let target: PgStore | null = null;
  try {
    const days: ClosedDay[] = [];
    const movements: BalanceMovement[] = [];
    const presence = await new LowdbBackOfficeStore(dataDir, source.commitQueue).open({
      onClosedDay: (d) => days.push(d),
      onMovement: (m) => movements.push(m),
    });
    let outboxItems: OutboxItem[] = [];
    let outboxState = { targets: {} } as OutboxStore['state'];
    if (existsSync(join(dataDir, 'outbox'))) {
      const outbox = new OutboxStore(dataDir, source.commitQueue);
      outboxItems = await outbox.load();
      outboxState = outbox.state;
    }
    // Feed entries above the articles' version never reached articles.json (a crash): the gateway drops them too.
    const feed = modifications.filter((m) => m.version <= source.articles.version);

    // The target: locked, migrated; what it holds already (a resumed copy) is read once.
    target = new PgStore({ url: opts.url, poolSize: 4, ...(opts.schema && { schema: opts.schema, spareSchemas: 0 }) }, dataDir);
    await target.open({ onSale: () => undefined, onQuarantine: () => undefined, onModification: () => undefined });
    const pool = target.pool;
    // The target's open() reads no sale (it does not grow with history): the keys are asked for.
    const stored = new Map<string, number>();
    for (const row of (await pool.query<{ identifier: string; seq: string }>('SELECT identifier, seq::text FROM sales')).rows)
      stored.set(row.identifier, Number(row.seq));
    const storedQuarantine = new Set((await pool.query<{ id: string }>('SELECT id FROM quarantine')).rows.map((r) => r.id));
    const previous = await pool.query<{ source: string }>('SELECT source FROM store_imports');
    const ours = previous.rows.some((r) => r.source === dataDir);
    if (!ours && (stored.size > 0 || storedQuarantine.size > 0 || target.articles.version > 0)) {
      throw new CopyRefusedError(
        `${describeDatabase(opts.url)} already holds data${previous.rows.length ? ` (copied from ${previous.rows.map((r) => r.source).join(', ')})` : ''}: copy into an empty database`,
      );
    }
    const mine = await pool.query<{ finished_at: Date | null }>('SELECT finished_at FROM store_imports WHERE source = $1', [dataDir]);
    if (mine.rows[0]?.finished_at) {
      throw new CopyRefusedError(
        `${dataDir} was copied into ${describeDatabase(opts.url)} already (verified ${mine.rows[0].finished_at.toISOString()}): nothing to resume; to copy it again, use an empty database`,
      );
    }
    const own = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM journal WHERE source IS NULL');
    if (own.rows[0].n !== '0') {
      throw new CopyRefusedError(
        `a gateway has already taken pushes on ${describeDatabase(opts.url)} (${own.rows[0].n} journal entries of its own): copying the data dir again could overwrite them; use an empty database`,
      );
    }
    await pool.query('INSERT INTO store_imports (source) VALUES ($1) ON CONFLICT (source) DO NOTHING', [dataDir]);
    // The copied sales are not in stock_levels: the first gateway on the database derives it from them.
    await pool.query('DELETE FROM stock_state');
    // The back office's rows (register state, day figures, stats) are computed from the copied sales at the next gateway start.
    await pool.query('UPDATE back_office_state SET backfilled = false WHERE id');

    const copied: CopyReport['copied'] = {
      sales: 0,
      salesSkipped: 0,
      quarantine: 0,
      modifications: 0,
      closedDays: 0,
      movements: 0,
      outbox: 0,
      journal: 0,
      kitchenOrders: 0,
      kitchenJournal: 0,
      runtimeDevices: 0,
      lowStockThresholds: 0,
    };
    Object.assign(target.articles, structuredClone(source.articles));
    target.saveArticles();
    for (const m of feed) await target.addModification(m);
    copied.modifications = feed.length;
    for (const q of quarantine) {
      if (storedQuarantine.has(q.id)) continue;
      await target.putQuarantine(q);
      copied.quarantine++;
    }
    await target.commit();
    progress('articles, change feed, quarantine', feed.length + copied.quarantine);

    let pending = 0;
    for await (const record of source.allSales()) {
      if (stored.get(record.sale.identifier) === (record.history[record.history.length - 1]?.seq ?? 0)) {
        copied.salesSkipped++;
        continue;
      }
      await target.putSale(record, record.history[record.history.length - 1]?.at ?? record.sale.createdAt);
      copied.sales++;
      if (++pending >= BATCH) {
        await target.commit();
        pending = 0;
        progress('sales', copied.sales + copied.salesSkipped);
      }
    }
    await target.commit();
    progress('sales', copied.sales + copied.salesSkipped);

    const backOffice = new PgBackOfficeStore(target);
    for (const d of days) await backOffice.putClosedDay(d);
    for (const m of movements) await backOffice.putMovement(m);
    backOffice.savePresence(presence);
    copied.closedDays = days.length;
    copied.movements = movements.length;
    const outbox = new PgOutboxStore(target);
    for (const item of outboxItems) outbox.add(item);
    Object.assign(outbox.state.targets, outboxState.targets);
    outbox.saveState();
    copied.outbox = outboxItems.length;
    await target.commit();
    progress('back office and outbox', days.length + movements.length + outboxItems.length);

    const kitchen = await copyKitchen(dataDir, source.commitQueue, target);
    copied.kitchenOrders = kitchen.orders;
    copied.kitchenJournal = kitchen.journal;
    progress('kitchen', kitchen.orders + kitchen.journal);

    // Rows not there yet (a resumed copy adds nothing twice).
    const settingsFile = await readSettingsFile(dataDir);
    if (settingsFile) {
      const n = await new PgRuntimeSettingsStore(pool, opts.url).importFile(settingsFile);
      copied.runtimeDevices = n.devices;
      copied.lowStockThresholds = n.lowStock;
      progress('back-office devices and low-stock thresholds', n.devices + n.lowStock);
    }

    // The journal, line by line: each line names its origin, so a resumed copy adds it once.
    const skipped: SkippedLine[] = [];
    let journalLines = 0;
    const files = existsSync(join(dataDir, 'journal')) ? await journalFiles(dataDir) : [];
    let batch: unknown[][] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const client = await pool.connect();
      try {
        await insertRows(client, 'journal', IMPORT_JOURNAL_COLUMNS, batch, ['source']);
      } finally {
        client.release();
      }
      batch = [];
      progress('journal', journalLines);
    };
    for await (const line of readJournal(files, (s) => skipped.push(s))) {
      journalLines++;
      batch.push([...journalRow(line.entry), `${basename(line.file)}:${line.line}`]);
      if (batch.length >= JOURNAL_BATCH) await flush();
    }
    await flush();
    copied.journal = journalLines;

    // Verification: the same figures, counted on each side.
    const {
      rows: [t],
    } = await pool.query<Record<string, string>>(`SELECT
      (SELECT count(*) FROM sales)::text AS sales,
      (SELECT count(*) FROM sales WHERE status = 'completed')::text AS completed,
      (SELECT count(*) FROM sales WHERE status <> 'completed')::text AS reversed,
      (SELECT coalesce(sum(total), 0) FROM sales)::text AS total,
      (SELECT coalesce(sum(total), 0) FROM sales WHERE status = 'completed')::text AS completed_total,
      (SELECT count(*) FROM quarantine)::text AS quarantine,
      (SELECT count(*) FROM modifications)::text AS modifications,
      (SELECT count(*) FROM sale_payments)::text AS payments,
      (SELECT coalesce(sum(amount), 0) FROM sale_payments)::text AS payments_total,
      (SELECT count(*) FROM article_rows)::text AS articles,
      (SELECT coalesce(max(version), 0) FROM articles_state)::text AS articles_version,
      (SELECT count(*) FROM closed_days)::text AS closed_days,
      (SELECT count(*) FROM cash_movements)::text AS movements,
      (SELECT coalesce(sum(amount), 0) FROM cash_movements)::text AS movements_total,
      (SELECT count(*) FROM outbox)::text AS outbox,
      (SELECT count(*) FROM journal WHERE source IS NOT NULL)::text AS journal,
      (SELECT count(*) FROM kitchen_orders)::text AS kitchen_orders,
      (SELECT count(*) FROM kitchen_journal)::text AS kitchen_journal,
      (SELECT count(*) FROM runtime_devices WHERE NOT deleted)::text AS runtime_devices,
      (SELECT count(*) FROM low_stock_thresholds WHERE threshold IS NOT NULL)::text AS low_stock_thresholds`);
    const count = (what: string, s: number, key: string): CheckRow => ({ what, source: String(s), target: t[key], ok: String(s) === t[key] });
    const sum = (what: string, s: Decimal, key: string): CheckRow => ({
      what,
      source: s.toString(),
      target: new Decimal(t[key]).toString(),
      ok: s.eq(new Decimal(t[key])),
    });
    const checks: CheckRow[] = [
      count('sales', src.sales, 'sales'),
      count('completed sales', src.completed, 'completed'),
      count('refunded or cancelled sales', src.reversed, 'reversed'),
      sum('total of all sales', src.total, 'total'),
      sum('total of completed sales', src.completedTotal, 'completed_total'),
      count('quarantine items', quarantine.length, 'quarantine'),
      count('article changes', feed.length, 'modifications'),
      count('payments', src.payments, 'payments'),
      sum('payments amount', src.paymentsTotal, 'payments_total'),
      count(
        'articles and stock levels',
        ARTICLE_MAPS.reduce((n, c) => n + Object.keys(source.articles[c]).length, 0),
        'articles',
      ),
      count('articles version', source.articles.version, 'articles_version'),
      count('closed days', days.length, 'closed_days'),
      count('cash movements', movements.length, 'movements'),
      sum(
        'cash movements amount',
        movements.reduce((s, m) => s.plus(money(m.amount)), new Decimal(0)),
        'movements_total',
      ),
      count('outbox items', outboxItems.length, 'outbox'),
      count('journal lines', journalLines, 'journal'),
      count('kitchen orders', kitchen.orders, 'kitchen_orders'),
      count('kitchen journal lines', kitchen.journal, 'kitchen_journal'),
      count('back-office devices', settingsFile?.devices.length ?? 0, 'runtime_devices'),
      count('low-stock thresholds', Object.keys(settingsFile?.lowStock ?? {}).length, 'low_stock_thresholds'),
    ];
    const ok = checks.every((c) => c.ok);
    const report: CopyReport = {
      from: dataDir,
      to: describeDatabase(opts.url),
      copied,
      journalSkippedLines: skipped,
      checks,
      ok,
      durationMs: Date.now() - started,
    };
    await pool.query('UPDATE store_imports SET finished_at = CASE WHEN $2 THEN now() END, report = $3::json WHERE source = $1', [
      dataDir,
      ok,
      JSON.stringify(report),
    ]);
    return report;
  } finally {
    await target?.close();
    await source.close();
  }
}
