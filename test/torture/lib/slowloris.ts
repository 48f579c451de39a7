/**
 * Slowloris: many sockets that send a request a byte at a time (half never finish their headers,
 * half send complete headers of a push with a device's credentials and then a huge body a byte at
 * a time), while tablets keep pushing. The tablets' pushes must all succeed, with bounded latency,
 * and be stored; the gateway stays healthy once the slow sockets go away.
 */
import { connect, type Socket } from 'node:net';
import type { CliBuild } from '../../e2e/process.js';
import { api, basicAuth, kill, PRODUCTS, seedCatalogue, sleep, startGateway, stop, TABLETS, tortureDir, type RunningGateway } from './gateway.js';
import { prng } from './generators.js';

export interface SlowlorisOptions {
  sockets: number;
  /** How long the attack runs while tablets push. */
  seconds: number;
  /** Each slow socket writes one byte this often (jittered ±50 %). */
  byteIntervalMs: number;
  /** How long tablets push before the attack, for the comparison figures (default 1500 ms). */
  baselineMs?: number;
  /** Concurrent tablet pushers (over the four tablets). */
  pushers: number;
  /**
   * Require the gateway to have closed every socket that never finished its headers (set when the
   * attack lasts past the gateway's 30 s headers timeout plus Node's 30 s check interval).
   */
  expectHeaderTimeouts?: boolean;
  /** Bounds asserted on the tablets' push latency during the attack. */
  maxLatencyMs: number;
  p99LatencyMs: number;
  seed: number;
  build: CliBuild;
  log?: (msg: string) => void;
}

export interface SlowlorisReport {
  sockets: number;
  /** Slow sockets the gateway closed during the attack (its header/request timeouts), and still open at the end. */
  closedByServer: number;
  /** Of those closed: sockets that never finished their headers (server.headersTimeout 30 s, checked every 30 s). */
  closedHeaderSockets: number;
  stillOpen: number;
  bytesTrickled: number;
  pushes: number;
  pushesOk: number;
  /** Push latency without the attack (same run, for comparison) and during it. */
  baseline: { p50: number; p99: number; max: number };
  latency: { p50: number; p99: number; max: number };
  salesStored: number;
  invoicesAcknowledged: number;
  failures: string[];
}

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : 0);
const stats = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return { p50: Math.round(pct(s, 50)), p99: Math.round(pct(s, 99)), max: Math.round(s[s.length - 1] ?? 0) };
};

export async function runSlowloris(opts: SlowlorisOptions): Promise<SlowlorisReport> {
  const log = opts.log ?? (() => {});
  const rnd = prng(opts.seed);
  const report: SlowlorisReport = {
    sockets: 0,
    closedByServer: 0,
    closedHeaderSockets: 0,
    stillOpen: 0,
    bytesTrickled: 0,
    pushes: 0,
    pushesOk: 0,
    baseline: { p50: 0, p99: 0, max: 0 },
    latency: { p50: 0, p99: 0, max: 0 },
    salesStored: 0,
    invoicesAcknowledged: 0,
    failures: [],
  };
  const fail = (msg: string) => {
    if (report.failures.length < 30) report.failures.push(msg);
  };
  const dir = await tortureDir('tsg-torture-slow-');
  let gw: RunningGateway | undefined;
  const slow: Socket[] = [];
  const stopTicks: (() => void)[] = [];
  try {
    gw = await startGateway(dir.configPath, opts.build);
    const g = gw;
    await seedCatalogue(g.url);
    const auths = TABLETS.map(basicAuth);
    let seq = 0;

    /** Tablets pushing one fresh invoice at a time each, for `ms`; returns the latencies. */
    const tablets = async (ms: number): Promise<number[]> => {
      const latencies: number[] = [];
      const until = performance.now() + ms;
      await Promise.all(
        Array.from({ length: opts.pushers }, async (_, w) => {
          while (performance.now() < until) {
            const n = ++seq;
            const body = JSON.stringify({
              invoices: [
                {
                  id: 202612020000000 + n,
                  date: String(Date.UTC(2026, 11, 2, 9) + n),
                  checkoutType: '0',
                  checkoutStatus: '10',
                  total: 2.5,
                  tax: 0,
                  discount: 0,
                  costPrice: 0,
                  givenCash: 2.5,
                  returnedCash: 0,
                  customer: { name: '', address: '', email: '' },
                  positions: [
                    {
                      productName: 'p',
                      posTitle: 'p',
                      subtotal: 2.5,
                      tax: 0,
                      discount: 0,
                      costPrice: 0,
                      productId: PRODUCTS.tracked[n % 4],
                      qty: 1,
                      total: 2.5,
                    },
                  ],
                },
              ],
            });
            const t0 = performance.now();
            report.pushes++;
            try {
              const res = await fetch(`${g.url}/invoice`, {
                method: 'POST',
                headers: { authorization: auths[w % auths.length] },
                body,
                signal: AbortSignal.timeout(30_000),
              });
              const text = await res.text();
              if (res.status === 200 && text === 'true') {
                report.pushesOk++;
                report.invoicesAcknowledged++;
              } else fail(`push answered ${res.status} ${text.slice(0, 200)}`);
            } catch (err) {
              fail(`push failed: ${(err as Error).message}`);
            }
            latencies.push(performance.now() - t0);
          }
        }),
      );
      return latencies;
    };

    report.baseline = stats(await tablets(opts.baselineMs ?? 1500));

    // Open the slow sockets, staggered over a second.
    const headerPart = `POST /invoice HTTP/1.1\r\nHost: ${g.host}:${g.port}\r\n`;
    for (let i = 0; i < opts.sockets; i++) {
      const s = connect({ host: g.host, port: g.port });
      s.on('error', () => {});
      let closed = false;
      const headersOnly = i % 2 === 0;
      s.on('close', () => {
        if (!closed) {
          report.closedByServer++;
          if (headersOnly) report.closedHeaderSockets++;
        }
        closed = true;
      });
      (s as Socket & { markClosed?: () => void }).markClosed = () => (closed = true);
      // Header-slow sockets never end their head; body-slow ones send a whole head, then a body a byte at a time.
      const start = headersOnly
        ? headerPart
        : `${headerPart}Authorization: ${auths[i % auths.length]}\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{"invoices":[`;
      const drip = headersOnly ? 'X-Slow-Header-' : ' ';
      let k = 0;
      let timer: NodeJS.Timeout | undefined;
      stopTicks.push(() => clearTimeout(timer));
      s.once('connect', () => {
        s.write(start);
        const tick = () => {
          if (closed || s.destroyed) return;
          s.write(drip[k++ % drip.length]);
          report.bytesTrickled++;
          timer = setTimeout(tick, opts.byteIntervalMs * (0.5 + rnd()));
        };
        timer = setTimeout(tick, opts.byteIntervalMs * rnd());
      });
      slow.push(s);
      report.sockets++;
      if (i % 50 === 49) await sleep(1000 / Math.max(1, opts.sockets / 50));
    }
    await sleep(300);
    const during = await tablets(opts.seconds * 1000);
    report.latency = stats(during);
    report.stillOpen = slow.filter((s) => !s.destroyed && !s.closed).length;
    log(
      `slowloris: ${report.sockets} slow sockets (${report.bytesTrickled} bytes trickled; the gateway closed ${report.closedByServer}, ${report.closedHeaderSockets} of them with unfinished headers); tablets: ${report.pushesOk}/${report.pushes} pushes ok, latency p50 ${report.latency.p50} ms, p99 ${report.latency.p99} ms, max ${report.latency.max} ms (without the attack: p99 ${report.baseline.p99} ms, max ${report.baseline.max} ms)`,
    );

    if (report.pushesOk !== report.pushes) fail(`${report.pushes - report.pushesOk} of ${report.pushes} tablet pushes failed during the attack`);
    if (report.latency.max > opts.maxLatencyMs) fail(`max push latency ${report.latency.max} ms during the attack, bound ${opts.maxLatencyMs} ms`);
    if (report.latency.p99 > opts.p99LatencyMs) fail(`p99 push latency ${report.latency.p99} ms during the attack, bound ${opts.p99LatencyMs} ms`);
    if (during.length < opts.pushers * 2) fail(`only ${during.length} pushes during a ${opts.seconds} s attack`);
    const headerSockets = Math.ceil(opts.sockets / 2);
    if (opts.expectHeaderTimeouts && report.closedHeaderSockets !== headerSockets)
      fail(`the gateway closed ${report.closedHeaderSockets} of the ${headerSockets} sockets that never finished their headers (headers timeout)`);
    if (report.stillOpen + report.closedByServer !== report.sockets)
      fail(`${report.sockets} slow sockets opened, ${report.stillOpen} open + ${report.closedByServer} closed`);

    // The slow clients go away; nothing of them is stored, every acknowledged push is.
    for (const s of slow) {
      (s as Socket & { markClosed?: () => void }).markClosed?.();
      s.destroy();
    }
    await sleep(300);
    const health = await fetch(`${g.url}/healthz`)
      .then((r) => r.status)
      .catch(() => 0);
    if (health !== 200) fail(`healthz answered ${health} after the attack`);
    report.salesStored = (await api(g.url, '/sales?maxResults=1')).body.total;
    if (report.salesStored !== report.invoicesAcknowledged) fail(`${report.salesStored} sales stored, ${report.invoicesAcknowledged} acknowledged`);
    const quarantine = (await api(g.url, '/quarantine?maxResults=1')).body.total;
    if (quarantine !== 0) fail(`${quarantine} quarantine entries after the attack (the slow bodies never completed)`);
    const code = await stop(g);
    if (code !== 0) fail(`graceful stop after the attack exited with ${code}`);
  } finally {
    for (const stopTick of stopTicks) stopTick();
    for (const s of slow) s.destroy();
    if (gw) await kill(gw);
    await dir.remove();
  }
  return report;
}
