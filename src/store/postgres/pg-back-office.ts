import type { BalanceMovement } from '../../domain/reports.js';
import type { BackOfficeRefresh, BackOfficeVisit, DayFiguresRow, RegisterRow } from '../../domain/ports/back-office-store.js';
import type { SaleRecord } from '../../domain/ports/records.js';
import type { BackOfficeStore, ClosedDay, PresenceDoc } from '../back-office-port.js';
import { insertPiece, PendingDoc, PendingMap, PendingSnapshots } from './commit-queue.js';
import { PgStats } from './pg-stats.js';
import type { PgStore } from './pg-store.js';
import { jsonText, numericValue, textValue, timeValue } from './sql-values.js';

const BACKFILL_PAGE = 5000;

/**
 * Closed days (frozen Z reports), cash movements, presence, and the rows of what the back office
 * counts (register state, day figures, stats buckets) on PostgreSQL, in the sales store's commit
 * rounds: a start reads registers and the days not closed, never the sales (but once, to write
 * the rows of a database whose sales were stored by a previous version).
 */
export class PgBackOfficeStore implements BackOfficeStore {
  readonly keepsRows = true;
  readonly stats: PgStats;
  private readonly registers: PendingSnapshots<RegisterRow>;
  private readonly dayFigures: PendingSnapshots<DayFiguresRow>;
  private readonly backfill: PendingDoc;
  private readonly days: PendingMap<ClosedDay>;
  private readonly movements: PendingMap<BalanceMovement>;
  private readonly presence: PendingDoc;
  private presenceDoc: PresenceDoc = { registers: {} };
  /** Each register's presence (its JSON) as this process's rounds last committed it: a round writes only the registers that changed since. */
  private readonly presenceWritten = new Map<string, string>();
  /** What the running round writes of it (rounds run one at a time). */
  private presenceTaken: [name: string, text: string][] = [];
  private buildPresence: (() => PresenceDoc) | null = null;

  constructor(private readonly store: PgStore) {
    this.days = new PendingMap(async (_client, entries) =>
      insertPiece(
        'closed_days',
        [
          ['day_id', 'text'],
          ['cash_register', 'text'],
          ['day_no', 'integer'],
          ['opened_at', 'timestamptz'],
          ['closed_at', 'timestamptz'],
          ['day', 'json'],
        ],
        entries.map(([, d]) => [textValue(d.dayId), textValue(d.cashRegisterName) ?? '', d.dayNo, timeValue(d.openedAt), timeValue(d.closedAt), jsonText(d)]),
        ['day_id'],
      ),
    );
    this.movements = new PendingMap(async (_client, entries) =>
      insertPiece(
        'cash_movements',
        [
          ['id', 'text'],
          ['cash_register', 'text'],
          ['at', 'timestamptz'],
          ['amount', 'numeric'],
          ['movement', 'json'],
        ],
        entries.map(([, m]) => [textValue(m.id), textValue(m.cashRegisterName) ?? '', timeValue(m.at), numericValue(m.amount), jsonText(m)]),
        ['id'],
      ),
    );
    this.presence = new PendingDoc(
      () => this.presenceChanges(),
      // Several processes write it: each time keeps the later of the stored one and this one's; only the
      // registers written are merged, the others stay as stored (migrations/0017, 0019).
      async (_client, json) =>
        json === ''
          ? []
          : [
              {
                sql: 'INSERT INTO presence (id, doc) VALUES (true, $1::json) ON CONFLICT (id) DO UPDATE SET doc = tabshop_presence_merge_some(presence.doc::jsonb, EXCLUDED.doc::jsonb)::json',
                params: [json],
              },
            ],
      (committed) => {
        if (committed) for (const [name, text] of this.presenceTaken) this.presenceWritten.set(name, text);
        this.presenceTaken = [];
      },
    );
    this.registers = new PendingSnapshots(async (_client, rows) =>
      insertPiece(
        'back_office_registers',
        [
          ['cash_register', 'text'],
          ['sale_changes', 'bigint'],
          ['register', 'json'],
        ],
        rows.map((r) => [textValue(r.cashRegisterName) ?? '', r.saleChanges, jsonText(r)]),
        ['cash_register'],
      ),
    );
    this.dayFigures = new PendingSnapshots(async (_client, rows) =>
      insertPiece(
        'day_figures',
        [
          ['day_id', 'text'],
          ['cash_register', 'text'],
          ['day_no', 'integer'],
          ['opened_at', 'timestamptz'],
          ['closed', 'boolean'],
          ['day', 'json'],
        ],
        rows.map((d) => [textValue(d.dayId) ?? '', textValue(d.cashRegisterName) ?? '', d.dayNo, timeValue(d.openedAt), d.closed, jsonText(d)]),
        ['day_id'],
      ),
    );
    this.stats = new PgStats(store);
    this.backfill = new PendingDoc(
      () => 'true',
      async () => [{ sql: 'UPDATE back_office_state SET backfilled = true WHERE id', params: [] }],
    );
    for (const part of [this.days, this.movements, this.presence, this.registers, this.dayFigures, this.stats, this.backfill]) store.join(part);
    store.onRefreshRows(async (client, since) => {
      if (this.refreshListeners.size === 0) return null;
      const changed = since === null ? '' : ' WHERE state_version > $1';
      const params = since === null ? [] : [since];
      const registers = await client.query<{ register: RegisterRow }>(`SELECT register FROM back_office_registers${changed}`, params);
      const days = await client.query<{ day: DayFiguresRow }>(
        since === null ? 'SELECT day FROM day_figures WHERE NOT closed' : `SELECT day FROM day_figures${changed}`,
        params,
      );
      const closedDays = await client.query<{ day: ClosedDay }>(`SELECT day FROM closed_days${changed}`, params);
      const movements = await client.query<{ movement: BalanceMovement }>(`SELECT movement FROM cash_movements${changed}`, params);
      const presence = await client.query<{ doc: PresenceDoc }>(`SELECT doc FROM presence${since === null ? '' : ' WHERE state_version > $1'}`, params);
      const changes = registers.rows.length + days.rows.length + closedDays.rows.length + movements.rows.length + presence.rows.length;
      if (since !== null && changes === 0) return null;
      const r: BackOfficeRefresh = {
        full: since === null,
        registers: registers.rows.map((row) => row.register),
        days: days.rows.map((row) => row.day),
        closedDays: closedDays.rows.map((row) => row.day),
        movements: movements.rows.map((row) => row.movement),
        presence: presence.rows[0]?.doc,
      };
      return () => {
        for (const l of this.refreshListeners) l(r);
      };
    });
  }

  private readonly refreshListeners = new Set<(r: BackOfficeRefresh) => void>();

  onRefresh(listener: (r: BackOfficeRefresh) => void): void {
    this.refreshListeners.add(listener);
  }

  async open(visit: BackOfficeVisit): Promise<PresenceDoc> {
    const { pool } = this.store;
    const state = await pool.query<{ backfilled: boolean }>('SELECT backfilled FROM back_office_state WHERE id');
    if (state.rows[0]?.backfilled) {
      const registers = await pool.query<{ register: RegisterRow }>('SELECT register FROM back_office_registers ORDER BY cash_register');
      for (const row of registers.rows) visit.onRegister?.(row.register);
      const days = await pool.query<{ day: DayFiguresRow }>(
        'SELECT day FROM day_figures d WHERE NOT closed AND NOT EXISTS (SELECT 1 FROM closed_days c WHERE c.day_id = d.day_id) ORDER BY cash_register, day_no',
      );
      for (const row of days.rows) visit.onDayFigures?.(row.day);
    } else {
      // Rows of a partial import are recomputed from the sales with the others.
      await pool.query('DELETE FROM back_office_registers; DELETE FROM day_figures; DELETE FROM stats_buckets; DELETE FROM stats_items');
      visit.onBackfill?.();
      let last = '';
      for (;;) {
        const { rows } = await pool.query<{ key: string; record: SaleRecord }>(
          'SELECT identifier AS key, record FROM sales WHERE identifier > $1 ORDER BY identifier LIMIT $2',
          [last, BACKFILL_PAGE],
        );
        for (const row of rows) visit.onSale?.(row.record);
        // The stats counted so far are written page by page: memory stays bounded by a page, not the history.
        // (Until backfilled() commits, a later start deletes them and counts again.)
        await this.store.commit();
        if (rows.length < BACKFILL_PAGE) break;
        last = rows[rows.length - 1].key;
      }
    }
    const days = await this.store.pool.query<{ day: ClosedDay }>('SELECT day FROM closed_days ORDER BY cash_register, day_no');
    for (const row of days.rows) visit.onClosedDay(row.day);
    const movements = await this.store.pool.query<{ movement: BalanceMovement }>('SELECT movement FROM cash_movements ORDER BY cash_register, at, id');
    for (const row of movements.rows) visit.onMovement(row.movement);
    const presence = await this.store.pool.query<{ doc: PresenceDoc }>('SELECT doc FROM presence WHERE id');
    this.presenceDoc = { registers: presence.rows[0]?.doc?.registers ?? {} };
    return this.presenceDoc;
  }

  putRegister(name: string, snapshot: () => RegisterRow): void {
    this.registers.set(name, snapshot);
  }

  putDayFigures(dayId: string, snapshot: () => DayFiguresRow): void {
    this.dayFigures.set(dayId, snapshot);
  }

  backfilled(): void {
    this.backfill.mark();
  }

  async putClosedDay(day: ClosedDay): Promise<void> {
    this.days.set(day.dayId, day);
  }

  async putMovement(m: BalanceMovement): Promise<void> {
    this.movements.set(m.id, m);
  }

  savePresence(doc: PresenceDoc): void {
    this.presenceDoc = doc;
    this.buildPresence = null;
    this.presence.mark();
  }

  /** One small row in the next round's transaction: cheap here, so no separate timer as on files. */
  savePresenceLater(build: () => PresenceDoc): void {
    this.buildPresence = build;
    this.presence.mark();
  }

  /**
   * The registers whose presence changed since this process last committed it, as a presence
   * document ('' when none did). Every push moves its register's times, so writing the whole
   * document (a register per tablet) made every round merge every register in SQL.
   */
  private presenceChanges(): string {
    this.presenceTaken = [];
    for (const [name, entry] of Object.entries(this.currentPresence().registers)) {
      const text = jsonText(entry);
      if (this.presenceWritten.get(name) !== text) this.presenceTaken.push([name, text]);
    }
    if (this.presenceTaken.length === 0) return '';
    return `{"registers":{${this.presenceTaken.map(([name, text]) => `${jsonText(name)}:${text}`).join(',')}}}`;
  }

  private currentPresence(): PresenceDoc {
    if (this.buildPresence) {
      this.presenceDoc = this.buildPresence();
      this.buildPresence = null;
    }
    return this.presenceDoc;
  }
}
