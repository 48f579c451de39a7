import type { BalanceMovement } from '../../domain/reports.js';
import type { BackOfficeStore, ClosedDay, PresenceDoc } from '../back-office-port.js';
import { insertRows, PendingDoc, PendingMap } from './commit-queue.js';
import type { PgStore } from './pg-store.js';
import { jsonText, numericValue, textValue, timeValue } from './sql-values.js';

/** Closed days (frozen Z reports), cash movements and presence on PostgreSQL, in the sales store's commit rounds. */
export class PgBackOfficeStore implements BackOfficeStore {
  private readonly days: PendingMap<ClosedDay>;
  private readonly movements: PendingMap<BalanceMovement>;
  private readonly presence: PendingDoc;
  private presenceDoc: PresenceDoc = { registers: {} };
  private buildPresence: (() => PresenceDoc) | null = null;

  constructor(private readonly store: PgStore) {
    this.days = new PendingMap(async (client, entries) =>
      insertRows(
        client,
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
    this.movements = new PendingMap(async (client, entries) =>
      insertRows(
        client,
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
      () => jsonText(this.currentPresence()),
      async (client, json) => {
        await client.query('INSERT INTO presence (id, doc) VALUES (true, $1::json) ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc', [json]);
      },
    );
    for (const part of [this.days, this.movements, this.presence]) store.join(part);
  }

  async open(visit: Parameters<BackOfficeStore['open']>[0]): Promise<PresenceDoc> {
    const days = await this.store.pool.query<{ day: ClosedDay }>('SELECT day FROM closed_days ORDER BY cash_register, day_no');
    for (const row of days.rows) visit.onClosedDay(row.day);
    const movements = await this.store.pool.query<{ movement: BalanceMovement }>('SELECT movement FROM cash_movements ORDER BY cash_register, at, id');
    for (const row of movements.rows) visit.onMovement(row.movement);
    const presence = await this.store.pool.query<{ doc: PresenceDoc }>('SELECT doc FROM presence WHERE id');
    this.presenceDoc = { registers: presence.rows[0]?.doc?.registers ?? {} };
    return this.presenceDoc;
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

  private currentPresence(): PresenceDoc {
    if (this.buildPresence) {
      this.presenceDoc = this.buildPresence();
      this.buildPresence = null;
    }
    return this.presenceDoc;
  }
}
