import { randomUUID } from 'node:crypto';
import { Decimal } from 'decimal.js';
import { AppError, notFound } from '../errors.js';
import type { Store } from './ports/store.js';
import type { UnitOfWork } from './ports/unit-of-work.js';
import type { ArticleEntity, ArticlesData, Modification, StockLevel, UpstreamSyncState } from './ports/records.js';
import { canonicalJson } from '../translate/canonical.js';
import type { Category, Commodity, Discount, Product, Tax } from './types.js';
import { stockLevelProblem, type UnloadableRecord } from './record-check.js';
import { StoreUnitOfWork } from './unit-of-work.js';

export type Collection = 'taxes' | 'discounts' | 'categories' | 'products' | 'commodities';
type Article = Tax | Discount | Category | Product | Commodity;

export const ENTITY_OF: Record<Collection, ArticleEntity> = {
  taxes: 'tax',
  discounts: 'discount',
  categories: 'category',
  products: 'product',
  commodities: 'commodity',
};

interface Reference {
  field: string;
  target: Collection;
}

const REFERENCES: Record<Collection, Reference[]> = {
  taxes: [],
  discounts: [],
  categories: [{ field: 'parent', target: 'categories' }],
  products: [
    { field: 'tax', target: 'taxes' },
    { field: 'discount', target: 'discounts' },
  ],
  commodities: [
    { field: 'product', target: 'products' },
    { field: 'category', target: 'categories' },
  ],
};

/** TabShop keys taxes and discounts by integer ids, so theirs are integer strings. */
const NUMERIC_IDS: ReadonlySet<Collection> = new Set(['taxes', 'discounts']);

export interface StockView {
  product: string;
  quantity: number;
  tracked: boolean;
  setAt: string | null;
}

export interface Page<T> {
  items: Readonly<T>[];
  total: number;
}

/**
 * The articles (taxes, discounts, categories, products, commodities, stock levels) in memory,
 * with the srv4pos conventions: one version counter, a change feed, referential integrity.
 * Every change runs in a unit of work: durable once the method resolves (or, inside a caller's
 * transact, once that resolves).
 */
export class Catalog {
  /** Net quantity moved by sales since each tracked product's last stock set (negative = sold). */
  private readonly salesMoves = new Map<string, Decimal>();
  private readonly modifications: Modification[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly stockListeners = new Set<(product: string) => void>();
  stockGeneration = 0;

  constructor(
    private readonly store: Store,
    private readonly now: () => Date = () => new Date(),
    private readonly uow: UnitOfWork = new StoreUnitOfWork(store),
  ) {}

  /** Several changes (an import, a sync from upstream) durable together, with one wait for the store. */
  transact<T>(work: () => Promise<T>): Promise<T> {
    return this.uow.transact(work);
  }

  private get data(): ArticlesData {
    return this.store.articles;
  }

  get version(): number {
    return this.data.version;
  }

  /** The version now, once every change up to it is durable: a feed read never serves what a crash could lose. */
  async durableVersion(): Promise<number> {
    const version = this.version;
    await this.uow.durable();
    return version;
  }

  /** Called for every modification found at start-up, in any order. */
  loadModification(m: Modification): void {
    this.modifications.push(m);
  }

  /** Start-up: a stored stock level that cannot be used leaves the articles (the product is untracked until a level is set again). */
  takeUnloadableStockLevels(): UnloadableRecord[] {
    const out: UnloadableRecord[] = [];
    for (const [product, level] of Object.entries(this.data.stock)) {
      const problem = stockLevelProblem(level);
      if (!problem) continue;
      delete this.data.stock[product];
      this.salesMoves.delete(product);
      out.push({ what: 'stock level', id: product, raw: level, reason: problem });
    }
    if (out.length > 0) this.store.saveArticles();
    return out;
  }

  finishLoading(): void {
    this.modifications.sort((a, b) => a.version - b.version);
    // A crash between writing a feed entry and articles.json leaves entries the articles never
    // reached; drop them, and their versions are taken again (and overwritten on disk) by the next writes.
    while (this.modifications.length && this.modifications[this.modifications.length - 1].version > this.version) this.modifications.pop();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called with a product whenever its central stock quantity may have changed (a sale, a level set, a deletion). */
  onStockChange(listener: (product: string) => void): () => void {
    this.stockListeners.add(listener);
    return () => this.stockListeners.delete(listener);
  }

  /**
   * Start-up from a store that holds the quantities (PostgreSQL's stock_levels, moved in the round
   * of every sale change and level change): each tracked product's quantity is the stored one, and
   * no sale is replayed. What it holds beyond the level and its adjustments is what sales moved.
   */
  loadStoredQuantities(stored: ReadonlyMap<string, string>): void {
    for (const [product, level] of Object.entries(this.data.stock)) {
      const quantity = stored.get(product);
      if (quantity === undefined) continue;
      const moved = new Decimal(quantity).minus(level.level).minus(level.adjustmentsTotal);
      if (moved.isZero()) this.salesMoves.delete(product);
      else this.salesMoves.set(product, moved);
    }
    this.stockGeneration++;
    this.notify();
  }

  /** The products whose stock is tracked (a level was set). */
  trackedProducts(): string[] {
    return Object.keys(this.data.stock);
  }

  list<T extends Article>(collection: Collection, firstResult = 0, maxResults = 100): Page<T> {
    const all = Object.values(this.data[collection]) as T[];
    all.sort((a, b) => compareIds(a.identifier, b.identifier));
    return { items: all.slice(firstResult, firstResult + maxResults), total: all.length };
  }

  get<T extends Article>(collection: Collection, id: string): Readonly<T> {
    const item = this.data[collection][id] as T | undefined;
    if (!item) throw notFound(`${ENTITY_OF[collection]} ${id}`);
    return item;
  }

  find<T extends Article>(collection: Collection, id: string | null | undefined): Readonly<T> | undefined {
    return id == null ? undefined : (this.data[collection][id] as T | undefined);
  }

  all<T extends Article>(collection: Collection): Readonly<T>[] {
    return Object.values(this.data[collection]) as T[];
  }

  checkVersion(ifMatch: number | undefined): void {
    if (ifMatch !== undefined && ifMatch !== this.version) {
      throw new AppError('version_conflict', `articles are at version ${this.version}, not ${ifMatch}`);
    }
  }

  /** POST: the body's identifier, or a generated one; an existing identifier is a conflict. */
  create<T extends Article>(collection: Collection, body: Omit<T, 'identifier'> & { identifier?: string }, ifMatch?: number): Promise<Readonly<T>> {
    return this.uow.transact(async () => {
      this.checkVersion(ifMatch);
      const id = body.identifier ?? this.newId(collection);
      if (this.data[collection][id]) throw new AppError('already_exists', `${ENTITY_OF[collection]} ${id} already exists`);
      const item = withDefaults(collection, { ...body, identifier: id }) as T;
      this.checkReferences(collection, item);
      await this.write(collection, item, 'create');
      return item;
    });
  }

  /** PUT: creates or replaces under the URL's identifier. */
  replace<T extends Article>(
    collection: Collection,
    id: string,
    body: Omit<T, 'identifier'> & { identifier?: string },
    ifMatch?: number,
  ): Promise<{ item: Readonly<T>; created: boolean }> {
    return this.uow.transact(async () => {
      this.checkVersion(ifMatch);
      if (body.identifier !== undefined && body.identifier !== id) {
        throw new AppError('url_and_body_identifiers_mismatch', `identifier in the URL (${id}) differs from the body's (${body.identifier})`);
      }
      if (NUMERIC_IDS.has(collection) && !/^[0-9]{1,9}$/.test(id)) {
        throw new AppError('validation_failed', `${ENTITY_OF[collection]} identifiers are integers (TabShop needs them so)`, [
          { field: '/identifier', message: 'must be an integer string' },
        ]);
      }
      const created = !this.data[collection][id];
      const item = withDefaults(collection, { ...body, identifier: id }) as T;
      this.checkReferences(collection, item);
      if (collection === 'categories') this.checkNoCycle(item as Category);
      await this.write(collection, item, created ? 'create' : 'update');
      return { item, created };
    });
  }

  remove(collection: Collection, id: string, ifMatch?: number): Promise<void> {
    return this.uow.transact(async () => {
      this.checkVersion(ifMatch);
      this.get(collection, id);
      const user = this.referrer(collection, id);
      if (user) throw new AppError('still_referenced', `${ENTITY_OF[collection]} ${id} is still referenced by ${user}`);
      delete this.data[collection][id];
      if (collection === 'products' && this.data.stock[id]) {
        delete this.data.stock[id];
        this.salesMoves.delete(id);
      }
      await this.record(ENTITY_OF[collection], id, 'delete', null);
    });
  }

  // ---- stock levels (gateway extension) ----

  isTracked(product: string): boolean {
    return this.data.stock[product] !== undefined;
  }

  stockOf(product: string): StockView {
    const level = this.data.stock[product];
    if (!level) {
      this.get('products', product);
      return { product, quantity: 0, tracked: false, setAt: null };
    }
    return { product, quantity: this.quantity(level).toNumber(), tracked: true, setAt: level.setAt };
  }

  listStock(firstResult = 0, maxResults = 100): Page<StockView> {
    const ids = Object.keys(this.data.products).sort(compareIds);
    return { items: ids.slice(firstResult, firstResult + maxResults).map((id) => this.stockOf(id)), total: ids.length };
  }

  quantityOf(product: string): Decimal | null {
    const level = this.data.stock[product];
    return level ? this.quantity(level) : null;
  }

  setStock(product: string, quantity: number, salesSeq: number, ifMatch?: number): Promise<StockView> {
    return this.uow.transact(async () => {
      this.checkVersion(ifMatch);
      this.get('products', product);
      const level: StockLevel = {
        product,
        level: new Decimal(String(quantity)).toString(),
        setAt: this.now().toISOString(),
        salesSeqAtSet: salesSeq,
        adjustmentsTotal: '0',
        adjustments: [],
      };
      this.data.stock[product] = level;
      this.salesMoves.delete(product);
      await this.record('stock', product, 'update', this.stockOf(product));
      return this.stockOf(product);
    });
  }

  adjustStock(product: string, delta: number, reason: string, salesSeq: number, ifMatch?: number): Promise<StockView> {
    return this.uow.transact(async () => {
      this.checkVersion(ifMatch);
      this.get('products', product);
      const level = this.data.stock[product] ?? {
        product,
        level: '0',
        setAt: this.now().toISOString(),
        salesSeqAtSet: salesSeq,
        adjustmentsTotal: '0',
        adjustments: [],
      };
      const d = new Decimal(String(delta));
      level.adjustmentsTotal = new Decimal(level.adjustmentsTotal).plus(d).toString();
      level.adjustments = [...level.adjustments, { delta: d.toString(), reason, at: this.now().toISOString() }].slice(-50);
      this.data.stock[product] = level;
      await this.record('stock', product, 'update', this.stockOf(product));
      return this.stockOf(product);
    });
  }

  /**
   * A sale change moved `delta` of `product` (negative = sold). Counts only for tracked,
   * non-voucher products, and only for changes after the level was last set.
   */
  applySaleMove(product: string, delta: Decimal, seq: number): void {
    const level = this.data.stock[product];
    if (!level || seq <= level.salesSeqAtSet || delta.isZero()) return;
    if (((this.data.products[product]?.attribute ?? 0) & 16) !== 0) return;
    this.salesMoves.set(product, (this.salesMoves.get(product) ?? new Decimal(0)).plus(delta));
    this.stockGeneration++;
    this.notify();
    for (const l of this.stockListeners) l(product);
  }

  // ---- bridge mode: upstream owns the articles ----

  get upstreamSync(): UpstreamSyncState | undefined {
    return this.data.upstream;
  }

  setUpstreamSync(state: UpstreamSyncState): void {
    this.data.upstream = state;
    this.store.saveArticles();
  }

  /** Upstream's copy of an article, stored as given (upstream keeps its own references); a change only when it differs. */
  putFromUpstream(collection: Collection, item: Article): Promise<boolean> {
    return this.uow.transact(async () => {
      const current = this.data[collection][item.identifier];
      if (current && sameArticle(current, item)) return false;
      await this.write(collection, item, current ? 'update' : 'create');
      return true;
    });
  }

  removeFromUpstream(collection: Collection, id: string): Promise<boolean> {
    return this.uow.transact(async () => {
      if (!this.data[collection][id]) return false;
      delete this.data[collection][id];
      if (collection === 'products' && this.data.stock[id]) {
        delete this.data.stock[id];
        this.salesMoves.delete(id);
      }
      await this.record(ENTITY_OF[collection], id, 'delete', null);
      return true;
    });
  }

  /**
   * Upstream's stock level of a product (null: not tracked upstream), less `unacknowledged`: what
   * local sales upstream has not acknowledged yet took out (negative) or put back. Sale changes
   * after `salesSeq` move it as usual. A change only when the level or what tablets see differs.
   */
  setStockFromUpstream(product: string, quantity: Decimal | null, unacknowledged: Decimal, salesSeq: number): Promise<boolean> {
    return this.uow.transact(async () => {
      if (!this.data.products[product]) return false;
      const existing = this.data.stock[product];
      if (quantity === null) {
        if (!existing) return false;
        delete this.data.stock[product];
        this.salesMoves.delete(product);
        await this.record('stock', product, 'update', this.stockOf(product));
        return true;
      }
      const voucher = ((this.data.products[product].attribute ?? 0) & 16) !== 0;
      const pending = voucher ? new Decimal(0) : unacknowledged;
      if (existing && new Decimal(existing.level).eq(quantity) && this.quantity(existing).eq(quantity.plus(pending))) return false;
      const at = this.now().toISOString();
      this.data.stock[product] = {
        product,
        level: quantity.toString(),
        setAt: at,
        salesSeqAtSet: salesSeq,
        adjustmentsTotal: pending.toString(),
        adjustments: pending.isZero() ? [] : [{ delta: pending.toString(), reason: 'local sales not yet acknowledged by upstream', at }],
      };
      this.salesMoves.delete(product);
      await this.record('stock', product, 'update', this.stockOf(product));
      return true;
    });
  }

  // ---- change feed ----

  modificationsBetween(from: number, to: number, maxResults: number): { items: Readonly<Modification>[]; to: number } {
    const items: Modification[] = [];
    for (const m of this.modifications) {
      if (m.version <= from) continue;
      if (m.version > to || items.length >= maxResults) break;
      items.push(m);
    }
    return { items, to: items.length >= maxResults ? items[items.length - 1].version : to };
  }

  // ---- internals ----

  private quantity(level: StockLevel): Decimal {
    return new Decimal(level.level).plus(level.adjustmentsTotal).plus(this.salesMoves.get(level.product) ?? 0);
  }

  private async write(collection: Collection, item: Article, op: 'create' | 'update'): Promise<void> {
    (this.data[collection] as Record<string, Article>)[item.identifier] = item;
    await this.record(ENTITY_OF[collection], item.identifier, op, item);
  }

  private async record(entity: ArticleEntity, identifier: string, op: Modification['op'], data: unknown): Promise<void> {
    this.data.version++;
    const m: Modification = { version: this.data.version, entity, identifier, op, data, at: this.now().toISOString() };
    this.modifications.push(m);
    // The feed entry is marked for writing before articles.json, so a crash never leaves a change without its entry.
    await this.store.addModification(m);
    this.store.saveArticles();
    this.stockGeneration++;
    this.notify();
    if (entity === 'stock' || (entity === 'product' && op === 'delete')) for (const l of this.stockListeners) l(identifier);
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }

  private newId(collection: Collection): string {
    if (!NUMERIC_IDS.has(collection)) return randomUUID();
    const ids = Object.keys(this.data[collection]).map(Number);
    return String(ids.length ? Math.max(...ids) + 1 : 1);
  }

  private checkReferences(collection: Collection, item: Article): void {
    for (const { field, target } of REFERENCES[collection]) {
      const ref = (item as unknown as Record<string, unknown>)[field];
      if (ref == null) continue;
      if (!this.data[target][ref as string]) {
        throw new AppError('reference_not_found', `${ENTITY_OF[target]} ${String(ref)} (${field}) not found`, [
          { field: `/${field}`, entity: ENTITY_OF[target], identifier: ref },
        ]);
      }
    }
  }

  private checkNoCycle(category: Category): void {
    const seen = new Set([category.identifier]);
    for (let p = category.parent; p; p = this.data.categories[p]?.parent) {
      if (seen.has(p))
        throw new AppError('validation_failed', `category ${category.identifier} would be its own ancestor`, [
          { field: '/parent', message: 'creates a cycle' },
        ]);
      seen.add(p);
    }
  }

  private referrer(collection: Collection, id: string): string | null {
    for (const [source, refs] of Object.entries(REFERENCES) as [Collection, Reference[]][]) {
      for (const { field, target } of refs) {
        if (target !== collection) continue;
        for (const item of Object.values(this.data[source])) {
          if ((item as unknown as Record<string, unknown>)[field] === id) return `${ENTITY_OF[source]} ${item.identifier}`;
        }
      }
    }
    return null;
  }
}

/** Numeric identifiers in numeric order, then the rest by code point. */
export function compareIds(a: string, b: string): number {
  const na = /^\d+$/.test(a);
  const nb = /^\d+$/.test(b);
  if (na && nb) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

const SAME_RULES = { numericStrings: false, verbatim: new Set<string>(), unordered: new Set<string>(), nested: {} };

function sameArticle(a: unknown, b: unknown): boolean {
  return canonicalJson(a, SAME_RULES) === canonicalJson(b, SAME_RULES);
}

/**
 * What a write stores and answers: the full representation, every optional field at its default
 * (a product PUT with name and price reads back like a seeded one), identifier first.
 */
function withDefaults(collection: Collection, item: Record<string, unknown>): Record<string, unknown> {
  const { identifier, ...rest } = item;
  if (collection === 'products') {
    return {
      identifier,
      name: rest.name,
      description: '',
      price: rest.price,
      priceIncludesVat: true,
      tax: null,
      discount: null,
      costPrice: 0,
      attribute: 0,
      custom: null,
      ...rest,
    };
  }
  if (collection === 'categories') return { identifier, name: rest.name, parent: null, ...rest };
  return { identifier, ...rest };
}
