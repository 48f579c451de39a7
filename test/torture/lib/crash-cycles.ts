/**
 * SIGKILL cycles: several tablets push (fresh invoices, re-pushes, refunds of acknowledged
 * invoices) while the gateway child process is SIGKILLed at a random instant; it is restarted on
 * the same data dir and the whole store is checked through the API against what the tablets
 * were told: every acknowledged invoice stored exactly once with its acknowledged status, every
 * unacknowledged one stored at most once, stock = set level − sold + reversed (tablet-load.ts).
 * Several processes on PostgreSQL: any one is killed, the others keep serving, and the store is
 * checked through each; with a webhook, every sale change must reach it once by event id.
 */
import type { CliBuild } from '../../e2e/process.js';
import { Decimal } from 'decimal.js';
import {
  allSales,
  api,
  basicAuth,
  kill,
  PRODUCTS,
  processesOnPostgres,
  type RunningGateway,
  seedCatalogue,
  singleProcess,
  sleep,
  startGateway,
  TABLETS,
  TORTURE_ADMIN,
  type TortureDir,
  tortureDir,
} from './gateway.js';
import { prng } from './generators.js';
import { emptyCounts, TabletLoad, type LoadCounts } from './tablet-load.js';
import { checkWebhookDeliveries, startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

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
  /** Gateway processes on this PostgreSQL database instead of one on a lowdb data dir. */
  postgresUrl?: string;
  /** How many processes on `postgresUrl` (default 3). */
  processes?: number;
  /**
   * A webhook receiver on 127.0.0.1 takes every sale change; after the last cycle every change of
   * every stored sale must have reached it under exactly one event id (at-least-once delivery,
   * deduplicated by id), within `webhookDrainMs` (a bound only a stuck outbox exceeds; 60 s).
   */
  webhook?: boolean;
  webhookDrainMs?: number;
  /**
   * Bridge mode: a srv4pos upstream (one gateway process on a lowdb data dir, 127.0.0.1, seeded
   * with the torture catalogue) owns articles and stock. After the last cycle it must hold every
   * stored sale with its stored status, each change applied once (its version never above the
   * local one), and stock = level − sold; the tablets' stock the same once upstream has every sale
   * (within `webhookDrainMs`). The local stock check is skipped meanwhile: tablets get upstream's
   * level minus what upstream has not acknowledged yet.
   */
  bridge?: boolean;
}

export interface CycleReport extends LoadCounts {
  cycles: number;
  /** Distinct invoices that got a 200 at least once. */
  acknowledged: number;
  maxRestartMs: number;
  /** Cycles whose kill came before any push was acknowledged (allowed; the next cycle retries). */
  cyclesWithoutAck: number;
  /** With `webhook`: distinct events received, repeats of an event id, and the sale changes lost or doubled upstream. */
  webhook?: { events: number; repeats: number; lost: number; duplicated: number; wrong: number };
  /** With `bridge`: sales upstream, and those missing, changed more often than locally, or unknown locally. */
  upstream?: { sales: number; lost: number; duplicated: number; wrong: number; stockErrors: number };
}

export async function runCrashCycles(opts: CycleOptions): Promise<CycleReport> {
  const log = opts.log ?? (() => {});
  const rnd = prng(opts.seed);
  const report: CycleReport = { ...emptyCounts(), cycles: 0, acknowledged: 0, maxRestartMs: 0, cyclesWithoutAck: 0 };
  const load = new TabletLoad(rnd, report, { workersPerTablet: opts.workersPerTablet });
  const receiver: WebhookReceiver | undefined = opts.webhook ? await startWebhookReceiver() : undefined;
  const overrides: Record<string, unknown> = opts.postgresUrl ? { store: { dataDir: './data', postgres: { url: opts.postgresUrl } } } : {};
  if (receiver) overrides.webhooks = [{ url: receiver.url, secret: 'torture-webhook-secret', retryCapMs: 300, timeoutMs: 2_000 }];
  let upstream: { gw: RunningGateway; dir: TortureDir } | undefined;
  if (opts.bridge) {
    const upstreamDir = await tortureDir('tsg-torture-upstream-');
    upstream = { gw: await startGateway(upstreamDir.configPath, opts.build), dir: upstreamDir };
    await seedCatalogue(upstream.gw.url);
    overrides.upstream = {
      baseUrl: `${upstream.gw.url}/api/`,
      username: TORTURE_ADMIN.username,
      password: TORTURE_ADMIN.password,
      timeoutMs: 2_000,
      pollIntervalMs: 200,
      retryCapMs: 300,
      breakerFailures: 3,
      breakerCooldownMs: 300,
    };
  }
  const dir = await tortureDir('tsg-torture-kill-', overrides);
  const gateway = opts.postgresUrl ? processesOnPostgres(dir.configPath, opts.build, opts.processes ?? 3, rnd) : singleProcess(dir.configPath, opts.build);
  try {
    await gateway.start();
    if (upstream) await catalogueFromUpstream(gateway.urls()[0]);
    else await seedCatalogue(gateway.urls()[0]);

    for (let cycle = 1; cycle <= opts.cycles; cycle++) {
      // Tablets and the back office take turns over the processes.
      const urls = gateway.urls();
      const killAt = opts.killAfterMs[0] + rnd() * (opts.killAfterMs[1] - opts.killAfterMs[0]);
      const acksBefore = report.pushesAcked;
      const running = load.start(() => urls, `cycle ${cycle}`);
      await sleep(killAt);
      // No new request from here on: the kill cuts off those in flight.
      const stopped = running.stop();
      await gateway.killOne();
      const tKill = performance.now();
      await stopped;
      const settleMs = Math.round(performance.now() - tKill);
      report.cycles = cycle;
      if (report.pushesAcked === acksBefore) report.cyclesWithoutAck++;

      const t0 = performance.now();
      await gateway.restartKilled();
      const restartMs = Math.round(performance.now() - t0);
      report.maxRestartMs = Math.max(report.maxRestartMs, restartMs);
      const t1 = performance.now();
      // Every process gives the same answers: each is checked.
      for (const url of gateway.urls()) await load.verify(url, `cycle ${cycle} (through ${url})`, { stock: !upstream });
      const verifyMs = Math.round(performance.now() - t1);
      if (cycle < opts.cycles) {
        // A graceful stop and a fresh start, so the next load meets cold caches (as after any restart).
        const codes = await gateway.stop();
        if (codes.some((c) => c !== 0)) load.fail('wrong', `cycle ${cycle}: graceful stop exited with ${codes.join(', ')}`);
        await gateway.start();
      }
      const which = urls.length > 1 ? ` process ${gateway.killedIndex() + 1} of ${urls.length}` : '';
      log(
        `cycle ${cycle}/${opts.cycles}: killed${which} at ${Math.round(killAt)} ms (in-flight settled in ${settleMs} ms), restarted in ${restartMs} ms, verified in ${verifyMs} ms; ${report.pushesAcked} pushes acknowledged, ${report.pushesUnanswered} unanswered so far; ${load.invoices.size} invoices; lost ${report.lost}, duplicated ${report.duplicated}, wrong ${report.wrong}, stock errors ${report.stockErrors}`,
      );
    }
    if (receiver) await checkWebhooks(gateway.urls()[0], receiver);
    if (upstream) await checkUpstream(gateway.urls(), upstream.gw.url);
    if (opts.afterCycles) {
      const url = gateway.urls()[0];
      await opts.afterCycles({ url, verify: () => load.verify(url, `after cycle ${opts.cycles}`), report });
    }
    // A graceful stop after all that: exit 0.
    const codes = await gateway.stop();
    if (codes.some((c) => c !== 0)) load.fail('wrong', `graceful stop after the cycles exited with ${codes.join(', ')}`);
  } finally {
    await gateway.killAll();
    await receiver?.close();
    if (upstream) {
      await kill(upstream.gw);
      await upstream.dir.remove();
    }
    if (report.failures.length === 0 || opts.keepDirOnFailure === false) await dir.remove();
    else report.failures.push(`data dir kept: ${dir.dir}`);
  }
  report.acknowledged = load.acknowledged();
  return report;

  /** Bridge mode: waits until the local gateway has upstream's catalogue (the tablets get every product). */
  async function catalogueFromUpstream(url: string): Promise<void> {
    const want = [...PRODUCTS.tracked, ...PRODUCTS.untracked, PRODUCTS.voucher];
    for (const deadline = performance.now() + 30_000; performance.now() < deadline; await sleep(100)) {
      const res = await fetch(`${url}/stock`, { headers: { authorization: basicAuth(TABLETS[0]) } }).catch(() => undefined);
      if (res?.status !== 200) continue;
      const ids = new Set(((await res.json()) as { products: { id: string }[] }).products.map((p) => p.id));
      if (want.every((id) => ids.has(id))) return;
    }
    throw new Error(`bridge mode: the gateway at ${url} did not get upstream's catalogue within 30 s`);
  }

  /**
   * Bridge mode: waits until upstream holds every stored sale with its stored status; then each
   * change applied once (upstream's version never above the local one), nothing unknown locally,
   * upstream's stock = level − sold, and the tablets' stock on every process the same.
   */
  async function checkUpstream(urls: string[], upstreamUrl: string): Promise<void> {
    const local = new Map((await allSales(urls[0])).items.map((s) => [s.identifier, s]));
    const deadline = performance.now() + (opts.webhookDrainMs ?? 60_000);
    const compare = async () => {
      const { items, total } = await allSales(upstreamUrl);
      const got = new Map(items.map((s) => [s.identifier, s]));
      const lost = [...local.values()]
        .filter((s) => got.get(s.identifier)?.status !== s.status)
        .map((s) => `${s.identifier} (${s.status}) upstream: ${got.get(s.identifier)?.status ?? 'missing'}`);
      const duplicated = items
        .filter((s) => local.has(s.identifier) && s.version > local.get(s.identifier).version)
        .map((s) => `${s.identifier} version ${s.version} upstream, ${local.get(s.identifier).version} here`);
      if (total !== got.size) duplicated.push(`upstream lists ${total} sales, ${got.size} distinct`);
      const wrong = items.filter((s) => !local.has(s.identifier)).map((s) => `${s.identifier} upstream, not stored here`);
      return { sales: got.size, lost, duplicated, wrong };
    };
    let result = await compare();
    while (result.lost.length && performance.now() < deadline) {
      await sleep(200);
      result = await compare();
    }
    for (const m of result.lost) load.fail('lost', `upstream: ${m}`);
    for (const m of result.duplicated) load.fail('duplicated', `upstream: ${m}`);
    for (const m of result.wrong) load.fail('wrong', `upstream: ${m}`);
    const sold = load.soldByProduct();
    let stockErrors = 0;
    for (const product of [...PRODUCTS.tracked, PRODUCTS.voucher]) {
      const expected = TabletLoad.expectedStock(product, sold)!;
      const view = (await api(upstreamUrl, `/stock/${product}`)).body;
      if (!new Decimal(String(view.quantity)).eq(expected)) {
        stockErrors++;
        load.fail('stockErrors', `upstream: stock of ${product} is ${JSON.stringify(view)}, expected ${expected}`);
      }
      // The tablets get upstream's level (polled) minus what upstream has not acknowledged: none by now.
      for (const url of urls) {
        let served: number | undefined;
        for (let first = true; first || (served !== expected.toNumber() && performance.now() < deadline); first = false, await sleep(100)) {
          const body = (await fetch(`${url}/stock`, { headers: { authorization: basicAuth(TABLETS[0]) } }).then((r) => r.json())) as {
            products: { id: string; stockqty: number }[];
          };
          served = body.products.find((p) => p.id === product)?.stockqty;
        }
        if (served !== Decimal.max(0, expected).toNumber()) {
          stockErrors++;
          load.fail('stockErrors', `bridge: tablets get ${product} stockqty ${served} from ${url}, expected ${expected} (upstream's)`);
        }
      }
    }
    report.upstream = { sales: result.sales, lost: result.lost.length, duplicated: result.duplicated.length, wrong: result.wrong.length, stockErrors };
    log(
      `upstream: ${result.sales} sales of ${local.size}; lost ${result.lost.length}, duplicated ${result.duplicated.length}, wrong ${result.wrong.length}, stock errors ${stockErrors}`,
    );
  }

  /** Waits until every stored sale change reached the receiver, then checks it came under exactly one event id. */
  async function checkWebhooks(url: string, receiver: WebhookReceiver): Promise<void> {
    const { items } = await allSales(url);
    const deadline = performance.now() + (opts.webhookDrainMs ?? 60_000);
    let check = checkWebhookDeliveries(items, receiver.deliveries);
    while (check.lost.length && performance.now() < deadline) {
      await sleep(100);
      check = checkWebhookDeliveries(items, receiver.deliveries);
    }
    report.webhook = {
      events: check.distinctEvents,
      repeats: check.repeats,
      lost: check.lost.length,
      duplicated: check.duplicated.length,
      wrong: check.wrong.length,
    };
    for (const m of check.lost) load.fail('lost', `webhook: ${m}`);
    for (const m of check.duplicated) load.fail('duplicated', `webhook: ${m}`);
    for (const m of check.wrong) load.fail('wrong', `webhook: ${m}`);
    log(
      `webhook: ${check.distinctEvents} events for ${items.length} sales (${receiver.deliveries.length} deliveries, ${check.repeats} repeats of an event id); lost ${check.lost.length}, duplicated ${check.duplicated.length}, wrong ${check.wrong.length}`,
    );
  }
}
