import { createHash } from 'node:crypto';
import { Decimal } from 'decimal.js';
import { AppError } from '../errors.js';
import type { Store } from './ports/store.js';
import type { UnitOfWork } from './ports/unit-of-work.js';
import type { IgnoredPush, QuarantineCode, QuarantineItem, QuarantineState, SaleRecord } from './ports/records.js';
import { validateInvoice } from '../translate/invoice-schema.js';
import { invoiceContentKey, invoiceIdentityKey, invoiceToSale, saleContentKey, saleIdentityKey } from '../translate/invoice.js';
import type { TabShopInvoice } from '../translate/tabshop-types.js';
import type { Catalog } from './catalog.js';
import type { GatewayEvents } from '../events.js';
import { isReversed, type Sale, type SaleStatus } from './types.js';
import type { QuarantineSummary, SaleIndexEntry, SaleQuery, SaleMatch, SalesView, SaleSummary } from './ports/sales-view.js';
import { describeProblems, saleAmountProblems, saleAmountsValid } from './sale-check.js';
import { saleRecordProblem, type UnloadableRecord } from './record-check.js';
import { StoreUnitOfWork } from './unit-of-work.js';

export type Outcome = 'created' | 'updated' | 'unchanged' | 'quarantined';

export interface PushSummary {
  received: number;
  created: number;
  updated: number;
  unchanged: number;
  quarantined: number;
}

export interface PushContext {
  device: string;
  cashRegisterName: string;
  at: Date;
  /** The invoices were parsed for this call alone (a push body) and nobody changes them later: sales keep them without a copy. */
  adopt?: boolean;
  /** How the push body was decoded when it was not UTF-8 (recorded on its sales as source.encoding). */
  encoding?: string;
}

export type { QuarantineSummary, SaleIndexEntry, SaleQuery } from './ports/sales-view.js';

/**
 * beforeStore may enrich the record (e.g. its day) or throw an AppError to refuse an API
 * change; prepare computes, still before the sale is stored, what is to happen once it is, and
 * returns that as a step that cannot fail (e.g. the outbox items, copied); afterStore sees the
 * stored record. All run inside the change's unit of work, so their writes are durable together
 * with the sale. Whatever can fail must fail before the store: a sale is stored with all of its
 * consequences or not at all.
 */
export interface SaleHooks {
  beforeStore?(record: SaleRecord, previous: SaleRecord | undefined, at: Date, kind: ChangeKind): void | Promise<void>;
  prepare?(record: SaleRecord, previous: SaleRecord | undefined, at: Date, kind: ChangeKind): () => void;
  afterStore?(record: SaleRecord, previous: SaleRecord | undefined, at: Date, kind: ChangeKind): void | Promise<void>;
}

/** Who changed a sale: a TabShop push (never refused), the API, or a receipt marked printed. */
export type ChangeKind = 'tabshop' | 'api' | 'receipt';

/** What a release stores: the item's own payload (as is, or dated when received), a corrected invoice, or an API sale. */
export type ReleaseInput = { kind: 'stored'; date?: 'received' } | { kind: 'invoice'; invoice: unknown } | { kind: 'sale'; sale: Sale };

export interface ReleaseResult {
  outcome: Outcome;
  /** The released sale's identifier (null when quarantined again). */
  sale: string | null;
  /** Why it was quarantined again (null otherwise). */
  reason: string | null;
  item: QuarantineItem;
}

interface Candidate {
  sale: Sale;
  identity: string;
  content: string;
  /** The original payload, kept in a quarantine entry on collision. */
  payload: unknown;
}

/** A push's first invoices are looked up ahead (a tablet pushes a few at a time; a big import goes slice by slice anyway). */
const PREFETCH_INVOICES = 100;

/** How long one serialised step of a push may work before it lets other pushes in. */
const PUSH_SLICE_MS = 4;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const contentHash = (content: string) => sha256(content).slice(0, 16);

/**
 * The sales of every register: upsert by (register, invoice id) with the identity rules of
 * DESIGN §4.1, quarantine for what cannot be stored as a sale, stock moves into the catalogue.
 * Changes run one at a time (a promise chain) so concurrent pushes never interleave; each change
 * is a unit of work whose wait for the store comes after its step in the chain, so concurrent
 * pushes share fsyncs.
 */
export class SalesLedger {
  private seq = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly hooks: SaleHooks[] = [];

  constructor(
    private readonly store: Store,
    /** The index of the stored sales and quarantine items: in memory (lowdb) or SQL (PostgreSQL). */
    private readonly view: SalesView,
    private readonly catalog: Catalog,
    private readonly events?: GatewayEvents,
    private readonly uow: UnitOfWork = new StoreUnitOfWork(store),
  ) {}

  get salesSeq(): number {
    return this.seq;
  }

  saleCount(): Promise<number> {
    return this.view.count();
  }

  /** Every quarantine item, whatever its state. */
  quarantineCount(): Promise<number> {
    return this.view.quarantineCount('all');
  }

  /** Items still waiting for an admin (state open). */
  openQuarantineCount(): Promise<number> {
    return this.view.quarantineCount('open');
  }

  /**
   * Start-up: every stored record once, in any order. `stock: false` when the store holds the
   * quantities (PostgreSQL's stock_levels): the record's stock moves are in them already.
   */
  loadSale(record: SaleRecord, opts: { stock: boolean } = { stock: true }): void {
    this.view.loadSale(record);
    if (opts.stock) this.replayStock(record);
  }

  /** A stored record's stock moves into the catalogue, change by change (deriving the stock from the sales). */
  replayStock(record: SaleRecord): void {
    let previous: SaleStatus | null = null;
    for (const change of record.history) {
      this.moveStock(record.sale, previous, change.status, change.seq);
      previous = change.status;
    }
  }

  loadQuarantine(item: QuarantineItem): void {
    this.view.loadQuarantine(item);
  }

  /** After the store's visit: the sales sequence continues from the highest stored. */
  async finishLoading(): Promise<void> {
    this.seq = await this.view.open();
  }

  /** Another process stored sale changes (PostgreSQL): the sequence continues from the highest stored. */
  refreshed(r: { full: boolean; salesSeq: number }): void {
    if (r.full || r.salesSeq > this.seq) this.seq = r.salesSeq;
  }

  /** Extensions (days, outbox) join every sale change inside the same serialised step and commit round. */
  use(hooks: SaleHooks): void {
    this.hooks.push(hooks);
  }

  /**
   * Applies one TabShop push (the `invoices` array), in array order. Durable when it resolves.
   * A big push goes in slices, each its own serialised step, and lets the event loop run between
   * them: another tablet's push is read and takes its turn meanwhile (it then waits for one
   * commit round, not for the whole big push).
   */
  ingestInvoices(invoices: unknown[], ctx: PushContext): Promise<PushSummary> {
    // The identifiers the translation will give (invoiceToSale): read ahead while this push waits for its turn.
    if (this.store.prefetchSales && ctx.cashRegisterName) {
      const ids = invoices
        .slice(0, PREFETCH_INVOICES)
        .map(invoiceIdOf)
        .filter((id) => id !== undefined);
      this.store.prefetchSales(ids.map((id) => `${ctx.cashRegisterName}:${id}`));
    }
    return this.uow.transact(async () => {
      const summary: PushSummary = { received: invoices.length, created: 0, updated: 0, unchanged: 0, quarantined: 0 };
      let next = 0;
      do {
        if (next > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        await this.serialised(async () => {
          const until = performance.now() + PUSH_SLICE_MS;
          while (next < invoices.length) {
            summary[await this.ingestOne(invoices[next++], ctx)]++;
            if (performance.now() >= until) break;
          }
          if (next === invoices.length) this.events?.emit('push', { device: ctx.device, cashRegisterName: ctx.cashRegisterName, summary, at: ctx.at });
        });
      } while (next < invoices.length);
      return summary;
    });
  }

  /** Quarantines a push body that is not `{"invoices": [...]}` (kept raw, nothing else stored). */
  quarantineBody(raw: string, reason: string, ctx: PushContext): Promise<void> {
    return this.uow.transact(() =>
      this.serialised(() => this.addQuarantine('invalid_body', reason, ctx, raw, { key: `body|${ctx.cashRegisterName}|${raw}` }).then(() => undefined)),
    );
  }

  /**
   * Start-up: a stored record that cannot be loaded is kept, raw, in the quarantine (once, however
   * often a start finds it again). True when it is new there.
   */
  setAside(record: UnloadableRecord, at: Date): Promise<boolean> {
    return this.uow.transact(() => this.serialised(() => this.setAsideNow(record, at)));
  }

  /**
   * A sale posted through the API: same store and rules, but a collision is answered with 409.
   * `createOnly` (POST): an existing identifier is 409 already_exists, so a client that re-sends
   * a create (an outbox after a timeout) learns the sale is there. `replace` (PUT ?replace=true):
   * a different sale under the identifier is overwritten instead (a dead letter retried as a PUT
   * after a collision: the admin chose this version).
   */
  putApiSale(
    sale: Sale,
    at: Date,
    opts: { createOnly?: boolean; replace?: boolean } = {},
  ): Promise<{ outcome: Exclude<Outcome, 'quarantined'>; sale: Readonly<Sale> }> {
    return this.uow.transact(() =>
      this.serialised(async () => {
        const checked = await this.apiCandidate(sale, opts.replace === true, at);
        if (!checked.ok) throw checked.error;
        const { candidate } = checked;
        if (checked.found.match !== 'absent' && opts.createOnly) {
          throw new AppError('already_exists', `sale ${sale.identifier} already exists; change it with PUT /sales/${sale.identifier}`);
        }
        const outcome = await this.upsert(candidate, at, 'api', checked.found);
        const stored = await this.store.getSale(sale.identifier);
        return { outcome: outcome as Exclude<Outcome, 'quarantined'>, sale: stored!.sale };
      }),
    );
  }

  /** Marks a sale's receipt printed: a sale change of its own (next seq), so feeds and hooks see it. */
  markReceiptPrinted(identifier: string, at: Date): Promise<Readonly<Sale>> {
    return this.uow.transact(() =>
      this.serialised(async () => {
        const previous = await this.getSale(identifier);
        if (!previous) throw new AppError('not_found', `sale ${identifier} not found`);
        if (previous.sale.receiptPrintedAt) {
          throw new AppError('receipt_is_printed_already', `the receipt of sale ${identifier} was printed at ${previous.sale.receiptPrintedAt}`);
        }
        const change = { seq: this.seq + 1, status: previous.sale.status, at: at.toISOString(), kind: 'receipt' as const };
        const record: SaleRecord = {
          ...previous,
          sale: { ...previous.sale, receiptPrintedAt: change.at, version: (previous.sale.version ?? 0) + 1 },
          history: [...previous.history, change],
        };
        await this.storeChange(record, previous, at, 'receipt');
        return record.sale;
      }),
    );
  }

  /** Runs `fn` between sale changes (never during one): day closes, balance changes, consistent feed reads. */
  exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    return this.serialised(async () => fn());
  }

  /** The sales sequence number between changes, once every change up to it is durable (feeds serve nothing a crash could lose). */
  async durableSalesSeq(): Promise<number> {
    const seq = await this.exclusive(() => this.seq);
    await this.uow.durable();
    return seq;
  }

  /** What the back office lists of a stored sale (total, VAT, lines, first receipt, day), without reading its record. */
  summary(identifier: string): Promise<SaleSummary | undefined> {
    return this.view.summary(identifier);
  }

  /** Entries and summaries of many sales at once (stats lists). */
  summaries(identifiers: readonly string[]): Promise<Map<string, SaleIndexEntry & { summary: SaleSummary }>> {
    return this.view.summaries(identifiers);
  }

  /** A stored sale written again outside a change (a start-up repair): the index follows it. */
  rewritten(record: SaleRecord): void {
    this.view.saleStored(record);
  }

  entry(identifier: string): Promise<SaleIndexEntry | undefined> {
    return this.view.entry(identifier);
  }

  async getSale(identifier: string): Promise<SaleRecord | undefined> {
    return this.view.knownAbsent(identifier) ? undefined : this.store.getSale(identifier);
  }

  /** Entries filtered by register, status and time, in the order first stored (or newest first). */
  select(query: SaleQuery, order?: 'first-stored' | 'newest-first'): AsyncIterable<SaleIndexEntry> {
    return this.view.select(query, order);
  }

  /** One page of select() and the number of matches. */
  page(
    query: SaleQuery,
    firstResult: number,
    maxResults: number,
    order?: 'first-stored' | 'newest-first',
  ): Promise<{ items: SaleIndexEntry[]; total: number }> {
    return this.view.page(query, firstResult, maxResults, order);
  }

  /** Sales whose latest change is above `seq`, in the order first stored. */
  changedAfter(seq: number): AsyncIterable<SaleIndexEntry> {
    return this.view.changedAfter(seq);
  }

  /** Sales of the given business days. */
  ofDays(dayIds: readonly string[]): Promise<SaleIndexEntry[]> {
    return this.view.ofDays(dayIds);
  }

  /** Each register's most recently changed sale. */
  latestByRegister(): Promise<Map<string, { identifier: string; seq: number }>> {
    return this.view.latestByRegister();
  }

  /** The change feed: each sale once at its latest seq, from < seq ≤ to, oldest first, at most `max`. */
  feed(from: number, to: number, max: number): Promise<{ seq: number; identifier: string }[]> {
    return this.view.feed(from, to, max);
  }

  /** Oldest first; `state` 'all' (the default here) or one state. */
  quarantineSummaries(state: QuarantineState | 'all' = 'all'): Promise<QuarantineSummary[]> {
    return this.view.quarantineSummaries(state);
  }

  /** One page of quarantineSummaries() and the number of matches. */
  quarantinePage(state: QuarantineState | 'all', firstResult: number, maxResults: number): Promise<{ items: QuarantineSummary[]; total: number }> {
    return this.view.quarantinePage(state, firstResult, maxResults);
  }

  /**
   * Stores what an open quarantine item holds (or its correction) as a sale received now, by the
   * push rules. created/updated/unchanged resolve the item (released); quarantined again leaves it
   * open with the new reason. Durable when it resolves.
   */
  releaseQuarantine(id: string, input: ReleaseInput, by: string, at: Date): Promise<ReleaseResult> {
    return this.uow.transact(() =>
      this.serialised(async () => {
        const item = await this.openItem(id);
        const ctx: PushContext = { device: item.device ?? by, cashRegisterName: item.cashRegisterName ?? '', at };
        let outcome: Outcome;
        let reason: string | null = null;
        let identifier: string | null = null;
        if (input.kind === 'sale') {
          const sale = { ...input.sale, source: { ...input.sale.source, kind: input.sale.source?.kind ?? 'api', quarantineId: id } } as Sale;
          const checked = await this.apiCandidate(sale, false, at);
          if (!checked.ok) {
            outcome = 'quarantined';
            reason = checked.error.message;
          } else {
            outcome = await this.upsert(checked.candidate, at, 'api', checked.found);
            identifier = sale.identifier;
          }
        } else {
          const invoice = input.kind === 'invoice' ? input.invoice : releasableInvoice(item, input.date);
          const tried = await this.tryInvoice(invoice, ctx, id);
          ({ outcome, reason } = tried);
          identifier = tried.identifier;
        }
        const updated: QuarantineItem = { ...item };
        if (outcome === 'quarantined') {
          updated.reason = reason ?? item.reason;
        } else {
          updated.state = 'released';
          updated.resolvedAt = at.toISOString();
          updated.resolvedBy = by;
          updated.resolution = outcome;
          updated.sale = identifier!;
        }
        await this.store.putQuarantine(updated);
        this.view.quarantineStored(updated);
        return { outcome, sale: outcome === 'quarantined' ? null : identifier, reason: outcome === 'quarantined' ? reason : null, item: updated };
      }),
    );
  }

  /** Closes an open quarantine item without storing anything; the reason is kept. */
  dismissQuarantine(id: string, reason: string, by: string, at: Date): Promise<Readonly<QuarantineItem>> {
    return this.uow.transact(() =>
      this.serialised(async () => {
        const item = await this.openItem(id);
        const updated: QuarantineItem = { ...item, state: 'dismissed', resolvedAt: at.toISOString(), resolvedBy: by, resolution: reason };
        await this.store.putQuarantine(updated);
        this.view.quarantineStored(updated);
        return updated;
      }),
    );
  }

  // ---- internals ----

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async ingestOne(item: unknown, ctx: PushContext): Promise<Outcome> {
    const tried = await this.tryInvoice(item, ctx);
    if (tried.outcome === 'quarantined') await this.addQuarantine(tried.code!, tried.reason!, ctx, tried.payload, tried.extra ?? {});
    return tried.outcome;
  }

  /**
   * One invoice by the push rules: stored (created/updated/unchanged), or why it cannot be (the
   * caller quarantines it, or keeps a released item open). `quarantineId`: a release of that item.
   */
  private async tryInvoice(
    item: unknown,
    ctx: PushContext,
    quarantineId?: string,
  ): Promise<{
    outcome: Outcome;
    identifier: string | null;
    reason: string | null;
    code?: QuarantineCode;
    payload?: unknown;
    extra?: { stored?: unknown; invoiceId?: string; problems?: QuarantineItem['problems'] };
  }> {
    const refused = (
      code: QuarantineCode,
      reason: string,
      payload: unknown,
      extra: { stored?: unknown; invoiceId?: string; problems?: QuarantineItem['problems'] },
    ) => ({ outcome: 'quarantined' as const, identifier: null, reason, code, payload, extra });
    const checked = validateInvoice(item);
    if (!checked.ok) return refused('invalid_invoice', checked.reason, item, { problems: checked.problems, invoiceId: invoiceIdOf(item) });
    const invoice = checked.invoice;
    if (quarantineId !== undefined && !ctx.cashRegisterName)
      return refused('invalid_invoice', 'the item names no cash register', item, { invoiceId: invoiceIdOf(item) });
    let candidate: Candidate;
    try {
      const sale = invoiceToSale(invoice, {
        cashRegisterName: ctx.cashRegisterName,
        device: ctx.device,
        adopt: ctx.adopt === true,
        ...(ctx.encoding !== undefined && { encoding: ctx.encoding }),
      });
      if (quarantineId !== undefined) sale.source = { ...sale.source!, quarantineId };
      candidate = { sale, identity: invoiceIdentityKey(invoice), content: invoiceContentKey(invoice), payload: invoice };
    } catch (err) {
      // A translation bug must not turn one invoice into a batch the tablet re-sends forever.
      return refused('invalid_invoice', `the invoice could not be translated: ${(err as Error).message}`, item, { invoiceId: invoiceIdOf(item) });
    }
    const { sale } = candidate;
    if (!saleAmountsValid(sale)) {
      // Each pushed field was within the limit, but a total summed from the positions is not.
      const problems = saleAmountProblems(sale);
      return refused('invalid_invoice', `invalid invoice: ${describeProblems(problems)}`, item, { problems, invoiceId: invoiceIdOf(item) });
    }
    const found = await this.checkedMatch(candidate, ctx.at);
    if (found.match === 'other-identity') {
      const stored = found.record ?? (await this.store.getSale(sale.identifier));
      return refused(
        'collision',
        `invoice id ${sale.source?.invoiceId} of register ${ctx.cashRegisterName} is already stored with a different date or positions (two tablets with the same POS id?); the stored sale is untouched`,
        invoice,
        { stored: stored?.sale.source?.invoice ?? stored?.sale, invoiceId: sale.source?.invoiceId },
      );
    }
    return { outcome: await this.upsert(candidate, ctx.at, 'tabshop', found), identifier: sale.identifier, reason: null };
  }

  /** An API sale (posted, or released from the quarantine) as a candidate, or why it cannot be stored. */
  private async apiCandidate(
    sale: Sale,
    replace: boolean,
    at: Date,
  ): Promise<{ ok: true; candidate: Candidate; found: SaleMatch } | { ok: false; error: AppError }> {
    if (!saleAmountsValid(sale)) {
      const problems = saleAmountProblems(sale);
      return { ok: false, error: new AppError('invalid_value', `the sale has invalid amounts: ${describeProblems(problems)}`, problems) };
    }
    const candidate = { sale, identity: saleIdentityKey(sale), content: saleContentKey(sale), payload: sale };
    const found = await this.checkedMatch(candidate, at);
    if (found.match === 'other-identity' && !replace) {
      return { ok: false, error: new AppError('sale_collision', `sale ${sale.identifier} exists with a different date or lines; it was not changed`) };
    }
    return { ok: true, candidate, found };
  }

  /** setAside() inside a change already serialised. */
  private setAsideNow(record: UnloadableRecord, at: Date): Promise<boolean> {
    if (record.what === 'sale' && typeof record.id === 'string') this.view.setAside(record.id);
    let raw: string;
    try {
      raw = JSON.stringify(record.raw) ?? 'undefined';
    } catch {
      raw = record.id ?? '';
    }
    const ctx = { cashRegisterName: record.cashRegisterName, at };
    return this.addQuarantine('unloadable_record', `a stored ${record.what} could not be loaded and was set aside: ${record.reason}`, ctx, record.raw, {
      key: `unloadable_record|${record.what}|${record.id ?? ''}|${sha256(raw)}`,
    });
  }

  /**
   * The view's match, with the stored record checked as start-up checks it on lowdb: a store that
   * loads nothing at start (PostgreSQL) finds a record that cannot be used when it reads it. Such a
   * record is set aside into the quarantine (once) and the candidate is stored as new.
   */
  private async checkedMatch(candidate: Candidate, at: Date): Promise<SaleMatch> {
    const { sale } = candidate;
    const found = await this.view.match(sale.identifier, candidate.identity, candidate.content);
    const problem = found.record && saleRecordProblem(found.record);
    if (!problem) return found;
    const stored = found.record!;
    await this.setAsideNow({ what: 'sale', id: sale.identifier, cashRegisterName: stored.sale?.cashRegisterName, raw: stored, reason: problem }, at);
    return { match: 'absent' };
  }

  private async openItem(id: string): Promise<QuarantineItem> {
    const item = (await this.view.quarantineHas(id)) ? await this.store.getQuarantine(id) : undefined;
    if (!item) throw new AppError('not_found', `quarantine item ${id} not found`);
    const state = item.state ?? 'open';
    if (state !== 'open') {
      throw new AppError(
        'not_open',
        `quarantine item ${id} is ${state} (${item.resolvedAt ?? '?'} by ${item.resolvedBy ?? '?'}); only open items can be released or dismissed`,
      );
    }
    return item;
  }

  /** `found`: how the candidate compares with the stored sale (asked of the view in this serialised step). */
  private async upsert(candidate: Candidate, at: Date, kind: ChangeKind, found: SaleMatch): Promise<Outcome> {
    const { sale } = candidate;
    if (found.match === 'same-content') return 'unchanged';
    const previous = found.match === 'absent' ? undefined : (found.record ?? (await this.store.getSale(sale.identifier))!);
    // Re-pushes change nothing: status changes from pushes are one-way (a completed version of a
    // reversed sale is an old push coming again), and a version the sale had before is never restored.
    if (previous && kind === 'tabshop') {
      const reinstates = !isReversed(sale.status) && isReversed(previous.sale.status);
      const older = previous.earlier?.includes(contentHash(candidate.content)) ?? false;
      if (reinstates || older) {
        await this.recordIgnored(
          previous,
          candidate,
          at,
          reinstates
            ? `stale re-push: the sale is ${previous.sale.status}, and pushes never make a reversed sale completed again (reinstate it with PUT /api/sales/{id})`
            : 'stale re-push: the sale had this version before; pushes never restore an earlier version (change it with PUT /api/sales/{id})',
        );
        return 'unchanged';
      }
    }
    // The seq is taken only once the change is stored (remember): a change a hook refuses burns none.
    const change = { seq: this.seq + 1, status: sale.status, at: at.toISOString() };
    // Object.assign, not spreads: on Node 20 an object made by `{ ...x, k: v }`, or given a property
    // later (the hooks add dayId and lineFacts), gets a hidden class of its own: ~0.5 KB more per
    // sale held in memory (the chunks a shop keeps), instead of one shared by all sales.
    const record: SaleRecord = Object.assign({}, previous, {
      sale: Object.assign({}, sale, {
        receiptPrintedAt: previous?.sale.receiptPrintedAt ?? sale.receiptPrintedAt ?? null,
        version: (previous?.sale.version ?? 0) + 1,
      }),
      identity: candidate.identity,
      content: candidate.content,
      history: [...(previous?.history ?? []), change],
    });
    if (previous) record.earlier = [...(previous.earlier ?? []), contentHash(previous.content)];
    await this.storeChange(record, previous, at, kind);
    return previous ? 'updated' : 'created';
  }

  private async storeChange(record: SaleRecord, previous: SaleRecord | undefined, at: Date, kind: ChangeKind): Promise<void> {
    const { sale } = record;
    const { seq } = record.history[record.history.length - 1];
    // Hooks are mostly synchronous: await only what returns a promise (one microtask fewer per hook).
    for (const hook of this.hooks) {
      const pending = hook.beforeStore?.(record, previous, at, kind);
      if (pending) await pending;
    }
    const prepared: (() => void)[] = [];
    for (const hook of this.hooks) if (hook.prepare) prepared.push(hook.prepare(record, previous, at, kind));
    await this.store.putSale(record, record.history[record.history.length - 1].at);
    this.remember(record);
    const previousStatus = previous?.sale.status ?? null;
    this.moveStock(record.sale, previousStatus, sale.status, seq);
    for (const hook of this.hooks) {
      const pending = hook.afterStore?.(record, previous, at, kind);
      if (pending) await pending;
    }
    for (const step of prepared) step();
    this.events?.emit('sale.changed', { identifier: sale.identifier, cashRegisterName: sale.cashRegisterName, status: sale.status, previousStatus, seq });
  }

  /** A stale re-push changes nothing but the sale's list of ignored pushes (one entry per distinct content, counted). */
  private async recordIgnored(record: SaleRecord, candidate: Candidate, at: Date, reason: string): Promise<void> {
    const content = contentHash(candidate.content);
    const ignored = [...(record.ignored ?? [])];
    const i = ignored.findIndex((p) => p.content === content);
    const iso = at.toISOString();
    if (i >= 0) ignored[i] = { ...ignored[i], count: ignored[i].count + 1, lastAt: iso };
    else {
      ignored.push({
        at: iso,
        lastAt: iso,
        count: 1,
        status: candidate.sale.status,
        content,
        reason,
      } satisfies IgnoredPush);
    }
    await this.store.putSale({ ...record, ignored }, record.history[record.history.length - 1].at);
  }

  private remember(record: SaleRecord): void {
    this.view.saleStored(record);
    const seq = record.history[record.history.length - 1]?.seq ?? 0;
    if (seq > this.seq) this.seq = seq;
  }

  /** Stock follows the status: selling takes it, a reversal returns it, an un-reversal takes it again. */
  private moveStock(sale: Sale, from: SaleStatus | null, to: SaleStatus, seq: number): void {
    const wasSold = from !== null && !isReversed(from);
    const isSold = !isReversed(to);
    const sign = from === null ? (isSold ? -1 : 0) : wasSold === isSold ? 0 : isSold ? -1 : 1;
    if (sign === 0) return;
    for (const line of sale.lines) {
      this.catalog.applySaleMove(line.product, new Decimal(String(line.quantity)).times(sign), seq);
    }
  }

  private async addQuarantine(
    code: QuarantineCode,
    reason: string,
    ctx: Pick<PushContext, 'at'> & Partial<PushContext>,
    payload: unknown,
    extra: { key?: string; stored?: unknown; invoiceId?: string; problems?: QuarantineItem['problems'] },
  ): Promise<boolean> {
    const key = extra.key ?? `${code}|${ctx.cashRegisterName}|${stableJson(payload)}`;
    const id = `q-${sha256(key).slice(0, 20)}`;
    if (await this.view.quarantineHas(id)) {
      // The same item again (a re-push): stored once, counted; its state (an admin's decision) stays.
      const known = await this.store.getQuarantine(id);
      if (known) await this.store.putQuarantine({ ...known, count: (known.count ?? 1) + 1, lastAt: ctx.at.toISOString() });
      return false;
    }
    const item: QuarantineItem = {
      id,
      at: ctx.at.toISOString(),
      code,
      reason,
      state: 'open',
      device: ctx.device,
      cashRegisterName: ctx.cashRegisterName,
      payload,
    };
    if (extra.invoiceId !== undefined) item.invoiceId = extra.invoiceId;
    if (extra.stored !== undefined) item.stored = extra.stored;
    if (extra.problems !== undefined) item.problems = extra.problems;
    await this.store.putQuarantine(item);
    this.view.quarantineStored(item);
    this.events?.emit('quarantine', { id, code, reason, cashRegisterName: ctx.cashRegisterName, device: ctx.device, at: item.at });
    return true;
  }
}

/**
 * The invoice an item holds: its payload (an invoice), or the one invoice of a push body kept
 * raw; with date 'received', dated when the gateway received it (a tablet whose clock was reset).
 */
function releasableInvoice(item: QuarantineItem, date?: 'received'): unknown {
  let payload = item.payload;
  if (typeof payload === 'string') {
    try {
      payload = JSON.parse(payload);
    } catch {
      /* stays text: not an invoice */
    }
  }
  const invoices = payload !== null && typeof payload === 'object' ? (payload as { invoices?: unknown }).invoices : undefined;
  if (Array.isArray(invoices) && invoices.length === 1) payload = invoices[0];
  if (date === 'received' && payload !== null && typeof payload === 'object' && !Array.isArray(payload)) {
    payload = { ...(payload as TabShopInvoice), date: String(Date.parse(item.at)) };
  }
  return payload;
}

function invoiceIdOf(item: unknown): string | undefined {
  const id = item !== null && typeof item === 'object' ? (item as Record<string, unknown>).id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

/** JSON with sorted keys, so the same payload always gives the same quarantine key. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
