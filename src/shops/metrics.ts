import type { RequestHandler } from 'express';
import { AggregatorRegistry, type Counter, Gauge, type Histogram, type MetricObjectWithValues, type MetricValue, Registry } from 'prom-client';
import { opsOf } from '../app.js';
import { onResponseDone } from '../http/response-done.js';
import { httpAndBuildMetrics, processMetrics } from '../ops/metrics.js';
import { routeOf } from '../ops/route-label.js';
import type { ShopDirectory } from './directory.js';
import { mapLimit } from '../map-limit.js';

/** Series of a shop's registry that the deployment counts once, for every shop together. */
const DEPLOYMENT_WIDE = new Set(['http_requests_total', 'http_request_duration_seconds', 'tabshop_build_info']);

/**
 * /metrics of a deployment of shops: process and HTTP series once (the HTTP ones counted here, for
 * every request, with the shop in a route replaced by ":shop"), then each open shop's own series
 * with a `shop` label. Shops not open contribute nothing.
 */
export class DeploymentMetrics {
  private readonly registry: Registry;
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  private readonly shopInRoute: RegExp;

  constructor(
    private readonly directory: ShopDirectory,
    version: string,
    apiPath: string,
  ) {
    const own = new Registry();
    const registers = [own];
    ({ httpRequests: this.httpRequests, httpDuration: this.httpDuration } = httpAndBuildMetrics(registers, version, ' (every shop)'));
    new Gauge({
      name: 'tabshop_shops',
      help: 'Shops of the deployment (config and API), by state: open (its gateway is loaded in this process) or closed',
      labelNames: ['state'],
      registers,
      collect() {
        const all = directory.list();
        const open = all.filter((s) => directory.isOpen(s.id)).length;
        this.set({ state: 'open' }, open);
        this.set({ state: 'closed' }, all.length - open);
      },
    });
    new Gauge({
      name: 'tabshop_shops_disabled',
      help: 'Disabled shops',
      registers,
      collect() {
        this.set(directory.list().filter((s) => s.disabled).length);
      },
    });
    this.registry = Registry.merge([own, processMetrics()]);
    const escaped = apiPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.shopInRoute = new RegExp(`^(${escaped}/shops|/shops)/[^/]+(?=/|$)`, 'i');
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Counts every request of the deployment; mount first. */
  readonly observeRequests: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    onResponseDone(res, () => {
      const labels = { method: req.method, route: this.routeOf(routeOf(req)), status: res.writableFinished ? String(res.statusCode) : 'aborted' };
      this.httpRequests.inc(labels);
      this.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };

  /** "/api/shops/cafe/sales/:id" → "/api/shops/:shop/sales/:id": shop ids must not multiply the HTTP series. */
  routeOf(route: string): string {
    return route.replace(this.shopInRoute, '$1/:shop');
  }

  /** Every series (operators), or one shop's own series only (its admin). */
  async render(only?: string): Promise<string> {
    const ids = only ? [only] : this.directory.list().map((s) => s.id);
    const perShop = await mapLimit(
      ids.filter((id) => this.directory.isOpen(id)),
      8,
      (id) => this.shopSeries(id),
    );
    const shops = await AggregatorRegistry.aggregate(perShop.filter((m) => m.length > 0)).metrics();
    if (only) return shops;
    const deployment = await this.registry.metrics();
    return `${deployment}${deployment.endsWith('\n') || shops === '' ? '' : '\n'}${shops}`;
  }

  /** A shop's own series with `shop` added to every sample (copies: the shop's registry stays as it is). */
  private async shopSeries(id: string): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    // Checked at the call: a scrape never opens a shop (nor keeps an idle one open).
    if (!this.directory.isOpen(id)) return [];
    try {
      const open = await this.directory.gateway(id);
      const own = opsOf(open.app).metrics.own;
      const out: MetricObjectWithValues<MetricValue<string>>[] = [];
      for (const { name } of own.getMetricsAsArray()) {
        const metric = own.getSingleMetric(name);
        if (!metric || DEPLOYMENT_WIDE.has(name)) continue;
        const item = (await metric.get()) as MetricObjectWithValues<MetricValue<string>>;
        out.push({ ...item, values: item.values.map((v) => ({ ...v, labels: { shop: id, ...v.labels } })) });
      }
      return out;
    } catch {
      // Closed while we read it: it contributes nothing, like any shop that is not open.
      return [];
    }
  }
}
