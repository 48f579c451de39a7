/**
 * npm run torture: the full torture run against the built gateway (`npm run build` first: it
 * spawns dist/cli.js as `npm start` does), on 127.0.0.1 only, bounded in time.
 *
 *   1. SIGKILL cycles: four tablets push (fresh invoices, re-pushes, refunds) while the gateway
 *      is SIGKILLed at a random instant, restarted on the same data dir and checked.
 *   2. Fuzz: hostile and malformed requests, many at a time (a fifth of them in legacy mode).
 *   3. Slowloris: slow sockets while tablets push; push latency must stay bounded.
 *   4. Cluster: the SIGKILL cycles against three gateway processes sharing a throwaway PostgreSQL
 *      database (any one killed at random each cycle), with a webhook receiver that must get every
 *      sale change once by event id and, in bridge mode, a srv4pos upstream (a gateway process on
 *      lowdb) that must end with every sale once, when Debian's PostgreSQL binaries are installed
 *      (TORTURE_CLUSTER_CYCLES, default 20; TORTURE_CLUSTER_PROCESSES, default 3).
 *
 * Settings (environment): TORTURE_CYCLES (20), TORTURE_REQUESTS (10000), TORTURE_SOCKETS (500),
 * TORTURE_SLOW_SECONDS (65: past the gateway's 30 s headers timeout and Node's 30 s check of it,
 * so the sockets that never finish their headers must have been closed by then), TORTURE_SEED
 * (default: from the clock; printed, so a run can be repeated), TORTURE_ONLY=kill,fuzz,slow,cluster,
 * TORTURE_MAX_LATENCY_MS (2000), TORTURE_P99_LATENCY_MS (1000). Exits 1 when an invariant fails.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCrashCycles, type CycleReport } from './lib/crash-cycles.js';
import { mergeFuzzReports, runFuzz, type FuzzReport } from './lib/fuzz.js';
import { killStartedGateways } from './lib/gateway.js';
import { runSlowloris } from './lib/slowloris.js';
import { PG_BIN, startPostgres } from '../postgres.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const CYCLES = env('TORTURE_CYCLES', 20);
const REQUESTS = env('TORTURE_REQUESTS', 10_000);
const SOCKETS = env('TORTURE_SOCKETS', 500);
const SLOW_SECONDS = env('TORTURE_SLOW_SECONDS', 65);
const SEED = env('TORTURE_SEED', Date.now() % 1_000_000);
const MAX_LATENCY = env('TORTURE_MAX_LATENCY_MS', 2000);
const P99_LATENCY = env('TORTURE_P99_LATENCY_MS', 1000);
const CLUSTER_CYCLES = env('TORTURE_CLUSTER_CYCLES', 20);
const CLUSTER_PROCESSES = env('TORTURE_CLUSTER_PROCESSES', 3);
const ONLY = new Set((process.env.TORTURE_ONLY ?? 'kill,fuzz,slow,cluster').split(',').map((s) => s.trim()));
/** The whole run stops itself after this, whatever happens. */
const WATCHDOG_MS = 9 * 60_000;

const log = (msg: string) => process.stderr.write(`[torture] ${msg}\n`);
const failures: string[] = [];

async function main(): Promise<number> {
  if (!existsSync(fileURLToPath(new URL('../../dist/cli.js', import.meta.url)))) {
    log('dist/cli.js is missing: run `npm run build` first (npm run torture does)');
    return 2;
  }
  const watchdog = setTimeout(() => {
    log(`watchdog: the run took longer than ${WATCHDOG_MS / 1000} s; stopping`);
    killStartedGateways();
    process.exit(1);
  }, WATCHDOG_MS);
  watchdog.unref();
  const started = performance.now();
  log(`seed ${SEED} (TORTURE_SEED=${SEED} repeats this run); ${CYCLES} cycles, ${REQUESTS} fuzzed requests, ${SOCKETS} slow sockets for ${SLOW_SECONDS} s`);

  let cycles: CycleReport | undefined;
  let fuzz: FuzzReport | undefined;
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    if (!ONLY.has(name)) return undefined;
    const t0 = performance.now();
    try {
      return await fn();
    } catch (err) {
      failures.push(`${name}: ${(err as Error).stack ?? err}`);
      return undefined;
    } finally {
      log(`${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  };

  cycles = await phase('kill', () => runCrashCycles({ cycles: CYCLES, workersPerTablet: 3, killAfterMs: [300, 2500], seed: SEED, build: 'dist', log }));
  if (cycles) {
    failures.push(...cycles.failures.map((f) => `kill: ${f}`));
    if (cycles.cycles !== CYCLES) failures.push(`kill: only ${cycles.cycles} of ${CYCLES} cycles ran`);
    if (cycles.acknowledged === 0) failures.push('kill: no invoice was acknowledged at all');
    log(
      `kill: ${cycles.pushesAcked} pushes acknowledged, ${cycles.pushesUnanswered} cut off by a kill (${cycles.unackedButStored} of their changes were stored anyway, each once); slowest restart ${cycles.maxRestartMs} ms; cycles killed before any acknowledgement ${cycles.cyclesWithoutAck}; back-office reads during the loads ${cycles.backOfficeReads}; wrong ${cycles.wrong}, stock errors ${cycles.stockErrors}, bad answers ${cycles.badAnswers}`,
    );
  }

  // Four fifths against a default gateway, one fifth against one in legacy mode (pre-146 clients).
  const legacyRequests = Math.round(REQUESTS / 5);
  fuzz = await phase('fuzz', async () =>
    mergeFuzzReports(
      await runFuzz({ requests: REQUESTS - legacyRequests, concurrency: 32, seed: SEED, build: 'dist', log }),
      await runFuzz({ requests: legacyRequests, concurrency: 32, seed: SEED + 1, build: 'dist', legacy: true, log: (m) => log(`legacy mode: ${m}`) }),
    ),
  );
  if (fuzz) {
    failures.push(...fuzz.failures.map((f) => `fuzz: ${f}`));
    if (fuzz.requests !== REQUESTS) failures.push(`fuzz: only ${fuzz.requests} of ${REQUESTS} requests were sent`);
    const node = Object.entries(fuzz.nodeAnswered)
      .map(([k, v]) => `${k} ×${v}`)
      .join(', ');
    const statuses = Object.entries(fuzz.byStatus)
      .map(([k, v]) => `${k} ×${v}`)
      .join(', ');
    log(`fuzz: ${fuzz.requests} requests in ${(fuzz.durationMs / 1000).toFixed(1)} s; answers ${statuses}`);
    log(`fuzz: answered by Node itself (no Express): ${node || 'none'}; cut off by the client on purpose: ${fuzz.aborted}; unexpected: ${fuzz.unexpected}`);
    log(
      `fuzz: quarantine +${fuzz.quarantineAdded} (at most ${fuzz.quarantineAllowed} allowed by the answers), sales +${fuzz.salesAdded} (answers said ${fuzz.createdBySummaries}), articles version ${fuzz.articlesVersionChanged ? 'CHANGED' : 'unchanged'}; tablet probes ${fuzz.tabletProbes - fuzz.tabletProbeFailures}/${fuzz.tabletProbes} ok`,
    );
  }

  const slow = await phase('slow', () =>
    runSlowloris({
      sockets: SOCKETS,
      seconds: SLOW_SECONDS,
      byteIntervalMs: 500,
      pushers: 8,
      expectHeaderTimeouts: SLOW_SECONDS >= 65,
      maxLatencyMs: MAX_LATENCY,
      p99LatencyMs: P99_LATENCY,
      seed: SEED,
      build: 'dist',
      log,
    }),
  );
  if (slow) failures.push(...slow.failures.map((f) => `slowloris: ${f}`));

  let cluster: CycleReport | undefined;
  if (ONLY.has('cluster') && !PG_BIN) log('cluster: skipped, PostgreSQL is not installed (apt-get install -y postgresql)');
  else {
    cluster = await phase('cluster', async () => {
      const pg = await startPostgres();
      try {
        return await runCrashCycles({
          cycles: CLUSTER_CYCLES,
          workersPerTablet: 3,
          killAfterMs: [300, 2500],
          seed: SEED + 2,
          build: 'dist',
          log: (m) => log(`cluster: ${m}`),
          postgresUrl: await pg.createDatabase(),
          processes: CLUSTER_PROCESSES,
          webhook: true,
          bridge: true,
        });
      } finally {
        await pg.stop();
      }
    });
  }
  if (cluster) {
    failures.push(...cluster.failures.map((f) => `cluster: ${f}`));
    if (cluster.cycles !== CLUSTER_CYCLES) failures.push(`cluster: only ${cluster.cycles} of ${CLUSTER_CYCLES} cycles ran`);
    if (cluster.acknowledged === 0) failures.push('cluster: no invoice was acknowledged at all');
    log(
      `cluster: ${cluster.pushesAcked} pushes acknowledged, ${cluster.pushesUnanswered} cut off or answered 503 "retry" (${cluster.retryLater}); slowest restart ${cluster.maxRestartMs} ms; wrong ${cluster.wrong}, stock errors ${cluster.stockErrors}, bad answers ${cluster.badAnswers}, hung ${cluster.hung}`,
    );
  }

  clearTimeout(watchdog);
  killStartedGateways();
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  for (const f of failures) process.stdout.write(`FAILED ${f}\n`);
  process.stdout.write(
    failures.length ? `\nFAILED: ${failures.length} problems (seed ${SEED}, ${seconds} s)\n` : `\nOK: every invariant held (seed ${SEED}, ${seconds} s)\n`,
  );
  if (cycles) process.stdout.write(`cycles: ${cycles.cycles}  acknowledged: ${cycles.acknowledged}  lost: ${cycles.lost}  duplicated: ${cycles.duplicated}\n`);
  if (fuzz)
    process.stdout.write(
      `requests: ${fuzz.requests}  5xx: ${fuzz.fiveXx}  crashes: ${fuzz.crashes}  non-JSON 4xx: ${fuzz.nonJson4xx}  (Node-level: ${
        Object.entries(fuzz.nodeAnswered)
          .map(([k, v]) => `${k} ×${v}`)
          .join(', ') || 'none'
      })\n`,
    );
  if (cluster)
    process.stdout.write(
      `${CLUSTER_PROCESSES} processes on PostgreSQL: cycles: ${cluster.cycles}  acknowledged: ${cluster.acknowledged}  lost: ${cluster.lost}  duplicated: ${cluster.duplicated}  webhook events: ${cluster.webhook?.events ?? 0} (lost ${cluster.webhook?.lost ?? 0}, duplicated ${cluster.webhook?.duplicated ?? 0})  upstream sales: ${cluster.upstream?.sales ?? 0} (lost ${cluster.upstream?.lost ?? 0}, duplicated ${cluster.upstream?.duplicated ?? 0})\n`,
    );
  if (slow)
    process.stdout.write(
      `slowloris: sockets ${slow.sockets} (${slow.closedByServer} closed by the gateway), tablet pushes ${slow.pushesOk} ok of ${slow.pushes}, p99 latency ${slow.latency.p99} ms, max latency ${slow.latency.max} ms\n`,
    );
  return failures.length ? 1 : 0;
}

process.on('SIGINT', () => {
  killStartedGateways();
  process.exit(130);
});

main().then(
  (code) => process.exit(code),
  (err) => {
    killStartedGateways();
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
