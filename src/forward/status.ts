/**
 * What forwarding (bridge mode upstream + webhooks) exposes to the API, the status page and
 * metrics. Standalone gateways without webhooks have none.
 */
export interface OutboxTargetState {
  target: string;            // "upstream" or "webhook:<url>"
  depth: number;             // items waiting
  oldestAgeMs: number | null;
  attempts: number;          // attempts on the head item
  lastError: string | null;
  nextAttemptAt: string | null;
  registers: Record<string, { depth: number; oldestAgeMs: number | null }>;
}

export interface DeadLetter {
  identifier: string;
  target: string;
  sale: unknown;
  attempts: number;
  lastError: string;
  at: string;
}

export interface ForwardingStatus {
  targets(): OutboxTargetState[];
  deadLetters(): DeadLetter[];
  /** Moves a dead letter back into its queue; false when there is no such dead letter. */
  retryDeadLetter(identifier: string): Promise<boolean>;
  upstream(): { mode: 'standalone' | 'bridge'; reachable: boolean | null; breaker: 'open' | 'half-open' | 'closed' | null; lastSyncAt: string | null; catalogueCached: boolean } ;
}
