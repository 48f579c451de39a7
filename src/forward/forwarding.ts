import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { Catalog } from '../domain/catalog.js';
import type { SalesLedger } from '../domain/ledger.js';
import type { GatewayEvents } from '../events.js';
import type { OutboxStorage } from '../store/outbox-port.js';
import type { OutboxTable } from '../store/postgres/outbox-table.js';
import type { Store } from '../store/port.js';
import { CatalogSync } from './catalog-sync.js';
import type { DeliveryTarget } from './delivery.js';
import { Outbox } from './outbox.js';
import type { UnacknowledgedChange } from './pending-stock.js';
import { TableOutbox } from './table-outbox.js';
import type { DeadLetter, DeadLetterState, ForwardingStatus, OutboxTargetState, UpstreamState } from './status.js';
import { HttpClient } from './upstream-client.js';
import { UpstreamTarget } from './upstream-target.js';
import { webhookName, WebhookTarget } from './webhook.js';
import { redactUrl } from '../ops/safe-target.js';
import type { KitchenOrderView } from '../kitchen/types.js';

export interface ForwardingDeps {
  config: Config;
  store: Store;
  /** The outbox storage of the store's backend (files or PostgreSQL), in the store's commit rounds. */
  outboxStore: () => OutboxStorage;
  /** PostgreSQL: the outbox table that delivery workers claim from (any process may deliver). */
  outboxTable?: () => OutboxTable;
  catalog: Catalog;
  ledger: SalesLedger;
  events: GatewayEvents;
  logger: Logger;
  now: () => Date;
}

/** What Forwarding needs of an outbox: the in-memory queues over files, or the claimed PostgreSQL table. */
type OutboxService = Pick<
  Outbox,
  | 'open'
  | 'prepareSaleStored'
  | 'onQuarantineAdded'
  | 'addKitchenDeadLetter'
  | 'start'
  | 'stop'
  | 'targets'
  | 'deadLetters'
  | 'retryDeadLetters'
  | 'dismissDeadLetters'
> & {
  saleItemsOf(target: string): UnacknowledgedChange[] | Promise<UnacknowledgedChange[]>;
  refresh?(): Promise<void>;
};

/**
 * How long a claim on an outbox item lasts: it must outlive any delivery (a request ends by its
 * timeout, plus a moment), and it is how long a killed process's items wait for another one.
 */
export function outboxLeaseMs(config: Config): number {
  const timeouts = [config.upstream?.timeoutMs ?? 0, ...config.webhooks.map((h) => h.timeoutMs)];
  return Math.max(10_000, 2 * Math.max(...timeouts) + 1_000);
}

/**
 * The delivery targets of the config: upstream (bridge mode; its client, whose breaker the
 * catalogue poll shares) and each webhook, named as the outbox stores them.
 */
export function deliveryTargets(
  config: Config,
  events: GatewayEvents,
  log: Logger,
  now: () => Date,
): { targets: DeliveryTarget[]; client: HttpClient | null; hookUrls: Map<string, string> } {
  const nowMs = () => now().getTime();
  const targets: DeliveryTarget[] = [];
  let client: HttpClient | null = null;
  if (config.upstream) {
    const up = config.upstream;
    client = new HttpClient({
      baseUrl: up.baseUrl,
      timeoutMs: up.timeoutMs,
      username: up.username,
      password: up.password,
      apiKey: up.apiKey,
      now: nowMs,
      breaker: {
        failures: up.breakerFailures,
        cooldownMs: up.breakerCooldownMs,
        onChange: (state, failures) => {
          events.emit('upstream.breaker', { state, failures });
          log[state === 'open' ? 'warn' : 'info']({ state, failures, cooldownMs: up.breakerCooldownMs }, `upstream circuit breaker ${state}`);
        },
      },
      onRequest: (e) => events.emit('upstream.request', e),
    });
    targets.push(new UpstreamTarget(client, up.retryCapMs, nowMs));
  }
  const hookUrls = new Map<string, string>();
  for (const hook of config.webhooks) {
    if (hookUrls.has(hook.url)) {
      log.warn({ url: redactUrl(hook.url) }, 'webhook listed twice; the second entry is ignored');
      continue;
    }
    // Two URLs that differ only in their secrets redact alike: numbered in config order.
    let name = webhookName(hook.url);
    for (let n = 2; targets.some((t) => t.name === name); n++) name = `${webhookName(hook.url)}#${n}`;
    hookUrls.set(hook.url, name);
    targets.push(new WebhookTarget(hook, nowMs, name));
  }
  return { targets, client, hookUrls };
}

/**
 * Bridge mode (articles from upstream, sales to upstream) and webhooks, wired together: one
 * upstream client (breaker shared by the catalogue poll and the sales worker), one outbox
 * queue per target, the catalogue poll.
 */
export class Forwarding implements ForwardingStatus {
  private constructor(
    private readonly outbox: OutboxService,
    private readonly client: HttpClient | null,
    readonly catalogSync: CatalogSync | null,
    /** Each webhook's outbox target name, by its configured URL. */
    private readonly hookTargets: ReadonlyMap<string, string>,
  ) {}

  /** Undefined for a standalone gateway without webhooks: nothing to forward. */
  static async open(deps: ForwardingDeps): Promise<Forwarding | undefined> {
    const { config, store, catalog, ledger, events, logger, now } = deps;
    if (!config.upstream && config.webhooks.length === 0) return undefined;
    const log = logger.child({ component: 'forward' });
    const { targets, client, hookUrls } = deliveryTargets(config, events, log, now);
    const commit = () => store.commit();
    const outbox: OutboxService = deps.outboxTable
      ? new TableOutbox({
          store: deps.outboxStore(),
          table: deps.outboxTable(),
          ledger,
          commit,
          logger: log,
          events,
          now,
          leaseMs: outboxLeaseMs(config),
          notifyUrl: config.store.postgres?.url,
        })
      : new Outbox({ store: deps.outboxStore(), ledger, commit, logger: log, events, now });
    const opened = await outbox.open(targets);
    ledger.use({ prepare: (record, previous) => outbox.prepareSaleStored(record, previous) });
    // In the ledger's step that stored the item, so the event is durable with it.
    events.on('quarantine', (q) => outbox.onQuarantineAdded(q));
    log.info({ targets: targets.map((t) => t.name), ...opened }, 'outbox opened');
    const catalogSync =
      client && config.upstream
        ? new CatalogSync({
            client,
            catalog,
            ledger,
            store,
            logger: log,
            events,
            now,
            pollIntervalMs: config.upstream.pollIntervalMs,
            unacknowledged: () => outbox.saleItemsOf('upstream'),
          })
        : null;
    return new Forwarding(outbox, client, catalogSync, hookUrls);
  }

  start(): void {
    this.outbox.start();
    this.catalogSync?.start();
  }

  /** Finishes the current deliveries (bounded), stops polling, writes what is pending. */
  async stop(graceMs = 2_000): Promise<void> {
    await this.catalogSync?.stop();
    await this.outbox.stop(graceMs);
    this.client?.close();
  }

  /** Tablets may be served: standalone always; bridge once a catalogue from upstream is on disk. */
  ready(): boolean {
    return this.catalogSync === null || this.catalogSync.cached;
  }

  targets(): OutboxTargetState[] {
    return this.outbox.targets();
  }

  /**
   * Reads the outbox figures and dead letters again where they live in a shared database (no-op
   * with files). A database that does not answer leaves the last figures read (readiness says why).
   */
  async refresh(): Promise<void> {
    await this.outbox.refresh?.().catch(() => undefined);
  }

  /** A kitchen order the webhook at `hookUrl` refused for good becomes its dead letter; false if there is no such webhook. */
  kitchenDeadLetter(
    hookUrl: string,
    order: KitchenOrderView,
    dead: { at: string; error: string; status: number | null; response: string },
    attempts: number,
  ): Promise<boolean> {
    const target = this.hookTargets.get(hookUrl);
    return target === undefined ? Promise.resolve(false) : this.outbox.addKitchenDeadLetter(target, order, dead, attempts);
  }

  deadLetters(state: DeadLetterState | 'all' = 'open'): DeadLetter[] {
    return this.outbox.deadLetters(state);
  }

  async retryDeadLetter(identifier: string, opts: { method?: 'PUT'; target?: string } = {}): Promise<boolean> {
    return (await this.outbox.retryDeadLetters(identifier, opts.target, { method: opts.method })) > 0;
  }

  dismissDeadLetter(identifier: string, reason: string, by: string, target?: string): Promise<number> {
    return this.outbox.dismissDeadLetters(identifier, reason, by, target);
  }

  retryDeadLetters(identifier: string, target?: string): Promise<number> {
    return this.outbox.retryDeadLetters(identifier, target);
  }

  upstream(): UpstreamState {
    if (!this.client || !this.catalogSync) {
      return { mode: 'standalone', reachable: null, breaker: null, lastSyncAt: null, catalogueCached: false };
    }
    const contact = this.client.lastContact;
    return {
      mode: 'bridge',
      reachable: contact === null ? null : contact.ok,
      breaker: this.client.breaker?.current ?? null,
      lastSyncAt: this.catalogSync.lastSyncAt,
      catalogueCached: this.catalogSync.cached,
      lastSyncError: this.catalogSync.lastError,
    };
  }
}
