import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { GatewayEvents } from '../events.js';
import { attachEventLog } from '../ops/event-log.js';
import { createPool } from '../store/postgres/connection.js';
import { OutboxTable, workerId } from '../store/postgres/outbox-table.js';
import { ClaimWorkers } from './claim-workers.js';
import { deliveryTargets, outboxLeaseMs } from './forwarding.js';

/** A follower's connections: claims and settlements only. */
const FOLLOWER_POOL_SIZE = 2;

/**
 * Delivery in a process that follows another on PostgreSQL: it holds no state, but the outbox is
 * a table any process may claim from, so it delivers too (its own upstream client and breaker).
 * The leader adds the items, polls the catalogue and shows the figures.
 */
export class FollowerDelivery {
  private constructor(private readonly workers: ClaimWorkers, private readonly close: () => Promise<void>) {}

  /** Null when nothing is forwarded (no upstream, no webhooks). */
  static start(config: Config, logger: Logger): FollowerDelivery | null {
    if (!config.store.postgres || (!config.upstream && config.webhooks.length === 0)) return null;
    const log = logger.child({ component: 'forward' });
    const pool = createPool({ ...config.store.postgres, poolSize: FOLLOWER_POOL_SIZE }, (err) => log.warn({ err: err.message }, 'idle PostgreSQL connection failed'));
    const events = new GatewayEvents();
    attachEventLog(events, logger);
    const { targets, client } = deliveryTargets(config, events, log, () => new Date());
    const workers = new ClaimWorkers(targets, { table: new OutboxTable(pool, workerId()), leaseMs: outboxLeaseMs(config), logger: log, events });
    workers.start();
    log.info({ targets: targets.map((t) => t.name) }, 'following: this process delivers outbox items too (claimed from the shared table)');
    return new FollowerDelivery(workers, async () => {
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
