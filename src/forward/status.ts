/**
 * What forwarding (bridge mode upstream + webhooks) exposes to the API, the status page and
 * metrics. Standalone gateways without webhooks have none.
 */
export interface RegisterOutboxState {
  depth: number;
  oldestAgeMs: number | null;
  deadLetters: number;
  /** Failed attempts on the register's head item. */
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
}

export interface OutboxTargetState {
  target: string; // "upstream" or "webhook:<url>"
  depth: number; // items waiting
  oldestAgeMs: number | null;
  deadLetters: number;
  attempts: number; // attempts on the head item
  lastError: string | null;
  nextAttemptAt: string | null;
  registers: Record<string, RegisterOutboxState>;
}

export interface DeadLetter {
  identifier: string;
  target: string;
  sale: unknown;
  /** A kitchen.order dead letter: the order (no sale). */
  order?: unknown;
  attempts: number;
  lastError: string;
  at: string;
  /** `<identifier>@<change seq>`: the one sale change that was refused. */
  key: string;
  event: string;
  /** The refusing HTTP status (null when there was none) and an excerpt of its body. */
  status: number | null;
  response: string;
  /** open: needs a person; dismissed: an admin said why it may stay undelivered (resolvedAt/By, resolution). */
  state: DeadLetterState;
  resolvedAt?: string;
  resolvedBy?: string;
  resolution?: string;
}

export type DeadLetterState = 'open' | 'dismissed';

export interface UpstreamState {
  mode: 'standalone' | 'bridge';
  reachable: boolean | null;
  breaker: 'open' | 'half-open' | 'closed' | null;
  lastSyncAt: string | null;
  catalogueCached: boolean;
  lastSyncError?: string | null;
}

export interface ForwardingStatus {
  targets(): OutboxTargetState[];
  /** Reads the figures and dead letters again where other processes change them too (PostgreSQL); awaited before showing them. */
  refresh?(): Promise<void>;
  /** The open dead letters (those that need a person), or those of another state. */
  deadLetters(state?: DeadLetterState | 'all'): DeadLetter[];
  /**
   * Moves a dead letter (open or dismissed) back into its queue, optionally to be sent as a PUT, of
   * every target or of `opts.target` only; false when there is no such dead letter.
   */
  retryDeadLetter(identifier: string, opts?: { method?: 'PUT'; target?: string }): Promise<boolean>;
  /** Dismisses the open dead letters of a sale (identifier) or of one change (key), of every target or of `target` only, keeping them; how many. */
  dismissDeadLetter(identifier: string, reason: string, by: string, target?: string): Promise<number>;
  upstream(): UpstreamState;
}
