/**
 * The domain's unit of work. Everything `work` changes (journal entry, sales, stock moves, day
 * figures, cash movements, quarantine, articles and their change feed, outbox items) is durable
 * together once transact resolves. A transact inside another joins the outer one, and only the
 * outermost waits for the store, so a route that makes several changes wraps them in one transact
 * and a service method that makes one change runs inside its own.
 */
export interface UnitOfWork {
  transact<T>(work: () => Promise<T>): Promise<T>;
  /** Resolves once every change made before the call is durable (a read that must never serve what a crash could lose). */
  durable(): Promise<void>;
}

/** What the store gives a unit of work: a commit that makes every change made before it durable (shared by concurrent callers). */
export interface Durability {
  commit(): Promise<void>;
  /** The last commit failed and its changes wait for the next one (PostgreSQL: the database was down). */
  readonly lastCommitFailed?: boolean;
  /** Write access before an outermost unit runs its work (PostgreSQL: the write lease); absent: always granted. */
  beginWrite?(): Promise<() => void>;
}

/** The changes of a unit of work could not be made durable (the store's error is the cause); a request answers 5xx. */
export class NotDurableError extends Error {
  constructor(cause: unknown) {
    super(`the changes could not be stored durably: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'NotDurableError';
  }
}
