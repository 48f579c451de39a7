import type { DeadLetter, ForwardingStatus, OutboxTargetState } from '../../src/forward/status.js';

type UpstreamState = ReturnType<ForwardingStatus['upstream']>;

/** A ForwardingStatus held in memory: tests set its state and see the retries. */
export class FakeForwarding implements ForwardingStatus {
  targetStates: OutboxTargetState[] = [];
  dead: DeadLetter[] = [];
  dismissed: DeadLetter[] = [];
  retried: string[] = [];
  upstreamState: UpstreamState = { mode: 'bridge', reachable: true, breaker: 'closed', lastSyncAt: null, catalogueCached: true };

  targets(): OutboxTargetState[] {
    return this.targetStates;
  }

  deadLetters(state: 'open' | 'dismissed' | 'all' = 'open'): DeadLetter[] {
    return state === 'open' ? this.dead : state === 'dismissed' ? this.dismissed : [...this.dead, ...this.dismissed];
  }

  async dismissDeadLetter(identifier: string, reason: string, by: string): Promise<number> {
    const mine = this.dead.filter((d) => d.identifier === identifier);
    this.dead = this.dead.filter((d) => d.identifier !== identifier);
    for (const d of mine) this.dismissed.push({ ...d, state: 'dismissed', resolvedAt: new Date().toISOString(), resolvedBy: by, resolution: reason });
    return mine.length;
  }

  /** Every successful retry with its options (a PUT retry after a collision). */
  retriedWith: { identifier: string; method?: 'PUT'; target?: string }[] = [];

  async retryDeadLetter(identifier: string, opts: { method?: 'PUT'; target?: string } = {}): Promise<boolean> {
    const i = this.dead.findIndex((d) => d.identifier === identifier);
    if (i < 0) return false;
    const [letter] = this.dead.splice(i, 1);
    this.retried.push(identifier);
    this.retriedWith.push({ identifier, ...opts });
    const target = this.targetStates.find((t) => t.target === letter.target);
    if (target) target.depth++;
    return true;
  }

  upstream(): UpstreamState {
    return this.upstreamState;
  }
}

export function target(name: string, over: Partial<OutboxTargetState> = {}): OutboxTargetState {
  return { target: name, depth: 0, oldestAgeMs: null, deadLetters: 0, attempts: 0, lastError: null, nextAttemptAt: null, registers: {}, ...over };
}

export function deadLetter(identifier: string, over: Partial<DeadLetter> = {}): DeadLetter {
  return {
    identifier,
    target: 'upstream',
    sale: {},
    attempts: 3,
    lastError: '422 unknown product 999',
    at: new Date().toISOString(),
    key: `${identifier}@1`,
    event: 'sale.created',
    status: 422,
    response: 'unknown product 999',
    state: 'open',
    ...over,
  };
}
