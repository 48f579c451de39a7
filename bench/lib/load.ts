import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadResult {
  /** 2xx responses per second over the measured slices. */
  rps: number;
  /** Median over the slices of each slice's median / 99th percentile latency (ms). */
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Server CPU (user + system, all threads) per request, in ms; null when the server's pid is unknown. */
  cpuMsPerRequest: number | null;
}

export interface LoadOptions {
  url: string;
  connections: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** A fresh request per call; `context` is per connection (autocannon clones initialContext for each). */
  setupRequest?: (request: autocannon.Request, context: Record<string, unknown>) => autocannon.Request;
}

export interface Contender {
  load: LoadOptions;
  /** The server process, for its CPU time. */
  pid?: number;
}

function run(opts: LoadOptions, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: opts.url,
    connections: opts.connections,
    duration: seconds,
    method: opts.method ?? 'GET',
    headers: opts.headers,
    initialContext: {},
    requests: opts.setupRequest ? [{ setupRequest: opts.setupRequest as (r: autocannon.Request, c: object) => autocannon.Request }] : undefined,
    timeout: 30,
  });
}

/** utime + stime of a process (all its threads), in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Measures several servers under the same load, interleaved: a warm-up for each, then
 * `slices` rounds of one short run per server. A machine whose background load drifts during
 * the bench then weighs on every contender alike, which a run-after-run comparison cannot promise.
 */
export async function measureInterleaved(contenders: Contender[], opts: { seconds: number; warmupSeconds: number; slices: number }): Promise<LoadResult[]> {
  for (const c of contenders) if (opts.warmupSeconds > 0) await run(c.load, opts.warmupSeconds);
  const sliceSeconds = Math.max(1, Math.round(opts.seconds / opts.slices));
  const acc = contenders.map(() => ({ ok: 0, requests: 0, non2xx: 0, errors: 0, timeouts: 0, seconds: 0, cpu: 0, p50: [] as number[], p99: [] as number[] }));
  for (let s = 0; s < opts.slices; s++) {
    for (const [i, c] of contenders.entries()) {
      const cpuBefore = c.pid ? cpuMs(c.pid) : 0;
      const r = await run(c.load, sliceSeconds);
      const a = acc[i];
      if (c.pid) a.cpu += cpuMs(c.pid) - cpuBefore;
      a.ok += r['2xx'];
      a.requests += r.requests.total;
      a.non2xx += r.non2xx;
      a.errors += r.errors;
      a.timeouts += r.timeouts;
      a.seconds += r.duration;
      a.p50.push(r.latency.p50);
      a.p99.push(r.latency.p99);
    }
  }
  return acc.map((a, i) => ({
    rps: a.ok / a.seconds,
    p50: median(a.p50),
    p99: median(a.p99),
    requests: a.requests,
    non2xx: a.non2xx,
    errors: a.errors,
    timeouts: a.timeouts,
    cpuMsPerRequest: contenders[i].pid && a.requests > 0 ? a.cpu / a.requests : null,
  }));
}
