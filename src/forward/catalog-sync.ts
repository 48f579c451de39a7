import { Decimal } from 'decimal.js';
import type { Logger } from 'pino';
import { problemsOf } from '../api/validate.js';
import { isAmount } from '../translate/amount-limit.js';
import type { Catalog, Collection } from '../domain/catalog.js';
import type { SalesLedger } from '../domain/ledger.js';
import type { Category } from '../domain/types.js';
import { AppError } from '../errors.js';
import type { GatewayEvents } from '../events.js';
import type { Store } from '../store/port.js';
import type { ArticleEntity } from '../store/records.js';
import { unacknowledgedMoves, type UnacknowledgedChange } from './pending-stock.js';
import { upstreamHttpError, type HttpClient, type HttpResult } from './upstream-client.js';

type Article = Parameters<Catalog['putFromUpstream']>[1];

const ORDER: Collection[] = ['taxes', 'discounts', 'categories', 'products', 'commodities'];
const SCHEMA: Record<Collection, string> = { taxes: 'tax', discounts: 'discount', categories: 'category', products: 'product', commodities: 'commodity' };
const KNOWN_KEYS: Record<Collection, string[]> = {
  taxes: ['identifier', 'name', 'vat'],
  discounts: ['identifier', 'name', 'percentage'],
  categories: ['identifier', 'name', 'parent'],
  products: ['identifier', 'name', 'description', 'price', 'priceIncludesVat', 'tax', 'discount', 'costPrice', 'attribute', 'custom'],
  commodities: ['identifier', 'product', 'category'],
};
const COLLECTION_OF: Partial<Record<ArticleEntity, Collection>> = {
  tax: 'taxes',
  discount: 'discounts',
  category: 'categories',
  product: 'products',
  commodity: 'commodities',
};
const PAGE = 1000;
const MAX_PAGES = 10_000;

export interface SyncResult {
  mode: 'unchanged' | 'incremental' | 'full';
  /** Upstream's articles version (null: upstream has no /version). */
  version: number | null;
  changes: number;
  stockChanges: number;
  stock: 'offered' | 'not offered';
  /** Upstream items that could not be used (logged with the reason). */
  skipped: number;
}

export interface CatalogSyncDeps {
  client: HttpClient;
  catalog: Catalog;
  ledger: SalesLedger;
  store: Store;
  logger: Logger;
  events?: GatewayEvents;
  now: () => Date;
  pollIntervalMs: number;
  /** Local sale changes upstream has not acknowledged (pending outbox items and dead letters). */
  unacknowledged: () => UnacknowledgedChange[] | Promise<UnacknowledgedChange[]>;
}

type Sanitised = { ok: true; item: Article } | { ok: false; problem: string };

/** Keeps the fields our API knows, accepts numeric ids, then checks against our own schema. */
export function sanitiseArticle(collection: Collection, raw: unknown, fallbackId?: string): Sanitised {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, problem: `${collection}: not an object` };
  const source = raw as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  for (const key of KNOWN_KEYS[collection]) if (source[key] !== undefined) picked[key] = source[key];
  picked.identifier ??= fallbackId;
  for (const ref of ['identifier', 'tax', 'discount', 'parent', 'product', 'category']) {
    if (typeof picked[ref] === 'number') picked[ref] = String(picked[ref]);
  }
  const id = picked.identifier;
  if (typeof id !== 'string') return { ok: false, problem: `${collection}: an item has no identifier` };
  const problems = problemsOf(SCHEMA[collection], picked);
  if (problems.length > 0) return { ok: false, problem: `${collection} ${id}: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}` };
  return { ok: true, item: picked as unknown as Article };
}

/**
 * Bridge mode: keeps the local catalogue a copy of upstream's. Every poll asks /version first;
 * when it moved, follows /modifications if upstream has it, else fetches every collection and
 * applies the difference. Stock levels are read every poll (upstream's sales move them without
 * a version change). The copy lives in articles.json, so tablets keep being served from it while
 * upstream is down, also after a restart.
 */
export class CatalogSync {
  lastSuccessAt: string | null = null;
  lastError: string | null = null;
  private modificationsOffered: boolean | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;
  private readonly abort = new AbortController();
  private failing = false;

  constructor(private readonly deps: CatalogSyncDeps) {}

  /** A catalogue from upstream is on disk (maybe old): tablets can be served. */
  get cached(): boolean {
    return this.deps.catalog.upstreamSync !== undefined;
  }

  get lastSyncAt(): string | null {
    return this.lastSuccessAt ?? this.deps.catalog.upstreamSync?.syncedAt ?? null;
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    await this.running?.catch(() => undefined);
  }

  /** One poll; throws when upstream could not be read (the cached catalogue stays as it was). */
  async syncOnce(): Promise<SyncResult> {
    const { catalog, client } = this.deps;
    // Upstream is read first, outside the unit of work: on PostgreSQL a unit holds the database's
    // write lease, which other processes wait for, so it must never wait for the network. The
    // state read here may be a little behind another process's sync: applying compares article by
    // article, so a change applied twice changes nothing.
    const version = await this.fetchVersion();
    const state = catalog.upstreamSync;
    const sameUpstream = state !== undefined && state.baseUrl === client.baseUrl;
    let mode: SyncResult['mode'] = 'full';
    let modifications: Awaited<ReturnType<CatalogSync['fetchModifications']>> = null;
    if (sameUpstream && version !== null && state.version === version) {
      mode = 'unchanged';
    } else if (sameUpstream && version !== null && state.version !== null && version > state.version && this.modificationsOffered !== false) {
      modifications = await this.fetchModifications(state.version, version);
      if (modifications === null) this.modificationsOffered = false;
      else {
        this.modificationsOffered = true;
        mode = 'incremental';
      }
    }
    const lists = mode === 'full' ? await this.fetchAll() : null;
    const stockRead = await this.readStock();
    // Everything one poll changes is one unit of work: durable together, with one wait for the store.
    const { changes, skipped, stock, stockChanges, syncedAt } = await catalog.transact(async () => {
      let changes = 0;
      let skipped = 0;
      if (modifications && mode === 'incremental') ({ changes, skipped } = await this.applyModifications(modifications));
      if (lists) ({ changes, skipped } = await this.applyFull(lists));
      const { stock, stockChanges } = await this.applyStock(stockRead);
      const syncedAt = this.deps.now().toISOString();
      const stateChanged = !sameUpstream || state.version !== version || mode !== 'unchanged';
      if (stateChanged) catalog.setUpstreamSync({ baseUrl: client.baseUrl, version, syncedAt });
      return { changes, skipped, stock, stockChanges, syncedAt };
    });
    this.lastSuccessAt = syncedAt;
    this.lastError = null;
    if (changes + stockChanges > 0 || mode === 'full') {
      this.deps.events?.emit('catalog.synced', { version: catalog.version, changes: changes + stockChanges, full: mode === 'full' });
    }
    if (changes + stockChanges > 0) this.deps.logger.info({ mode, upstreamVersion: version, changes, stockChanges, skipped }, 'catalogue synced from upstream');
    return { mode, version, changes, stockChanges, stock, skipped };
  }

  // ---- reading upstream ----

  private get(path: string, params?: Record<string, string | number>): Promise<HttpResult> {
    return this.deps.client.request('GET', path, { params, signal: this.abort.signal });
  }

  private async fetchVersion(): Promise<number | null> {
    const res = await this.get('/version');
    if (res.status === 404 || res.status === 405) return null;
    const raw = (res.data as { version?: unknown } | null)?.version;
    const version = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
    if (res.status !== 200 || typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
      throw upstreamHttpError(res.status, 'GET', '/version', res.data);
    }
    return version;
  }

  /** Every page of a list (`{items,total}` or a plain array); null when upstream has no such list (404). */
  private async fetchList(path: string): Promise<unknown[] | null> {
    const all: unknown[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await this.get(path, { firstResult: all.length, maxResults: PAGE });
      if (res.status === 404 && page === 0) return null;
      if (res.status !== 200) throw upstreamHttpError(res.status, 'GET', path, res.data);
      const body = res.data as { items?: unknown; total?: unknown } | unknown[];
      const items = Array.isArray(body) ? body : Array.isArray(body?.items) ? body.items : null;
      if (items === null) throw new AppError('upstream_error', `GET ${path}: upstream's answer is not a list`);
      all.push(...items);
      const total = Array.isArray(body) ? undefined : typeof body.total === 'number' ? body.total : undefined;
      // A server may cap pages below what we ask: follow `total` when given, else read until an empty page.
      if (items.length === 0 || (total !== undefined && all.length >= total)) return all;
    }
    throw new AppError('upstream_error', `GET ${path}: more than ${MAX_PAGES} pages`);
  }

  private async fetchAll(): Promise<Record<Collection, unknown[]>> {
    const lists = {} as Record<Collection, unknown[]>;
    for (const collection of ORDER) {
      const items = await this.fetchList(`/${collection}`);
      // Discounts are our extension (srv4pos has none): no list means no discounts.
      if (items === null && collection !== 'discounts') throw new AppError('upstream_error', `upstream has no /${collection} (is upstream.baseUrl right?)`);
      lists[collection] = items ?? [];
    }
    return lists;
  }

  /** The change feed from `from` to `to`, part by part; null when upstream does not offer it. */
  private async fetchModifications(from: number, to: number): Promise<{ entity: string; identifier: string; op: string; data: unknown }[] | null> {
    const items: { entity: string; identifier: string; op: string; data: unknown }[] = [];
    let cursor = from;
    for (let page = 0; cursor < to && page < MAX_PAGES; page++) {
      const res = await this.get('/modifications', { from: cursor, to, maxResults: PAGE });
      if (res.status >= 400 && res.status < 500) return null;
      const body = res.data as { items?: unknown; to?: unknown };
      if (res.status !== 200 || !Array.isArray(body?.items) || typeof body.to !== 'number') {
        throw upstreamHttpError(res.status, 'GET', '/modifications', res.data);
      }
      items.push(...(body.items as typeof items));
      if (body.to <= cursor || body.items.length === 0) break;
      cursor = body.to;
    }
    return items;
  }

  // ---- applying ----

  private async applyFull(lists: Record<Collection, unknown[]>): Promise<{ changes: number; skipped: number }> {
    const { catalog } = this.deps;
    const wanted = {} as Record<Collection, Map<string, Article>>;
    const problems: string[] = [];
    for (const collection of ORDER) {
      wanted[collection] = new Map();
      for (const raw of lists[collection]) {
        const s = sanitiseArticle(collection, raw);
        if (s.ok) wanted[collection].set(s.item.identifier, s.item);
        else problems.push(s.problem);
      }
    }
    let changes = 0;
    for (const collection of ORDER) {
      const items = [...wanted[collection].values()];
      for (const item of collection === 'categories' ? parentsFirst(items as Category[]) : items) {
        if (await catalog.putFromUpstream(collection, item)) changes++;
      }
    }
    for (const collection of [...ORDER].reverse()) {
      const local = catalog.all<Article>(collection);
      const gone = collection === 'categories' ? parentsFirst(local as Category[]).reverse() : local;
      for (const item of gone) {
        if (!wanted[collection].has(item.identifier) && (await catalog.removeFromUpstream(collection, item.identifier))) changes++;
      }
    }
    this.reportSkipped(problems);
    return { changes, skipped: problems.length };
  }

  private async applyModifications(items: { entity: string; identifier: string; op: string; data: unknown }[]): Promise<{ changes: number; skipped: number }> {
    const { catalog } = this.deps;
    const problems: string[] = [];
    let changes = 0;
    for (const m of items) {
      // Stock levels are read from /stock on every poll.
      const collection = COLLECTION_OF[m.entity as ArticleEntity];
      if (!collection) continue;
      if (m.op === 'delete') {
        if (await catalog.removeFromUpstream(collection, String(m.identifier))) changes++;
        continue;
      }
      const s = sanitiseArticle(collection, m.data, String(m.identifier));
      if (!s.ok) problems.push(s.problem);
      else if (await catalog.putFromUpstream(collection, s.item)) changes++;
    }
    this.reportSkipped(problems);
    return { changes, skipped: problems.length };
  }

  /** Upstream's stock levels, and the sale changes not yet acknowledged by upstream when they were asked for. */
  private async readStock(): Promise<{ list: unknown[] | null; unacknowledgedAtStart: UnacknowledgedChange[] }> {
    const unacknowledgedAtStart = await this.deps.unacknowledged();
    return { list: await this.fetchList('/stock'), unacknowledgedAtStart };
  }

  private async applyStock({
    list,
    unacknowledgedAtStart,
  }: Awaited<ReturnType<CatalogSync['readStock']>>): Promise<{ stock: SyncResult['stock']; stockChanges: number }> {
    const { catalog, ledger } = this.deps;
    const levels = new Map<string, Decimal>();
    for (const raw of list ?? []) {
      const level = raw as { product?: unknown; quantity?: unknown; tracked?: unknown };
      if (typeof level?.product !== 'string' || level.tracked === false) continue;
      // Not a number, or out of range: the product is served untracked.
      if (isAmount(level.quantity)) levels.set(level.product, new Decimal(String(level.quantity)));
    }
    // Between sale changes, so every change up to salesSeq is either in the outbox or acknowledged.
    const stockChanges = await ledger.exclusive(async () => {
      // A sale acknowledged while /stock was being read may or may not be in upstream's answer: count it as not.
      const pending = unacknowledgedMoves([...unacknowledgedAtStart, ...(await this.deps.unacknowledged())]);
      let n = 0;
      for (const product of catalog.all<Article>('products')) {
        const id = product.identifier;
        if (await catalog.setStockFromUpstream(id, levels.get(id) ?? null, pending.get(id) ?? new Decimal(0), ledger.salesSeq)) n++;
      }
      return n;
    });
    return { stock: list === null ? 'not offered' : 'offered', stockChanges };
  }

  private reportSkipped(problems: string[]): void {
    if (problems.length === 0) return;
    this.deps.logger.warn({ skipped: problems.length, problems: problems.slice(0, 10) }, 'upstream articles skipped: they do not fit the srv4pos-style model');
  }

  // ---- polling ----

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.syncOnce()
        .then(
          () => {
            if (this.failing) this.deps.logger.info('upstream catalogue reachable again');
            this.failing = false;
          },
          (err: Error) => {
            if (this.stopped) return;
            this.lastError = err.message;
            this.deps.logger[this.failing ? 'debug' : 'warn'](
              { error: err.message, cached: this.cached },
              this.cached
                ? 'catalogue sync failed; tablets are served the cached catalogue'
                : 'catalogue sync failed and no catalogue is cached yet; tablets get 503 on home',
            );
            this.failing = true;
          },
        )
        .finally(() => {
          this.running = null;
          this.schedule(this.deps.pollIntervalMs);
        });
    }, ms);
    this.timer.unref();
  }
}

/** Parents before children, so a nested category path resolves at every step. */
function parentsFirst<T extends Category>(items: T[]): T[] {
  const byId = new Map(items.map((c) => [c.identifier, c]));
  const depth = (c: T): number => {
    let d = 0;
    for (let p = c.parent; p && byId.has(p) && d <= items.length; p = byId.get(p)!.parent) d++;
    return d;
  };
  return [...items].sort((a, b) => depth(a) - depth(b));
}
