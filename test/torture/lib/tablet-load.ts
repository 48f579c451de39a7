/**
 * Simulated tablets and a back office against one or more gateway processes, with a model of what
 * each tablet was told, and the check of the whole store against that model. Used by the SIGKILL
 * cycles (crash-cycles.ts) and the equal-processes tests (test/e2e/postgres-equal-processes.test.ts).
 */
import { Decimal } from 'decimal.js';
import { adminAuthHeader, allSales, api, basicAuth, PRODUCTS, START_LEVEL, TABLETS } from './gateway.js';
import { pick } from './generators.js';

export type Status = '10' | '11';
type Known = 'absent' | Status;

interface Position {
  productId: string;
  qty: number | string;
  total: number | string;
}

export interface Invoice {
  tablet: number;
  id: number;
  date: string;
  positions: Position[];
  /** The last state known to be stored: acknowledged, or observed by a check. */
  known: Known;
  /** Statuses pushed since `known` without an acknowledgement (cut off by a kill): stored or not. */
  maybe: Set<Status>;
  inFlight: boolean;
  /** In a batch the tablet will send again: not picked for another push before that. */
  queued: boolean;
  acked: boolean;
}

export interface LoadCounts {
  /** Pushes answered 200, and pushes without an answer (cut off, refused, or 503 "retry"). */
  pushesAcked: number;
  pushesUnanswered: number;
  /** Unacknowledged changes found stored by a check anyway (allowed). */
  unackedButStored: number;
  /** An acknowledged invoice (or an acknowledged refund) missing. */
  lost: number;
  /** A sale listed more than once, or the listed total above the number of distinct sales. */
  duplicated: number;
  /** A sale nobody pushed, a status nobody pushed, a wrong line, a quarantine entry. */
  wrong: number;
  /** Central stock (API and tablet view) different from set level − sold + reversed. */
  stockErrors: number;
  /** A JSON summary with other outcomes than the known store state implies, or an unexpected status. */
  badAnswers: number;
  /** Requests (pushes, reads) not answered within `requestTimeoutMs`: a hang. */
  hung: number;
  failures: string[];
  /** Sales reads of the simulated back office. */
  backOfficeReads: number;
  /** Several processes: pushes answered 503 not_ready ("send again"), sent again like a cut-off push. */
  retryLater: number;
}

export function emptyCounts(): LoadCounts {
  return {
    pushesAcked: 0,
    pushesUnanswered: 0,
    unackedButStored: 0,
    lost: 0,
    duplicated: 0,
    wrong: 0,
    stockErrors: 0,
    badAnswers: 0,
    hung: 0,
    failures: [],
    backOfficeReads: 0,
    retryLater: 0,
  };
}

/** One answered (or unanswered) request of the load, for tests that look at each. */
export interface Answer {
  url: string;
  kind: 'push' | 'read';
  /** HTTP status; 0: no answer (connection refused or reset); -1: not answered within requestTimeoutMs. */
  status: number;
  ms: number;
  /** performance.now() when the request was sent. */
  sentAt: number;
}

export interface LoadOptions {
  /** Concurrent pushers per tablet. */
  workersPerTablet: number;
  /**
   * A request not answered within this is aborted and counted as `hung` (a bound only a hang
   * exceeds; none by default: a SIGKILLed process refuses or resets at once).
   */
  requestTimeoutMs?: number;
  /** A process that cannot answer (frozen on purpose): its requests may time out without counting as `hung`. */
  mayHang?: (url: string) => boolean;
  onAnswer?: (a: Answer) => void;
}

export interface RunningLoad {
  /** Stops sending new requests; resolves once every request in flight has settled. */
  stop(): Promise<void>;
}

const QTYS: (number | string)[] = [1, 2, 3, 0.5, '1.25', '2'];

function invoiceBody(inv: Invoice, status: Status, register: string) {
  const total = inv.positions.reduce((s, p) => s.plus(String(p.total)), new Decimal(0)).toNumber();
  return {
    id: inv.id,
    date: inv.date,
    checkoutType: String(inv.id % 3),
    checkoutStatus: status,
    total,
    tax: 0,
    discount: 0,
    costPrice: 0,
    givenCash: total,
    returnedCash: 0,
    customer: { name: `torture ${register}`, address: '', email: '' },
    positions: inv.positions.map((p) => ({ productName: p.productId, posTitle: p.productId, subtotal: p.total, tax: 0, discount: 0, costPrice: 0, ...p })),
  };
}

const storedStatus = (sale: { status: string }): Known | 'other' => (sale.status === 'completed' ? '10' : sale.status === 'refunded' ? '11' : 'other');

/** A gateway's answer that means "not done, send again": a 503 not_ready (a process without its database, or its leader). */
const isRetryLater = (status: number, text: string) => status === 503 && text.includes('"not_ready"');

export class TabletLoad {
  readonly invoices = new Map<string, Invoice>();
  private readonly byTablet: Invoice[][] = TABLETS.map(() => []);
  /** Batches a tablet sent without an answer: a tablet sends them again (the same invoices, the same statuses). */
  private readonly retries: { inv: Invoice; status: Status }[][][] = TABLETS.map(() => []);
  private readonly auths = TABLETS.map(basicAuth);
  private seq = 0;

  constructor(
    private readonly rnd: () => number,
    readonly counts: LoadCounts,
    private readonly opts: LoadOptions,
  ) {}

  fail(kind: Exclude<keyof LoadCounts, 'failures'>, msg: string): void {
    this.counts[kind]++;
    if (this.counts.failures.length < 50) this.counts.failures.push(msg);
  }

  key(inv: Invoice): string {
    return `${TABLETS[inv.tablet].cashRegister}:${inv.id}`;
  }

  /** Distinct invoices that got a 200 at least once. */
  acknowledged(): number {
    return [...this.invoices.values()].filter((i) => i.acked).length;
  }

  /** Batches still waiting to be sent again. */
  pendingRetries(): number {
    return this.retries.reduce((n, r) => n + r.length, 0);
  }

  /**
   * Every tablet's pushers and a back office reading sales, each request to `urls()` taken in
   * turn (asked again before each request, so a test can take a process out), until stop().
   * Unanswered batches are sent again first, as tablets do.
   */
  start(urls: () => string[], label: string): RunningLoad {
    let turn = 0;
    const anyUrl = () => {
      const list = urls();
      return list[turn++ % list.length];
    };
    let stopping = false;
    const inFlight = new Set<Promise<void>>();
    const track = (p: Promise<void>) => {
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      return p;
    };
    const tabletLoop = async (tablet: number) => {
      while (!stopping) {
        const again = this.retries[tablet].shift();
        await track(this.send(anyUrl(), tablet, again ?? this.nextBatch(tablet), label));
      }
    };
    // A back office reading sales meanwhile (on cold caches right after a start).
    const backOffice = async () => {
      while (!stopping) {
        const known = [...this.invoices.values()];
        const one = known[Math.floor(this.rnd() * known.length)];
        const path =
          this.rnd() < 0.5 || !one
            ? `/sales?firstResult=${Math.floor(this.rnd() * known.length)}&maxResults=1000`
            : `/sales/${encodeURIComponent(this.key(one))}`;
        await track(this.read(anyUrl(), path));
      }
    };
    const loops = [...TABLETS.flatMap((_, t) => Array.from({ length: this.opts.workersPerTablet }, () => tabletLoop(t))), backOffice()];
    return {
      stop: async () => {
        stopping = true;
        await Promise.all(loops);
        await Promise.all([...inFlight]);
      },
    };
  }

  private signal(): AbortSignal | undefined {
    return this.opts.requestTimeoutMs ? AbortSignal.timeout(this.opts.requestTimeoutMs) : undefined;
  }

  private answered(url: string, kind: Answer['kind'], status: number, sentAt: number): void {
    this.opts.onAnswer?.({ url, kind, status, ms: performance.now() - sentAt, sentAt });
  }

  private async read(url: string, path: string): Promise<void> {
    const sentAt = performance.now();
    try {
      const res = await fetch(`${url}/api${path}`, { headers: { authorization: adminAuthHeader }, signal: this.signal() });
      await res.arrayBuffer();
      this.answered(url, 'read', res.status, sentAt);
      this.counts.backOfficeReads++;
      if (res.status !== 200 && res.status !== 404 && res.status !== 503) this.fail('badAnswers', `back-office read ${path} on ${url} answered ${res.status}`);
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      this.answered(url, 'read', timedOut ? -1 : 0, sentAt);
      if (timedOut && !this.opts.mayHang?.(url)) this.fail('hung', `back-office read ${path} on ${url}: no answer within ${this.opts.requestTimeoutMs} ms`);
    }
  }

  /** Sends one batch to `url`; updates the model from the answer. */
  async send(url: string, tablet: number, batch: { inv: Invoice; status: Status }[], label: string): Promise<void> {
    for (const b of batch) b.inv.inFlight = true;
    const json = this.rnd() < 0.5;
    // Expected outcomes, when every invoice of the batch is resolved (nothing cut off unanswered before).
    const resolved = batch.every((b) => b.inv.maybe.size === 0);
    const expected = { received: batch.length, created: 0, updated: 0, unchanged: 0, quarantined: 0 };
    const seen = new Map<Invoice, Known>();
    for (const b of batch) {
      const before = seen.get(b.inv) ?? b.inv.known;
      if (before === 'absent') expected.created++;
      else if (before === b.status) expected.unchanged++;
      else expected.updated++;
      seen.set(b.inv, b.status);
    }
    let acked = false;
    const sentAt = performance.now();
    try {
      const res = await fetch(`${url}/invoice`, {
        method: 'POST',
        headers: {
          authorization: this.auths[tablet],
          'content-type': pick(this.rnd, ['application/x-www-form-urlencoded', 'application/json', 'text/plain']),
          accept: json ? 'application/json' : '*/*',
        },
        body: JSON.stringify({ invoices: batch.map((b) => invoiceBody(b.inv, b.status, TABLETS[tablet].cashRegister)) }),
        signal: this.signal(),
      });
      const text = await res.text();
      this.answered(url, 'push', res.status, sentAt);
      if (res.status === 200) {
        acked = true;
        if (json) {
          const got = JSON.parse(text);
          const fine = resolved
            ? JSON.stringify(got) === JSON.stringify(expected)
            : got.received === batch.length && got.quarantined === 0 && got.created + got.updated + got.unchanged === batch.length;
          if (!fine) this.fail('badAnswers', `${label}: push summary ${text}, expected ${resolved ? JSON.stringify(expected) : 'no quarantine'}`);
        } else if (text !== 'true') this.fail('badAnswers', `${label}: push answered 200 ${text.slice(0, 100)}`);
      } else if (isRetryLater(res.status, text)) {
        this.counts.retryLater++;
      } else {
        this.fail('badAnswers', `${label}: push to ${url} answered ${res.status} ${text.slice(0, 200)}`);
      }
    } catch (err) {
      // Connection reset or refused by a kill: no answer. A timeout: a hang.
      const timedOut = (err as Error).name === 'TimeoutError';
      this.answered(url, 'push', timedOut ? -1 : 0, sentAt);
      if (timedOut && !this.opts.mayHang?.(url)) this.fail('hung', `${label}: push to ${url}: no answer within ${this.opts.requestTimeoutMs} ms`);
    }
    for (const b of batch) {
      b.inv.inFlight = false;
      if (acked) {
        b.inv.known = b.status;
        b.inv.maybe.clear();
        b.inv.acked = true;
      } else b.inv.maybe.add(b.status);
    }
    if (acked) this.counts.pushesAcked++;
    else {
      this.counts.pushesUnanswered++;
      this.retries[tablet].push(batch);
    }
    for (const b of batch) b.inv.queued = !acked;
  }

  /** Fresh invoices, re-pushes of acknowledged ones, refunds (status 11) of acknowledged ones. */
  nextBatch(tablet: number): { inv: Invoice; status: Status }[] {
    const rnd = this.rnd;
    const batch: { inv: Invoice; status: Status }[] = [];
    const size = 1 + Math.floor(rnd() * 4);
    const own = this.byTablet[tablet];
    for (let k = 0; k < size; k++) {
      const r = rnd();
      const ready = (inv: Invoice) => !inv.inFlight && !inv.queued && inv.maybe.size === 0 && inv.known !== 'absent' && !batch.some((b) => b.inv === inv);
      let chosen: { inv: Invoice; status: Status } | undefined;
      if (r >= 0.7 && own.length) {
        // Up to 20 tries for an acknowledged invoice: re-push it as it is, or refund it (status 11).
        for (let t = 0; t < 20 && !chosen; t++) {
          const inv = own[Math.floor(rnd() * own.length)];
          if (!ready(inv)) continue;
          if (r < 0.85) chosen = { inv, status: inv.known as Status };
          else if (inv.known === '10') chosen = { inv, status: '11' };
        }
      }
      if (!chosen) {
        const n = ++this.seq;
        const inv: Invoice = {
          tablet,
          id: 202612010000000 + (tablet + 1) * 1_000_000 + n,
          date: String(Date.UTC(2026, 11, 1, 8) + n * 1000),
          positions: Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => {
            const productId = rnd() < 0.8 ? pick(rnd, PRODUCTS.tracked) : pick(rnd, [...PRODUCTS.untracked, PRODUCTS.voucher, PRODUCTS.unknown]);
            const qty = pick(rnd, QTYS);
            return { productId, qty, total: new Decimal(String(qty)).times('2.5').toNumber() };
          }),
          known: 'absent',
          maybe: new Set(),
          inFlight: false,
          queued: false,
          acked: false,
        };
        this.invoices.set(this.key(inv), inv);
        own.push(inv);
        chosen = { inv, status: '10' };
      }
      batch.push(chosen);
    }
    return batch;
  }

  /**
   * The whole store read back through `url` and checked against what the tablets were told:
   * every acknowledged invoice stored exactly once with its last acknowledged status, an
   * unacknowledged change stored or not (never twice), no sale nobody pushed, lines as pushed,
   * an empty quarantine, central stock (API and tablets' `stock`) = set level − sold + reversed.
   * Resolves what was uncertain to what it found (call it with no load running).
   */
  async verify(url: string, label: string, opts: { stock?: boolean } = {}): Promise<void> {
    const { items, total } = await allSales(url);
    const seen = new Map<string, any>();
    for (const sale of items) {
      if (seen.has(sale.identifier)) this.fail('duplicated', `${label}: ${sale.identifier} listed twice`);
      seen.set(sale.identifier, sale);
    }
    if (total !== seen.size) this.fail('duplicated', `${label}: total ${total} but ${seen.size} distinct sales`);

    const sold = new Map<string, Decimal>();
    for (const inv of this.invoices.values()) {
      const id = this.key(inv);
      const sale = seen.get(id);
      const observed: Known | 'other' = sale ? storedStatus(sale) : 'absent';
      const allowed = new Set<string>([inv.known, ...inv.maybe]);
      if (!allowed.has(observed)) {
        if (inv.known !== 'absent' && observed === 'absent') this.fail('lost', `${label}: acknowledged ${id} missing`);
        else if (inv.known === '11' && observed === '10') this.fail('lost', `${label}: acknowledged refund of ${id} lost (stored as completed)`);
        else this.fail('wrong', `${label}: ${id} is ${observed}, expected one of ${[...allowed].join(', ')}`);
      }
      if (observed !== inv.known && inv.maybe.size) this.counts.unackedButStored++;
      if (sale) {
        const lines = [...sale.lines]
          .map((l: any) => `${l.product}×${new Decimal(String(l.quantity))}`)
          .sort()
          .join(',');
        const want = inv.positions
          .map((p) => `${p.productId}×${new Decimal(String(p.qty))}`)
          .sort()
          .join(',');
        if (lines !== want) this.fail('wrong', `${label}: ${id} has lines ${lines}, pushed ${want}`);
        if (observed === '10') for (const p of inv.positions) sold.set(p.productId, (sold.get(p.productId) ?? new Decimal(0)).plus(String(p.qty)));
      }
      inv.known = observed === 'other' ? inv.known : observed;
      inv.maybe.clear();
    }
    for (const id of seen.keys()) if (!this.invoices.has(id)) this.fail('wrong', `${label}: ${id} is stored but was never pushed`);

    const quarantine = await api(url, '/quarantine?maxResults=1');
    if (quarantine.body.total !== 0) {
      const first = quarantine.body.items?.[0] ?? {};
      this.fail('wrong', `${label}: ${quarantine.body.total} quarantine entries (none expected), the first: ${JSON.stringify(first).slice(0, 600)}`);
    }

    if (opts.stock !== false) await this.verifyStock(url, label, sold);
  }

  /** Quantities sold of each product by the sales last found stored as completed (after verify). */
  soldByProduct(): Map<string, Decimal> {
    const sold = new Map<string, Decimal>();
    for (const inv of this.invoices.values()) {
      if (inv.known === '10') for (const p of inv.positions) sold.set(p.productId, (sold.get(p.productId) ?? new Decimal(0)).plus(String(p.qty)));
    }
    return sold;
  }

  /** The expected central stock of a product of the torture catalogue (null: untracked). */
  static expectedStock(product: string, sold: Map<string, Decimal>): Decimal | null {
    if (product === PRODUCTS.untracked[0]) return null;
    return product === PRODUCTS.voucher ? new Decimal(START_LEVEL) : new Decimal(START_LEVEL).minus(sold.get(product) ?? 0);
  }

  private async verifyStock(url: string, label: string, sold: Map<string, Decimal>): Promise<void> {
    const tabletStock = (await fetch(`${url}/stock`, { headers: { authorization: this.auths[0] } }).then((r) => r.json())) as {
      products: { id: string; stockqty: number }[];
    };
    const served = new Map(tabletStock.products.map((p) => [p.id, p.stockqty]));
    for (const product of [...PRODUCTS.tracked, PRODUCTS.voucher, ...PRODUCTS.untracked]) {
      const tracked = product !== PRODUCTS.untracked[0];
      const expected = TabletLoad.expectedStock(product, sold) ?? new Decimal(0);
      const view = (await api(url, `/stock/${product}`)).body;
      if (view.tracked !== tracked || (tracked && !new Decimal(String(view.quantity)).eq(expected))) {
        this.fail('stockErrors', `${label}: stock of ${product} is ${JSON.stringify(view)}, expected ${tracked ? expected.toString() : 'untracked'}`);
      }
      const tabletQty = served.get(product);
      const wantTablet = tracked ? Decimal.max(0, expected).toNumber() : 999999;
      if (tabletQty !== wantTablet) this.fail('stockErrors', `${label}: tablets get ${product} stockqty ${tabletQty}, expected ${wantTablet}`);
    }
  }
}
