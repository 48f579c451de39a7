import type { QuarantineState, SaleRecord } from '../../domain/ports/records.js';
import type { QuarantineSummary, SaleIndexEntry, SaleQuery, SaleMatch, SalesView, SaleSummary } from '../../domain/ports/sales-view.js';
import type { SaleStatus } from '../../domain/types.js';
import { NotDurableError } from '../../domain/ports/unit-of-work.js';
import type { PgStore } from './pg-store.js';
import { textValue } from './sql-values.js';

const PAGE = 2000;

type Order = 'first-stored' | 'newest-first';

interface EntryRow {
  identifier: string;
  cash_register: string;
  status: string;
  seq: string;
  first_seq: string;
  created_at: Date | null;
  created_text?: string | null;
}

interface SummaryRow extends EntryRow {
  total: string | null;
  vat: string | null;
  lines: string;
  received_at: Date | null;
  day_text: string | null;
}

interface QuarantineRow {
  id: string;
  at: Date | null;
  code: string;
  reason: string | null;
  state: QuarantineState;
  cash_register: string | null;
  invoice_id: string | null;
}

const ENTRY = 'identifier, cash_register, status, seq, first_seq, created_at';
/** The sale's createdAt exactly as stored (the column is a timestamptz: an ISO time with an offset would come back in UTC). */
const CREATED_TEXT = `tabshop_text(tabshop_navigable(record) -> 'sale' -> 'createdAt') AS created_text`;
const SUMMARY = `${ENTRY}, ${CREATED_TEXT}, total, vat, received_at,
  day_id AS day_text,
  (SELECT count(*) FROM sale_lines l WHERE l.sale_identifier = sales.identifier) AS lines`;
const QUARANTINE = 'id, at, code, reason, state, cash_register, invoice_id';

/**
 * The sales view on PostgreSQL: every answer is a query over `sales` and `quarantine`, so the
 * process holds nothing per sale. The push path's lookups read through the store's pending
 * overlay (getSale, getQuarantine); listings, counts and the feed first commit what this process
 * queued, then ask the database. The store's visit at open is ignored.
 */
export class PgSalesView implements SalesView {
  /** Stored records start-up could not load (rare): left out of every answer until stored again. */
  private readonly setAsideIds = new Set<string>();

  constructor(private readonly store: PgStore) {}

  loadSale(): void {}

  loadQuarantine(): void {}

  async open(): Promise<number> {
    const { rows } = await this.store.pool.query<{ seq: string | null }>('SELECT max(seq) AS seq FROM sales');
    return Number(rows[0]?.seq ?? 0);
  }

  saleStored(record: SaleRecord): void {
    this.setAsideIds.delete(record.sale.identifier);
  }

  setAside(identifier: string): void {
    this.setAsideIds.add(identifier);
  }

  quarantineStored(): void {}

  /** One read through the store's pending overlay; the record goes back with the answer. */
  async match(identifier: string, identity: string, content: string): Promise<SaleMatch> {
    if (this.setAsideIds.has(identifier)) return { match: 'absent' };
    const record = await this.store.getSale(identifier);
    if (!record) return { match: 'absent' };
    if (record.content === content) return { match: 'same-content', record };
    return { match: record.identity === identity ? 'same-identity' : 'other-identity', record };
  }

  knownAbsent(identifier: string): boolean {
    return this.setAsideIds.has(identifier);
  }

  async entry(identifier: string): Promise<SaleIndexEntry | undefined> {
    await this.settle();
    if (this.setAsideIds.has(identifier)) return undefined;
    const { rows } = await this.store.pool.query<EntryRow>(`SELECT ${ENTRY}, ${CREATED_TEXT} FROM sales WHERE identifier = $1`, [textValue(identifier)]);
    return rows[0] && entryOf(rows[0]);
  }

  async summaries(identifiers: readonly string[]): Promise<Map<string, SaleIndexEntry & { summary: SaleSummary }>> {
    await this.settle();
    const out = new Map<string, SaleIndexEntry & { summary: SaleSummary }>();
    for (let i = 0; i < identifiers.length; i += PAGE) {
      const ids = identifiers.slice(i, i + PAGE).map((id) => textValue(id));
      const { rows } = await this.store.pool.query<SummaryRow>(`SELECT ${SUMMARY} FROM sales WHERE identifier = ANY($1::text[])`, [ids]);
      for (const row of rows) if (!this.setAsideIds.has(row.identifier)) out.set(row.identifier, { ...entryOf(row), summary: summaryOf(row) });
    }
    return out;
  }

  async summary(identifier: string): Promise<SaleSummary | undefined> {
    return (await this.summaries([identifier])).get(identifier)?.summary;
  }

  async *select(query: SaleQuery, order: Order = 'first-stored'): AsyncGenerator<SaleIndexEntry> {
    await this.settle();
    yield* this.keyset(query, order);
  }

  async page(query: SaleQuery, firstResult: number, maxResults: number, order: Order = 'first-stored'): Promise<{ items: SaleIndexEntry[]; total: number }> {
    await this.settle();
    const params: unknown[] = [];
    const where = this.whereOf(query, params);
    const count = await this.store.pool.query<{ n: string }>(`SELECT count(*) AS n FROM sales ${where}`, params);
    const { rows } = await this.store.pool.query<EntryRow>(
      `SELECT ${ENTRY} FROM sales ${where} ORDER BY first_seq ${order === 'newest-first' ? 'DESC' : ''}, identifier LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, maxResults, firstResult],
    );
    return { items: rows.map(entryOf), total: Number(count.rows[0].n) };
  }

  async *changedAfter(seq: number): AsyncGenerator<SaleIndexEntry> {
    await this.settle();
    yield* this.keyset({}, 'first-stored', seq);
  }

  async ofDays(dayIds: readonly string[]): Promise<SaleIndexEntry[]> {
    if (dayIds.length === 0) return [];
    await this.settle();
    const { rows } = await this.store.pool.query<EntryRow>(`SELECT ${ENTRY} FROM sales WHERE day_id = ANY($1::text[]) ORDER BY first_seq, identifier`, [
      dayIds.map((d) => textValue(d)),
    ]);
    return rows.filter((r) => !this.setAsideIds.has(r.identifier)).map(entryOf);
  }

  async latestByRegister(): Promise<Map<string, { identifier: string; seq: number }>> {
    await this.settle();
    // One index probe per register (a skip scan), not a pass over every sale.
    const { rows } = await this.store.pool.query<{ cash_register: string; identifier: string; seq: string }>(
      `WITH RECURSIVE r AS (
         (SELECT cash_register FROM sales ORDER BY cash_register LIMIT 1)
         UNION ALL
         SELECT (SELECT s.cash_register FROM sales s WHERE s.cash_register > r.cash_register ORDER BY s.cash_register LIMIT 1) FROM r WHERE r.cash_register IS NOT NULL
       )
       SELECT r.cash_register, l.identifier, l.seq FROM r
         CROSS JOIN LATERAL (SELECT identifier, seq FROM sales s WHERE s.cash_register = r.cash_register ORDER BY seq DESC LIMIT 1) l
       WHERE r.cash_register IS NOT NULL`,
    );
    return new Map(rows.filter((r) => !this.setAsideIds.has(r.identifier)).map((r) => [r.cash_register, { identifier: r.identifier, seq: Number(r.seq) }]));
  }

  async feed(from: number, to: number, max: number): Promise<{ seq: number; identifier: string }[]> {
    if (max <= 0 || to <= from) return [];
    await this.settle();
    const { rows } = await this.store.pool.query<{ seq: string; identifier: string }>(
      'SELECT seq, identifier FROM sales WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3',
      [from, to, max],
    );
    return rows.filter((r) => !this.setAsideIds.has(r.identifier)).map((r) => ({ seq: Number(r.seq), identifier: r.identifier }));
  }

  /** The sales_count row (migrations/0021, moved with every insert), less the sales set aside at start: one row read, whatever the history. */
  async count(): Promise<number> {
    await this.settle();
    const { rows } = await this.store.pool.query<{ n: string }>('SELECT n::text AS n FROM sales_count');
    return Number(rows[0].n) - this.setAsideIds.size;
  }

  async quarantineHas(id: string): Promise<boolean> {
    return (await this.store.getQuarantine(id)) !== undefined;
  }

  async quarantineSummaries(state: QuarantineState | 'all'): Promise<QuarantineSummary[]> {
    return (await this.quarantinePage(state, 0, null)).items;
  }

  async quarantinePage(state: QuarantineState | 'all', firstResult: number, maxResults: number | null): Promise<{ items: QuarantineSummary[]; total: number }> {
    await this.settle();
    const where = state === 'all' ? '' : 'WHERE state = $3';
    const params: unknown[] = [maxResults, firstResult];
    if (state !== 'all') params.push(state);
    const { rows } = await this.store.pool.query<QuarantineRow>(
      `SELECT ${QUARANTINE} FROM quarantine ${where} ORDER BY at, id COLLATE "C" LIMIT $1 OFFSET $2`,
      params,
    );
    const total = maxResults === null && firstResult === 0 ? rows.length : await this.quarantineCount(state);
    return { items: rows.map(quarantineOf), total };
  }

  async quarantineCount(state: QuarantineState | 'all'): Promise<number> {
    await this.settle();
    const { rows } =
      state === 'all'
        ? await this.store.pool.query<{ n: string }>('SELECT count(*) AS n FROM quarantine')
        : await this.store.pool.query<{ n: string }>('SELECT count(*) AS n FROM quarantine WHERE state = $1', [state]);
    return Number(rows[0].n);
  }

  private conditionsOf(q: SaleQuery, params: unknown[]): string[] {
    const conds: string[] = [];
    const add = (sql: (n: string) => string, value: unknown) => {
      params.push(value);
      conds.push(sql(`$${params.length}`));
    };
    if (q.cashRegisterName !== undefined) add((p) => `cash_register = ${p}`, textValue(q.cashRegisterName));
    if (q.status !== undefined) add((p) => `status = ${p}`, q.status);
    if (q.from !== undefined) add((p) => `created_at >= ${p}::timestamptz`, q.from);
    if (q.to !== undefined) add((p) => `created_at < ${p}::timestamptz`, q.to);
    if (this.setAsideIds.size > 0)
      add(
        (p) => `NOT (identifier = ANY(${p}::text[]))`,
        [...this.setAsideIds].map((id) => textValue(id)),
      );
    return conds;
  }

  private whereOf(q: SaleQuery, params: unknown[]): string {
    const conds = this.conditionsOf(q, params);
    return conds.length ? `WHERE ${conds.join(' AND ')}` : '';
  }

  /** What this process queued is committed first: a query sees every change stored before it. */
  private async settle(): Promise<void> {
    try {
      await this.store.commit();
    } catch (err) {
      throw new NotDurableError(err);
    }
  }

  /** Keyset pages in the order first stored (or newest first); `afterSeq`: only sales changed since. */
  private async *keyset(query: SaleQuery, order: Order, afterSeq?: number): AsyncGenerator<SaleIndexEntry> {
    const desc = order === 'newest-first';
    let last: { firstSeq: string; identifier: string } | null = null;
    for (;;) {
      const params: unknown[] = [];
      const conds = this.conditionsOf(query, params);
      if (afterSeq !== undefined) {
        params.push(afterSeq);
        conds.push(`seq > $${params.length}`);
      }
      if (last) {
        params.push(last.firstSeq, last.identifier);
        conds.push(`(first_seq, identifier) ${desc ? '<' : '>'} ($${params.length - 1}::bigint, $${params.length}::text)`);
      }
      params.push(PAGE);
      const { rows } = await this.store.pool.query<EntryRow>(
        `SELECT ${ENTRY} FROM sales ${conds.length ? `WHERE ${conds.join(' AND ')}` : ''}
         ORDER BY first_seq ${desc ? 'DESC' : ''}, identifier ${desc ? 'DESC' : ''} LIMIT $${params.length}`,
        params,
      );
      for (const row of rows) yield entryOf(row);
      if (rows.length < PAGE) return;
      const tail = rows[rows.length - 1];
      last = { firstSeq: tail.first_seq, identifier: tail.identifier };
    }
  }
}

function entryOf(row: EntryRow): SaleIndexEntry {
  return {
    identifier: row.identifier,
    cashRegisterName: row.cash_register,
    createdAt: row.created_text ?? row.created_at?.toISOString() ?? '',
    status: row.status as SaleStatus,
    seq: Number(row.seq),
  };
}

function summaryOf(row: SummaryRow): SaleSummary {
  return {
    total: Number(row.total ?? 0),
    vat: Number(row.vat ?? 0),
    lines: Number(row.lines),
    firstSeq: Number(row.first_seq),
    receivedAt: row.received_at?.toISOString() ?? '',
    dayId: row.day_text ?? null,
  };
}

function quarantineOf(row: QuarantineRow): QuarantineSummary {
  const s: QuarantineSummary = {
    id: row.id,
    at: row.at?.toISOString() ?? '',
    code: row.code as QuarantineSummary['code'],
    reason: row.reason ?? '',
    state: row.state,
  };
  if (row.cash_register !== null) s.cashRegisterName = row.cash_register;
  if (row.invoice_id !== null) s.invoiceId = row.invoice_id;
  return s;
}
