import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SalesLedger } from '../domain/ledger.js';
import type { GatewayEventMap, GatewayEvents } from '../events.js';
import type { ForwardingStatus } from '../forward/status.js';
import type { DeviceActivity } from './device-activity.js';
import { safeTarget } from './safe-target.js';

let processRegistry: Registry | undefined;

/**
 * Process metrics (CPU, memory, event loop lag, GC) describe the process, not an app, and
 * collectDefaultMetrics starts observers that are never stopped: collect them once per process
 * into their own registry and merge it into every app's.
 */
export function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export interface MetricsDeps {
  events: GatewayEvents;
  ledger: Pick<SalesLedger, 'quarantineCount' | 'openQuarantineCount' | 'saleCount'>;
  activity: DeviceActivity;
  forwarding: () => ForwardingStatus | undefined;
  version: string;
}

const BREAKER_STATES = ['closed', 'half-open', 'open'] as const;
export const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const UPSTREAM_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The HTTP counter and latency histogram and the build info gauge: a gateway's, and a deployment's
 * of shops once for all of them (`whose` ends their help text, e.g. " (every shop)").
 */
export function httpAndBuildMetrics(registers: Registry[], version: string, whose: string) {
  const httpRequests = new Counter({
    name: 'http_requests_total',
    help: `HTTP requests by matched route pattern, method and status${whose}`,
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: `HTTP request latency by matched route pattern, method and status${whose}`,
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers,
  });
  new Gauge({
    name: 'tabshop_build_info',
    help: 'Always 1; the version label is the gateway version',
    labelNames: ['version'],
    registers,
    collect() {
      this.set({ version }, 1);
    },
  });
  return { httpRequests, httpDuration };
}

/**
 * No sample until set: prom-client's reset() gives a gauge without labels a 0, which would read
 * as "unreachable" or "synced in 1970" where there is no upstream at all.
 */
function absent(gauge: Gauge): void {
  gauge.reset();
  gauge.remove({});
}

/** First path segment only ("/sales/TAB-1:42" → "/sales"): sale ids must not become label values. */
export const upstreamResource = (path: string) => `/${path.split('?')[0].split('/').filter(Boolean)[0] ?? ''}`;

/** The gateway's Prometheus metrics, in a registry of its own (several apps can live in one process). */
export class GatewayMetrics {
  readonly registry: Registry;
  /** This app's own series, without the process metrics. */
  readonly own: Registry;
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  constructor(deps: MetricsDeps) {
    const own = new Registry();
    this.own = own;
    const registers = [own];
    const fwd = deps.forwarding;

    ({ httpRequests: this.httpRequests, httpDuration: this.httpDuration } = httpAndBuildMetrics(registers, deps.version, ''));

    const invoices = new Counter({
      name: 'tabshop_invoices_total',
      help: 'Pushed invoices by outcome (collision: quarantined because the id is stored with other content; also counted as quarantined)',
      labelNames: ['register', 'outcome'],
      registers,
    });
    const pushes = new Counter({ name: 'tabshop_pushes_total', help: 'Invoice pushes stored, by device', labelNames: ['device', 'register'], registers });
    const quarantined = new Counter({
      name: 'tabshop_quarantined_total',
      help: 'Items put into the quarantine, by reason code',
      labelNames: ['code'],
      registers,
    });
    new Gauge({
      name: 'tabshop_quarantine_items',
      help: 'Items in the quarantine',
      registers,
      async collect() {
        this.set(await deps.ledger.quarantineCount());
      },
    });
    new Gauge({
      name: 'tabshop_quarantine_open',
      help: 'Quarantine items waiting for an admin (open: neither released nor dismissed)',
      registers,
      async collect() {
        this.set(await deps.ledger.openQuarantineCount());
      },
    });
    new Gauge({
      name: 'tabshop_sales_stored',
      help: 'Sales in the store',
      registers,
      async collect() {
        this.set(await deps.ledger.saleCount());
      },
    });

    new Gauge({
      name: 'tabshop_device_last_push_timestamp_seconds',
      help: 'When each device last pushed invoices (unix time)',
      labelNames: ['device', 'register'],
      registers,
      collect() {
        this.reset();
        for (const d of deps.activity.list()) if (d.lastPush) this.set({ device: d.username, register: d.cashRegister }, d.lastPush.at.getTime() / 1000);
      },
    });
    new Gauge({
      name: 'tabshop_device_last_seen_timestamp_seconds',
      help: 'When each device last made an authenticated request (unix time)',
      labelNames: ['device', 'register'],
      registers,
      collect() {
        this.reset();
        for (const d of deps.activity.list()) if (d.lastSeen) this.set({ device: d.username, register: d.cashRegister }, d.lastSeen.at.getTime() / 1000);
      },
    });

    new Gauge({
      name: 'tabshop_outbox_depth',
      help: 'Items waiting in the outbox, per target',
      labelNames: ['target'],
      registers,
      collect() {
        this.reset();
        for (const t of fwd()?.targets() ?? []) this.set({ target: safeTarget(t.target) }, t.depth);
      },
    });
    new Gauge({
      name: 'tabshop_outbox_oldest_age_seconds',
      help: 'Age of the oldest item waiting in the outbox (0 when empty), per target',
      labelNames: ['target'],
      registers,
      collect() {
        this.reset();
        for (const t of fwd()?.targets() ?? []) this.set({ target: safeTarget(t.target) }, (t.oldestAgeMs ?? 0) / 1000);
      },
    });
    new Gauge({
      name: 'tabshop_outbox_dead_letters',
      help: 'Permanently rejected items waiting for a person, per target',
      labelNames: ['target'],
      registers,
      collect() {
        this.reset();
        const f = fwd();
        if (!f) return;
        for (const t of f.targets()) this.set({ target: safeTarget(t.target) }, 0);
        for (const d of f.deadLetters()) this.inc({ target: safeTarget(d.target) });
      },
    });
    const outboxRetries = new Counter({
      name: 'tabshop_outbox_retries_total',
      help: 'Failed deliveries that will be retried, per target',
      labelNames: ['target'],
      registers,
    });
    const outboxDelivered = new Counter({
      name: 'tabshop_outbox_delivered_total',
      help: 'Delivered outbox items, per target',
      labelNames: ['target'],
      registers,
    });
    const outboxDeadLettered = new Counter({
      name: 'tabshop_outbox_dead_lettered_total',
      help: 'Items moved to the dead letters, per target',
      labelNames: ['target'],
      registers,
    });

    const upstreamDuration = new Histogram({
      name: 'tabshop_upstream_request_duration_seconds',
      help: 'Upstream request latency by method, resource and status ("error": no response)',
      labelNames: ['method', 'resource', 'status'],
      buckets: UPSTREAM_BUCKETS,
      registers,
    });
    const upstreamErrors = new Counter({
      name: 'tabshop_upstream_request_errors_total',
      help: 'Upstream requests without a response or with a 5xx, by method and resource',
      labelNames: ['method', 'resource'],
      registers,
    });
    new Gauge({
      name: 'tabshop_upstream_breaker_state',
      help: 'Upstream circuit breaker: 1 for the current state',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        const breaker = fwd()?.upstream().breaker;
        if (breaker) for (const s of BREAKER_STATES) this.set({ state: s }, s === breaker ? 1 : 0);
      },
    });
    const breakerChanges = new Counter({
      name: 'tabshop_upstream_breaker_transitions_total',
      help: 'Circuit breaker state changes, by new state',
      labelNames: ['state'],
      registers,
    });
    new Gauge({
      name: 'tabshop_upstream_reachable',
      help: '1 when the last upstream contact worked, 0 when it failed (absent: standalone or unknown)',
      registers,
      collect() {
        absent(this);
        const up = fwd()?.upstream();
        if (up?.mode === 'bridge' && up.reachable !== null) this.set(up.reachable ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tabshop_catalogue_last_sync_timestamp_seconds',
      help: 'When the catalogue was last synced from upstream (unix time)',
      registers,
      collect() {
        absent(this);
        const at = fwd()?.upstream().lastSyncAt;
        if (at) this.set(new Date(at).getTime() / 1000);
      },
    });

    this.on(deps.events, 'push', ({ device, cashRegisterName: register, summary }) => {
      pushes.inc({ device, register });
      for (const outcome of ['created', 'updated', 'unchanged', 'quarantined'] as const) {
        if (summary[outcome] > 0) invoices.inc({ register, outcome }, summary[outcome]);
      }
    });
    this.on(deps.events, 'quarantine', ({ code, cashRegisterName }) => {
      quarantined.inc({ code });
      if (code === 'collision') invoices.inc({ register: cashRegisterName ?? '', outcome: 'collision' });
    });
    this.on(deps.events, 'upstream.request', ({ method, path, status, ms }) => {
      const labels = { method, resource: upstreamResource(path) };
      upstreamDuration.observe({ ...labels, status: status === null ? 'error' : String(status) }, ms / 1000);
      if (status === null || status >= 500) upstreamErrors.inc(labels);
    });
    const kitchenReceived = new Counter({
      name: 'tabshop_kitchen_orders_received_total',
      help: 'Kitchen orders received on the kitchen port and stored as open',
      registers,
    });
    const kitchenRejected = new Counter({
      name: 'tabshop_kitchen_messages_rejected_total',
      help: 'Kitchen messages stored as rejected, by reason (invalid, too_large, timeout, interrupted)',
      labelNames: ['reason'],
      registers,
    });
    const kitchenRefused = new Counter({
      name: 'tabshop_kitchen_connections_refused_total',
      help: 'Kitchen connections closed at once, not stored, by reason (not_allowed, rate_limited, busy)',
      labelNames: ['reason'],
      registers,
    });
    this.on(deps.events, 'kitchen.message', ({ outcome, reason }) => {
      if (outcome === 'received') kitchenReceived.inc();
      else if (outcome === 'rejected') kitchenRejected.inc({ reason: reason ?? 'invalid' });
      else kitchenRefused.inc({ reason: reason ?? 'not_allowed' });
    });
    this.on(deps.events, 'upstream.breaker', ({ state }) => breakerChanges.inc({ state }));
    this.on(deps.events, 'outbox.retry', ({ target }) => outboxRetries.inc({ target: safeTarget(target) }));
    this.on(deps.events, 'outbox.delivered', ({ target }) => outboxDelivered.inc({ target: safeTarget(target) }));
    this.on(deps.events, 'outbox.deadletter', ({ target }) => outboxDeadLettered.inc({ target: safeTarget(target) }));

    this.registry = Registry.merge([own, processMetrics()]);
  }

  observeRequest(method: string, route: string, status: string, seconds: number): void {
    const labels = { method, route, status };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  private on<K extends keyof GatewayEventMap>(events: GatewayEvents, name: K, fn: (...args: GatewayEventMap[K]) => void): void {
    // A metric must never break the producer (a push in progress): listeners must not throw.
    const safe = (...args: GatewayEventMap[K]) => {
      try {
        fn(...args);
      } catch {
        /* a lost increment is better than a failed push */
      }
    };
    events.on(name, safe as never);
  }
}
