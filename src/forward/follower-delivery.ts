import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { GatewayEvents } from '../events.js';
import { attachEventLog } from '../ops/event-log.js';
import type pg from 'pg';
import { createPool, WRITER_SCHEMA } from '../store/postgres/connection.js';
import { OutboxTable, workerId, type ClaimedItem } from '../store/postgres/outbox-table.js';
import { ClaimWorkers } from './claim-workers.js';
import { deliveryTargets, outboxLeaseMs } from './forwarding.js';

/** A follower's connections: claims and settlements only. */
const FOLLOWER_POOL_SIZE = 2;
/** How often a follower looks again which kind of process leads. */
const LEADER_CHECK_MS = 2_000;

/**
 * The outbox table, claimed only while the leading process claims from it too: a leader of a
 * version that delivers its outbox from memory (a rolling upgrade: gateway_leader.writer_schema
 * below 8, migrations/0009) delivers every item itself, so claiming them here would send each
 * one twice and out of order.
 */
class LeaderGatedTable extends OutboxTable {
  leaderClaims = false;
  private checked = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly db: pg.Pool,
    id: string,
    private readonly log: Logger,
  ) {
    super(db, id);
    this.timer = setInterval(() => void this.check(), LEADER_CHECK_MS);
    this.timer.unref();
  }

  async check(): Promise<void> {
    const leaderClaims = await this.db.query<{ writer_schema: number }>('SELECT writer_schema FROM gateway_leader WHERE id').then(
      ({ rows }) => (rows[0]?.writer_schema ?? 0) >= WRITER_SCHEMA,
      () => this.leaderClaims,
    );
    if (leaderClaims !== this.leaderClaims || !this.checked) {
      if (leaderClaims && this.checked) this.log.info('following: the leading process claims the outbox from the table; this one delivers too');
      else if (!leaderClaims)
        this.log.warn(
          'following a process of a previous version, which delivers the outbox from its memory: this one does not deliver until a process of this version leads',
        );
    }
    this.leaderClaims = leaderClaims;
    this.checked = true;
  }

  override async claim(target: string, limit: number, leaseMs: number): Promise<ClaimedItem[]> {
    return this.leaderClaims ? super.claim(target, limit, leaseMs) : [];
  }

  stopChecking(): void {
    clearInterval(this.timer);
  }
}

/**
 * Delivery in a process that follows another on PostgreSQL: it holds no state, but the outbox is
 * a table any process may claim from, so it delivers too (its own upstream client and breaker).
 * The leader adds the items, polls the catalogue and shows the figures.
 */
export class FollowerDelivery {
  private constructor(
    private readonly workers: ClaimWorkers,
    private readonly close: () => Promise<void>,
  ) {}

  /** Null when nothing is forwarded (no upstream, no webhooks). */
  static async start(config: Config, logger: Logger): Promise<FollowerDelivery | null> {
    if (!config.store.postgres || (!config.upstream && config.webhooks.length === 0)) return null;
    const log = logger.child({ component: 'forward' });
    const pool = createPool({ ...config.store.postgres, poolSize: FOLLOWER_POOL_SIZE }, (err) =>
      log.warn({ err: err.message }, 'idle PostgreSQL connection failed'),
    );
    const events = new GatewayEvents();
    attachEventLog(events, logger);
    const { targets, client } = deliveryTargets(config, events, log, () => new Date());
    const table = new LeaderGatedTable(pool, workerId(), log);
    await table.check();
    const workers = new ClaimWorkers(targets, { table, leaseMs: outboxLeaseMs(config), logger: log, events, notifyUrl: config.store.postgres.url });
    workers.start();
    if (table.leaderClaims)
      log.info({ targets: targets.map((t) => t.name) }, 'following: this process delivers outbox items too (claimed from the shared table)');
    return new FollowerDelivery(workers, async () => {
      table.stopChecking();
      for (const t of targets) t.close();
      client?.close();
      await pool.end().catch(() => undefined);
    });
  }

  /** Finishes or gives back its claims, then closes its connections. */
  async stop(graceMs = 2_000): Promise<void> {
    await this.workers.stop(graceMs);
    await this.close();
  }
}
