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
import { allSales, processesOnPostgres, seedCatalogue, singleProcess, sleep, tortureDir } from './gateway.js';
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
}

export async function runCrashCycles(opts: CycleOptions): Promise<CycleReport> {
  const log = opts.log ?? (() => {});
  const rnd = prng(opts.seed);
  const report: CycleReport = { ...emptyCounts(), cycles: 0, acknowledged: 0, maxRestartMs: 0, cyclesWithoutAck: 0 };
  const load = new TabletLoad(rnd, report, { workersPerTablet: opts.workersPerTablet });
  const receiver: WebhookReceiver | undefined = opts.webhook ? await startWebhookReceiver() : undefined;
  const overrides: Record<string, unknown> = opts.postgresUrl ? { store: { dataDir: './data', postgres: { url: opts.postgresUrl } } } : {};
  if (receiver) overrides.webhooks = [{ url: receiver.url, secret: 'torture-webhook-secret', retryCapMs: 300, timeoutMs: 2_000 }];
  const dir = await tortureDir('tsg-torture-kill-', overrides);
  const gateway = opts.postgresUrl ? processesOnPostgres(dir.configPath, opts.build, opts.processes ?? 3, rnd) : singleProcess(dir.configPath, opts.build);
  try {
    await gateway.start();
    await seedCatalogue(gateway.urls()[0]);

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
      for (const url of gateway.urls()) await load.verify(url, `cycle ${cycle} (through ${url})`);
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
    if (report.failures.length === 0 || opts.keepDirOnFailure === false) await dir.remove();
    else report.failures.push(`data dir kept: ${dir.dir}`);
  }
  report.acknowledged = load.acknowledged();
  return report;

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
