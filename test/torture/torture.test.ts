/**
 * The short variant of `npm run torture` (test/torture/run.ts), same code: a few SIGKILL cycles,
 * a short fuzz run and a short slowloris against the CLI run through tsx (no build step).
 */
import { describe, expect, it } from 'vitest';
import { runCrashCycles, type CycleReport } from './lib/crash-cycles.js';
import { mergeFuzzReports, runFuzz } from './lib/fuzz.js';
import { api, basicAuth, PRODUCTS, TABLETS } from './lib/gateway.js';
import { runSlowloris } from './lib/slowloris.js';
import { skipPostgres, startPostgres } from '../postgres.js';

const counts = (r: CycleReport) => ({
  lost: r.lost,
  duplicated: r.duplicated,
  wrong: r.wrong,
  stockErrors: r.stockErrors,
  badAnswers: r.badAnswers,
  hung: r.hung,
});

// Concurrent: each test has its own gateway process and data dir; together they take the time of the longest.
// Kills come 0.9-1.6 s after a (re)start: a fresh process's first login of each account costs one
// scrypt (N=16384, also for plain passwords: login timing), which takes several 100 ms under npm test's load.
describe.concurrent('torture, short variant of npm run torture', () => {
  it('3 SIGKILL cycles under load from 4 tablets: nothing acknowledged lost or doubled, stock consistent; the checks catch tampering', async () => {
    let clean: ReturnType<typeof counts> | undefined;
    let tampered: ReturnType<typeof counts> | undefined;
    const report = await runCrashCycles({
      cycles: 3,
      workersPerTablet: 2,
      killAfterMs: [900, 1600],
      seed: 20261201,
      build: 'src',
      keepDirOnFailure: false,
      afterCycles: async ({ url, verify, report: r }) => {
        clean = counts(r);
        // Behind the checker's back: a stock adjustment and a sale no simulated tablet pushed.
        expect((await api(url, `/stock/${PRODUCTS.tracked[0]}/adjustments`, 'POST', { delta: 1, reason: 'tamper' })).status).toBe(201);
        const stray = {
          id: 202612019999999,
          date: '1796112000000',
          checkoutType: '0',
          checkoutStatus: '10',
          total: 1,
          positions: [{ productId: PRODUCTS.untracked[0], qty: 1, total: 1 }],
        };
        const res = await fetch(`${url}/invoice`, {
          method: 'POST',
          headers: { authorization: basicAuth(TABLETS[0]) },
          body: JSON.stringify({ invoices: [stray] }),
        });
        expect(res.status).toBe(200);
        await verify();
        tampered = counts(r);
      },
    });
    expect(report.cycles).toBe(3);
    expect(report.acknowledged).toBeGreaterThan(0);
    expect(clean, report.failures.join('\n')).toEqual({ lost: 0, duplicated: 0, wrong: 0, stockErrors: 0, badAnswers: 0, hung: 0 });
    expect(tampered!.stockErrors).toBeGreaterThan(0);
    expect(tampered!.wrong).toBeGreaterThan(0);
  }, 90_000);

  it.skipIf(skipPostgres)(
    '3 SIGKILL cycles against three processes on one PostgreSQL database (any one killed at random): nothing lost or doubled, the same answers from each, every sale change at the webhook once by event id and upstream (bridge mode) once',
    async () => {
      const pg = await startPostgres();
      try {
        const report = await runCrashCycles({
          cycles: 3,
          workersPerTablet: 2,
          killAfterMs: [900, 1600],
          seed: 20261202,
          build: 'src',
          keepDirOnFailure: false,
          postgresUrl: await pg.createDatabase(),
          processes: 3,
          webhook: true,
          bridge: true,
        });
        expect(report.cycles).toBe(3);
        expect(report.acknowledged).toBeGreaterThan(0);
        expect(counts(report), report.failures.join('\n')).toEqual({ lost: 0, duplicated: 0, wrong: 0, stockErrors: 0, badAnswers: 0, hung: 0 });
        expect(report.webhook).toMatchObject({ lost: 0, duplicated: 0, wrong: 0 });
        expect(report.webhook!.events).toBeGreaterThanOrEqual(report.acknowledged);
        expect(report.upstream).toMatchObject({ lost: 0, duplicated: 0, wrong: 0, stockErrors: 0 });
        expect(report.upstream!.sales).toBeGreaterThanOrEqual(report.acknowledged);
      } finally {
        await pg.stop();
      }
    },
    180_000,
  );

  it('400 + 200 (legacy mode) hostile requests of every family: no 5xx, no crash, every Express refusal a JSON error, nothing written but quarantine', async () => {
    const r = mergeFuzzReports(
      await runFuzz({ requests: 400, concurrency: 16, seed: 8, build: 'src' }),
      await runFuzz({ requests: 200, concurrency: 16, seed: 9, build: 'src', legacy: true }),
    );
    expect(r.failures).toEqual([]);
    expect(r.requests).toBe(600);
    expect(r.byKind['legacy-0']).toBeGreaterThan(0);
    expect({ fiveXx: r.fiveXx, crashes: r.crashes, nonJson4xx: r.nonJson4xx, unexpected: r.unexpected }).toEqual({
      fiveXx: 0,
      crashes: 0,
      nonJson4xx: 0,
      unexpected: 0,
    });
    expect(r.nodeAnswered['431']).toBeGreaterThan(0);
    expect(r.quarantineAdded).toBeGreaterThan(0);
    expect(r.salesAdded).toBe(0);
  }, 60_000);

  it('a short slowloris does not block tablets: every push succeeds with bounded latency', async () => {
    // Generous bounds: npm test runs other files on the same 2 cores meanwhile; a blocked gateway takes 30 s.
    const r = await runSlowloris({
      sockets: 150,
      seconds: 2,
      baselineMs: 500,
      byteIntervalMs: 200,
      pushers: 4,
      maxLatencyMs: 5000,
      p99LatencyMs: 2500,
      seed: 9,
      build: 'src',
    });
    expect(r.failures).toEqual([]);
    expect(r.sockets).toBe(150);
    expect(r.pushesOk).toBe(r.pushes);
    expect(r.pushes).toBeGreaterThan(8);
  }, 60_000);
});
