/**
 * SIGKILL cycles: several tablets push (fresh invoices, re-pushes, refunds of acknowledged
 * invoices) while the gateway child process is SIGKILLed at a random instant; it is restarted on
 * the same data dir and the whole store is checked through the API against what the tablets
 * were told: every acknowledged invoice stored exactly once with its acknowledged status, every
 * unacknowledged one stored at most once, stock = set level − sold + reversed.
 */
import { Decimal } from 'decimal.js';
import type { CliBuild } from '../../e2e/process.js';
import { allSales, api, basicAuth, PRODUCTS, seedCatalogue, singleProcess, sleep, START_LEVEL, TABLETS, tortureDir, twoProcesses } from './gateway.js';
import { prng, pick } from './generators.js';

type Status = '10' | '11';
type Known = 'absent' | Status;

interface Position {
  productId: string;
  qty: number | string;
  total: number | string;
}

interface Invoice {
  tablet: number;
  id: number;
  date: string;
  positions: Position[];
  /** The last state known to be stored: acknowledged, or observed after a restart. */
  known: Known;
  /** Statuses pushed since `known` without an acknowledgement (the kill cut them off): stored or not. */
  maybe: Set<Status>;
  inFlight: boolean;
  /** In a batch the tablet will send again: not picked for another push before that. */
  queued: boolean;
  acked: boolean;
}

export interface CycleOptions {
  cycles: number;
  /** Concurrent pushers per tablet. */
  workersPerTablet: number;
  /** The kill comes at a random instant in this window after the load starts (ms). */
  killAfterMs: [number, number];
  seed: number;
  build: CliBuild;
  log?: (msg: string) => void;
  /** Called after the last cycle, with the restarted gateway (tests use it to check that the checks can fail). */
  afterCycles?: (ctx: { url: string; verify(): Promise<void>; report: CycleReport }) => Promise<void>;
  /** Keep the data dir when something failed (default true), for a post-mortem. */
  keepDirOnFailure?: boolean;
  /** Two gateway processes on this PostgreSQL database instead of one on a lowdb data dir. */
  postgresUrl?: string;
}

export interface CycleReport {
  cycles: number;
  /** Distinct invoices that got a 200 at least once. */
  acknowledged: number;
  /** Pushes answered 200, and pushes cut off by a kill (no answer). */
  pushesAcked: number;
  pushesUnanswered: number;
  /** Unacknowledged changes found stored after the restart anyway (allowed). */
  unackedButStored: number;
  /** An acknowledged invoice (or an acknowledged refund) missing after a restart. */
  lost: number;
  /** A sale listed more than once, or the listed total above the number of distinct sales. */
  duplicated: number;
  /** A sale nobody pushed, a status nobody pushed, a wrong line, a quarantine entry. */
  wrong: number;
  /** Central stock (API and tablet view) different from set level − sold + reversed. */
  stockErrors: number;
  /** A JSON summary with other outcomes than the known store state implies, or a non-200 answer. */
  badAnswers: number;
  failures: string[];
  maxRestartMs: number;
  /** Cycles whose kill came before any push was acknowledged (allowed; the next cycle retries). */
  cyclesWithoutAck: number;
  /** Sales reads of the simulated back office during the loads. */
  backOfficeReads: number;
  /** Two processes: pushes a follower answered 503 "retry" while the leader was down (sent again). */
  retryLater: number;
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

export async function runCrashCycles(opts: CycleOptions): Promise<CycleReport> {
  const log = opts.log ?? (() => {});
  const rnd = prng(opts.seed);
  const report: CycleReport = {
    cycles: 0,
    acknowledged: 0,
    pushesAcked: 0,
    pushesUnanswered: 0,
    unackedButStored: 0,
    lost: 0,
    duplicated: 0,
    wrong: 0,
    stockErrors: 0,
    badAnswers: 0,
    failures: [],
    maxRestartMs: 0,
    cyclesWithoutAck: 0,
    backOfficeReads: 0,
    retryLater: 0,
  };
  const fail = (kind: keyof CycleReport, msg: string) => {
    (report[kind] as number)++;
    if (report.failures.length < 50) report.failures.push(msg);
  };
  const invoices = new Map<string, Invoice>();
  const byTablet: Invoice[][] = TABLETS.map(() => []);
  /** Batches a tablet sent without an answer: a tablet sends them again (the same invoices, the same statuses). */
  const retries: { inv: Invoice; status: Status }[][][] = TABLETS.map(() => []);
  const auths = TABLETS.map(basicAuth);
  const key = (inv: Invoice) => `${TABLETS[inv.tablet].cashRegister}:${inv.id}`;
  let seq = 0;

  const dir = await tortureDir('tsg-torture-kill-', opts.postgresUrl ? { store: { dataDir: './data', postgres: { url: opts.postgresUrl } } } : {});
  const gateway = opts.postgresUrl ? twoProcesses(dir.configPath, opts.build) : singleProcess(dir.configPath, opts.build);
  try {
    await gateway.start();
    await seedCatalogue(gateway.urls()[0]);

    for (let cycle = 1; cycle <= opts.cycles; cycle++) {
      // Tablets and the back office take turns over the processes.
      const urls = gateway.urls();
      let turn = 0;
      const anyUrl = () => urls[turn++ % urls.length];
      let stopping = false;
      const inFlight = new Set<Promise<void>>();

      const send = async (tablet: number, batch: { inv: Invoice; status: Status }[]) => {
        for (const b of batch) b.inv.inFlight = true;
        const json = rnd() < 0.5;
        // Expected outcomes: every invoice of a batch is resolved (nothing unknown) when it is sent.
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
        try {
          const res = await fetch(`${anyUrl()}/invoice`, {
            method: 'POST',
            headers: {
              authorization: auths[tablet],
              'content-type': pick(rnd, ['application/x-www-form-urlencoded', 'application/json', 'text/plain']),
              accept: json ? 'application/json' : '*/*',
            },
            body: JSON.stringify({ invoices: batch.map((b) => invoiceBody(b.inv, b.status, TABLETS[tablet].cashRegister)) }),
          });
          const text = await res.text();
          if (res.status === 200) {
            acked = true;
            if (json) {
              const got = JSON.parse(text);
              if (JSON.stringify(got) !== JSON.stringify(expected))
                fail('badAnswers', `cycle ${cycle}: push summary ${text}, expected ${JSON.stringify(expected)}`);
            } else if (text !== 'true') fail('badAnswers', `cycle ${cycle}: push answered 200 ${text.slice(0, 100)}`);
          } else if (urls.length > 1 && res.status === 503 && res.headers.has('retry-after') && text.includes('"not_ready"')) {
            // A follower whose leader was just killed (or is taking over): "send again", like a cut-off push.
            report.retryLater++;
          } else {
            fail('badAnswers', `cycle ${cycle}: push answered ${res.status} ${text.slice(0, 200)}`);
          }
        } catch {
          // Connection reset or refused by the kill: no answer.
        }
        for (const b of batch) {
          b.inv.inFlight = false;
          if (acked) {
            b.inv.known = b.status;
            b.inv.maybe.clear();
            b.inv.acked = true;
          } else b.inv.maybe.add(b.status);
        }
        if (acked) report.pushesAcked++;
        else {
          report.pushesUnanswered++;
          retries[tablet].push(batch);
        }
        for (const b of batch) b.inv.queued = !acked;
      };

      const nextBatch = (tablet: number): { inv: Invoice; status: Status }[] => {
        const batch: { inv: Invoice; status: Status }[] = [];
        const size = 1 + Math.floor(rnd() * 4);
        const own = byTablet[tablet];
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
            const inv: Invoice = {
              tablet,
              id: 202612010000000 + (tablet + 1) * 1_000_000 + ++seq,
              date: String(Date.UTC(2026, 11, 1, 8) + seq * 1000),
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
            invoices.set(key(inv), inv);
            own.push(inv);
            chosen = { inv, status: '10' };
          }
          batch.push(chosen);
        }
        return batch;
      };

      const track = (p: Promise<void>) => {
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
        return p;
      };
      const tabletLoop = async (tablet: number, worker: number) => {
        if (worker === 0) {
          // A tablet first sends again what was never acknowledged.
          const pending = retries[tablet].splice(0);
          for (const batch of pending) {
            if (stopping) {
              retries[tablet].push(batch);
              continue;
            }
            await track(send(tablet, batch));
          }
        }
        while (!stopping) await track(send(tablet, nextBatch(tablet)));
      };

      const killAt = opts.killAfterMs[0] + rnd() * (opts.killAfterMs[1] - opts.killAfterMs[0]);
      const acksBefore = report.pushesAcked;
      // A back office reading sales meanwhile, on the gateway's cold caches (it was just started).
      const backOffice = async () => {
        while (!stopping) {
          const known = [...invoices.values()];
          const pick1 = known[Math.floor(rnd() * known.length)];
          const path =
            rnd() < 0.5 || !pick1 ? `/sales?firstResult=${Math.floor(rnd() * known.length)}&maxResults=1000` : `/sales/${encodeURIComponent(key(pick1))}`;
          await api(anyUrl(), path).then(
            () => report.backOfficeReads++,
            () => {},
          );
        }
      };
      const loops = [...TABLETS.flatMap((_, t) => Array.from({ length: opts.workersPerTablet }, (_, w) => tabletLoop(t, w))), backOffice()];
      await sleep(killAt);
      stopping = true;
      await gateway.killOne(cycle);
      const tKill = performance.now();
      await Promise.all(loops);
      await Promise.all([...inFlight]);
      const settleMs = Math.round(performance.now() - tKill);
      report.cycles = cycle;
      if (report.pushesAcked === acksBefore) report.cyclesWithoutAck++;

      const t0 = performance.now();
      await gateway.restartKilled();
      const restartMs = Math.round(performance.now() - t0);
      report.maxRestartMs = Math.max(report.maxRestartMs, restartMs);
      const t1 = performance.now();
      // Every process gives the same answers: each is checked.
      for (const url of gateway.urls()) await verify(url, cycle);
      const verifyMs = Math.round(performance.now() - t1);
      if (cycle < opts.cycles) {
        // A graceful stop and a fresh start, so the next load meets cold caches (as after any restart).
        const codes = await gateway.stop();
        if (codes.some((c) => c !== 0)) fail('wrong', `cycle ${cycle}: graceful stop exited with ${codes.join(', ')}`);
        await gateway.start();
      }
      log(
        `cycle ${cycle}/${opts.cycles}: killed at ${Math.round(killAt)} ms (in-flight settled in ${settleMs} ms), restarted in ${restartMs} ms, verified in ${verifyMs} ms; ${report.pushesAcked} pushes acknowledged, ${report.pushesUnanswered} unanswered so far; ${invoices.size} invoices; lost ${report.lost}, duplicated ${report.duplicated}, wrong ${report.wrong}, stock errors ${report.stockErrors}`,
      );
    }
    if (opts.afterCycles) {
      const url = gateway.urls()[0];
      await opts.afterCycles({ url, verify: () => verify(url, opts.cycles + 1), report });
    }
    // A graceful stop after all that: exit 0.
    const codes = await gateway.stop();
    if (codes.some((c) => c !== 0)) fail('wrong', `graceful stop after the cycles exited with ${codes.join(', ')}`);
  } finally {
    await gateway.killAll();
    if (report.failures.length === 0 || opts.keepDirOnFailure === false) await dir.remove();
    else report.failures.push(`data dir kept: ${dir.dir}`);
  }
  report.acknowledged = [...invoices.values()].filter((i) => i.acked).length;
  return report;

  async function verify(url: string, cycle: number): Promise<void> {
    const tList = performance.now();
    const { items, total } = await allSales(url);
    if (process.env.TORTURE_DEBUG) log(`verify: listed ${items.length} sales in ${Math.round(performance.now() - tList)} ms`);
    const seen = new Map<string, any>();
    for (const sale of items) {
      if (seen.has(sale.identifier)) fail('duplicated', `cycle ${cycle}: ${sale.identifier} listed twice`);
      seen.set(sale.identifier, sale);
    }
    if (total !== seen.size) fail('duplicated', `cycle ${cycle}: total ${total} but ${seen.size} distinct sales`);

    const sold = new Map<string, Decimal>();
    for (const inv of invoices.values()) {
      const id = key(inv);
      const sale = seen.get(id);
      const observed: Known | 'other' = sale ? storedStatus(sale) : 'absent';
      const allowed = new Set<string>([inv.known, ...inv.maybe]);
      if (!allowed.has(observed)) {
        if (inv.known !== 'absent' && observed === 'absent') fail('lost', `cycle ${cycle}: acknowledged ${id} missing`);
        else if (inv.known === '11' && observed === '10') fail('lost', `cycle ${cycle}: acknowledged refund of ${id} lost (stored as completed)`);
        else fail('wrong', `cycle ${cycle}: ${id} is ${observed}, expected one of ${[...allowed].join(', ')}`);
      }
      if (observed !== inv.known && inv.maybe.size) report.unackedButStored++;
      if (sale) {
        const lines = [...sale.lines]
          .map((l: any) => `${l.product}×${new Decimal(String(l.quantity))}`)
          .sort()
          .join(',');
        const want = inv.positions
          .map((p) => `${p.productId}×${new Decimal(String(p.qty))}`)
          .sort()
          .join(',');
        if (lines !== want) fail('wrong', `cycle ${cycle}: ${id} has lines ${lines}, pushed ${want}`);
        if (observed === '10') for (const p of inv.positions) sold.set(p.productId, (sold.get(p.productId) ?? new Decimal(0)).plus(String(p.qty)));
      }
      inv.known = observed === 'other' ? inv.known : observed;
      inv.maybe.clear();
    }
    for (const id of seen.keys()) if (!invoices.has(id)) fail('wrong', `cycle ${cycle}: ${id} is stored but was never pushed`);

    if (process.env.TORTURE_DEBUG) log(`verify: model checked at ${Math.round(performance.now() - tList)} ms`);
    const quarantine = await api(url, '/quarantine?maxResults=1');
    if (quarantine.body.total !== 0) fail('wrong', `cycle ${cycle}: ${quarantine.body.total} quarantine entries (none expected)`);

    const tabletStock = (await fetch(`${url}/stock`, { headers: { authorization: auths[0] } }).then((r) => r.json())) as {
      products: { id: string; stockqty: number }[];
    };
    const served = new Map(tabletStock.products.map((p) => [p.id, p.stockqty]));
    for (const product of [...PRODUCTS.tracked, PRODUCTS.voucher, ...PRODUCTS.untracked]) {
      const tracked = product !== PRODUCTS.untracked[0];
      const expected = product === PRODUCTS.voucher ? new Decimal(START_LEVEL) : new Decimal(START_LEVEL).minus(sold.get(product) ?? 0);
      const view = (await api(url, `/stock/${product}`)).body;
      if (view.tracked !== tracked || (tracked && !new Decimal(String(view.quantity)).eq(expected))) {
        fail('stockErrors', `cycle ${cycle}: stock of ${product} is ${JSON.stringify(view)}, expected ${tracked ? expected.toString() : 'untracked'}`);
      }
      const tabletQty = served.get(product);
      const wantTablet = tracked ? Decimal.max(0, expected).toNumber() : 999999;
      if (tabletQty !== wantTablet) fail('stockErrors', `cycle ${cycle}: tablets get ${product} stockqty ${tabletQty}, expected ${wantTablet}`);
    }
  }
}
