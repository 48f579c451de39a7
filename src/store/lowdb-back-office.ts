import { join } from 'node:path';
import { Low } from 'lowdb';
import type { BalanceMovement } from '../domain/reports.js';
import { StatsIndex } from '../domain/stats.js';
import type { BackOfficeStore, ClosedDay, PresenceDoc } from './back-office-port.js';
import { ChunkedCollection } from './chunked-collection.js';
import { DurableJSONFile } from './durable-file.js';
import type { GroupCommit } from './group-commit.js';

const safeSegment = (s: string) => encodeURIComponent(s).replace(/\./g, '%2E');

/**
 * backoffice/days/<register>/c-NNNNNN.json (closed days with their Z report), backoffice/balance/<register>/…
 * (cash movements), both chunked as they accumulate, and backoffice/presence.json (one small document).
 * Register state, day figures and stats are not stored: the back office derives them from the sales
 * loaded at start, and the stats live in memory.
 */
export class LowdbBackOfficeStore implements BackOfficeStore {
  readonly keepsRows = false;
  readonly stats = new StatsIndex();
  private readonly days: ChunkedCollection<ClosedDay>;
  private readonly movements: ChunkedCollection<BalanceMovement>;
  private readonly presence: Low<PresenceDoc>;

  constructor(
    dataDir: string,
    private readonly commit: GroupCommit,
  ) {
    const root = join(dataDir, 'backoffice');
    this.days = new ChunkedCollection(join(root, 'days'), commit, (d) => d.dayId, 100);
    this.movements = new ChunkedCollection(join(root, 'balance'), commit, (m) => m.id, 500);
    this.presence = new Low(new DurableJSONFile<PresenceDoc>(join(root, 'presence.json')), { registers: {} });
  }

  async open(visit: Parameters<BackOfficeStore['open']>[0]): Promise<PresenceDoc> {
    await this.days.load(visit.onClosedDay);
    await this.movements.load(visit.onMovement);
    await this.presence.read();
    this.presence.data = { registers: this.presence.data.registers ?? {} };
    return this.presence.data;
  }

  putClosedDay(day: ClosedDay): Promise<void> {
    return this.days.put(safeSegment(day.cashRegisterName), day);
  }

  putMovement(m: BalanceMovement): Promise<void> {
    return this.movements.put(safeSegment(m.cashRegisterName), m);
  }

  putRegister(): void {}

  putDayFigures(): void {}

  backfilled(): void {}

  savePresence(doc: PresenceDoc): void {
    const db = this.presence;
    db.data = doc;
    this.commit.markDirty({ path: (db.adapter as DurableJSONFile<PresenceDoc>).path, write: () => db.write() });
  }

  /** Presence may lag behind a crash by a few seconds (it is not what a push acknowledges): written at a checkpoint. */
  savePresenceLater(build: () => PresenceDoc): void {
    const db = this.presence;
    this.commit.markLazy({
      path: (db.adapter as DurableJSONFile<PresenceDoc>).path,
      write: () => {
        db.data = build();
        return db.write();
      },
    });
  }
}
