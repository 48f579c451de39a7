import type { BalanceMovement, DayReport } from '../reports.js';

/** A closed register day: its Z report is frozen here and never changes. */
export interface ClosedDay {
  dayId: string;
  cashRegisterName: string;
  dayNo: number;
  openedAt: string;
  closedAt: string;
  closedBy: string;
  report: DayReport;
}

/** Presence of registers and devices, written along with other back-office writes (not on every poll). */
export interface PresenceDoc {
  registers: Record<
    string,
    {
      lastSeenAt: string | null;
      lastPushAt: string | null;
      devices: Record<string, { lastSeenAt: string | null; lastPushAt: string | null }>;
    }
  >;
}

/**
 * Storage of the back office (days, cash movements, presence). Everything else it needs is derived
 * from the stored sales. Writes are durable at the sales store's next commit (same round).
 */
export interface BackOfficeStore {
  open(visit: { onClosedDay(day: ClosedDay): void; onMovement(m: BalanceMovement): void }): Promise<PresenceDoc>;
  putClosedDay(day: ClosedDay): Promise<void>;
  putMovement(m: BalanceMovement): Promise<void>;
  savePresence(doc: PresenceDoc): void;
  /** Presence changed (a push): written later, off the commit path, with the document `build` returns then. */
  savePresenceLater(build: () => PresenceDoc): void;
}
