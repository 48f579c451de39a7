/**
 * The fuzz run: thousands of hostile requests (test/torture/lib/generators.ts) against a gateway
 * child process, many at a time. Invariants: no 5xx, no crash, every refusal Express makes is a
 * 4xx JSON error {"error":{"code","message"}}; Node's own answers (431, 400 for unparseable
 * requests, a closed connection) are counted apart; nothing is written but what DESIGN allows
 * (the raw body of a refused push in the quarantine, invalid invoices of a valid batch in the
 * quarantine); tablets keep being served throughout.
 */
import type { CliBuild } from '../../e2e/process.js';
import { adminAuthHeader, api, basicAuth, PRODUCTS, seedCatalogue, startGateway, stop, TABLETS, tortureDir, kill, type RunningGateway } from './gateway.js';
import { fuzzCase, prng, VALID_PUSH, type FuzzCase } from './generators.js';
import { rawRequest, type RawResult } from './raw-http.js';

export interface FuzzOptions {
  requests: number;
  concurrency: number;
  seed: number;
  build: CliBuild;
  /** Run the gateway with `tabshop.legacy: true` (pre-146 clients: credentials in query or form, form bodies). */
  legacy?: boolean;
  log?: (msg: string) => void;
}

export interface FuzzReport {
  requests: number;
  byStatus: Record<string, number>;
  byKind: Record<string, number>;
  fiveXx: number;
  /** The gateway process exited, or stopped answering its health check. */
  crashes: number;
  /** An Express 4xx whose body is not {"error":{"code","message"}} (HEAD: not JSON-typed). */
  nonJson4xx: number;
  /** Answers by Node's HTTP layer itself (no X-Request-Id): status or `closed`. */
  nodeAnswered: Record<string, number>;
  /** Requests the client cut off on purpose (no answer expected). */
  aborted: number;
  /** Node answering where Express had to, garbage accepted with a 2xx, unparseable answers, timeouts. */
  unexpected: number;
  /** Quarantine entries added, and the most the refused pushes and 200 summaries allow. */
  quarantineAdded: number;
  quarantineAllowed: number;
  /** Sales created (by 200 summaries: a valid invoice inside a hostile batch) and the store's growth. */
  createdBySummaries: number;
  salesAdded: number;
  articlesVersionChanged: boolean;
  tabletProbes: number;
  tabletProbeFailures: number;
  failures: string[];
  /** Failures per request family (kind), for a quick look at what broke. */
  failuresByKind: Record<string, number>;
  durationMs: number;
}

const ERROR_CODE = /^[a-z][a-z0-9_]*$/;

export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? (() => {});
  const started = performance.now();
  const report: FuzzReport = {
    requests: 0,
    byStatus: {},
    byKind: {},
    fiveXx: 0,
    crashes: 0,
    nonJson4xx: 0,
    nodeAnswered: {},
    aborted: 0,
    unexpected: 0,
    quarantineAdded: 0,
    quarantineAllowed: 0,
    createdBySummaries: 0,
    salesAdded: 0,
    articlesVersionChanged: false,
    tabletProbes: 0,
    tabletProbeFailures: 0,
    failures: [],
    failuresByKind: {},
    durationMs: 0,
  };
  const fail = (kind: 'fiveXx' | 'nonJson4xx' | 'unexpected' | 'crashes' | 'tabletProbeFailures', msg: string) => {
    report[kind]++;
    const family = /^#\d+ (\S+):/.exec(msg)?.[1] ?? kind;
    report.failuresByKind[family] = (report.failuresByKind[family] ?? 0) + 1;
    if (report.failures.length < 60) report.failures.push(msg);
  };
  const dir = await tortureDir('tsg-torture-fuzz-', opts.legacy ? { tabshop: { legacy: true } } : {});
  let gw: RunningGateway | undefined;
  try {
    gw = await startGateway(dir.configPath, opts.build);
    const g = gw;
    await seedCatalogue(g.url);
    const salesBefore = (await api(g.url, '/sales?maxResults=1')).body.total as number;
    const quarantineBefore = (await api(g.url, '/quarantine?maxResults=1')).body.total as number;
    const versionBefore = (await api(g.url, '/version')).body.version as number;
    const env = {
      host: `${g.host}:${g.port}`,
      deviceAuth: basicAuth(TABLETS[0]),
      adminAuth: adminAuthHeader,
      badAuthAddresses: Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`),
      product: PRODUCTS.tracked[0],
      legacy: opts.legacy ? TABLETS[0] : undefined,
    };
    const rnd = prng(opts.seed);
    let next = 0;
    let exitedEarly = false;
    let stopping = false;
    void g.exited.then(() => {
      if (!stopping) exitedEarly = true;
    });

    const probe = async () => {
      report.tabletProbes++;
      try {
        const res = await fetch(`${g.url}/home`, { headers: { authorization: env.deviceAuth } });
        const text = await res.text();
        if (res.status !== 200 || text !== 'true') fail('tabletProbeFailures', `tablet probe: ${res.status} ${text.slice(0, 100)}`);
      } catch (err) {
        fail('tabletProbeFailures', `tablet probe: ${(err as Error).message}`);
      }
    };

    const classify = (i: number, c: FuzzCase, r: RawResult) => {
      const where = `#${i} ${c.kind}`;
      if (r.kind === 'timeout') return fail('unexpected', `${where}: no answer within the timeout`);
      if (r.kind === 'error') return fail('unexpected', `${where}: ${r.code}`);
      if (r.kind === 'closed') {
        if (c.expect === 'aborted') report.aborted++;
        else if (c.expect === 'any') report.nodeAnswered.closed = (report.nodeAnswered.closed ?? 0) + 1;
        else fail('unexpected', `${where}: connection closed without an answer`);
        return;
      }
      const status = r.status;
      report.byStatus[status] = (report.byStatus[status] ?? 0) + 1;
      if (status >= 500) return fail('fiveXx', `${where}: ${status} ${r.body.toString('utf8', 0, 200)}`);
      const fromExpress = r.headers['x-request-id'] !== undefined;
      if (!fromExpress) {
        if (c.expect === 'app' || status < 400) return fail('unexpected', `${where}: Node answered ${status} where the app had to`);
        report.nodeAnswered[status] = (report.nodeAnswered[status] ?? 0) + 1;
        return;
      }
      const isHead = String(c.req.head).startsWith('HEAD ');
      if (status >= 400) {
        if (isHead) {
          if (!/application\/json/.test(r.headers['content-type'] ?? ''))
            fail('nonJson4xx', `${where}: HEAD ${status} with content-type ${r.headers['content-type']}`);
        } else {
          let err: { code?: unknown; message?: unknown } | undefined;
          try {
            err = JSON.parse(r.body.toString('utf8')).error;
          } catch {
            /* not JSON */
          }
          if (!err || typeof err.code !== 'string' || !ERROR_CODE.test(err.code) || typeof err.message !== 'string') {
            return fail('nonJson4xx', `${where}: ${status} ${r.headers['content-type']} ${r.body.toString('utf8', 0, 200)}`);
          }
          if (c.authedPush && status === 400 && (err.code === 'invalid_json' || err.code === 'invalid_body')) report.quarantineAllowed++;
        }
        return;
      }
      if (c.refuse) return fail('unexpected', `${where}: garbage accepted with ${status} ${r.body.toString('utf8', 0, 200)}`);
      if (c.authedPush && status === 200) {
        try {
          const s = JSON.parse(r.body.toString('utf8'));
          report.quarantineAllowed += s.quarantined;
          report.createdBySummaries += s.created;
          if (s.received !== s.created + s.updated + s.unchanged + s.quarantined) fail('unexpected', `${where}: summary does not add up: ${r.body}`);
        } catch {
          fail('unexpected', `${where}: 200 without a JSON summary: ${r.body.toString('utf8', 0, 200)}`);
        }
      }
    };

    const worker = async () => {
      while (next < opts.requests && !exitedEarly) {
        const i = next++;
        const c = fuzzCase(i, rnd, env);
        report.byKind[c.kind] = (report.byKind[c.kind] ?? 0) + 1;
        const r = await rawRequest(g.host, g.port, { ...c.req, timeoutMs: 30_000 });
        report.requests++;
        classify(i, c, r);
        if (i % 500 === 499) {
          await probe();
          log(`fuzz: ${i + 1}/${opts.requests} sent; 5xx ${report.fiveXx}, non-JSON 4xx ${report.nonJson4xx}, unexpected ${report.unexpected}`);
        }
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
    if (exitedEarly || !g.alive()) fail('crashes', `the gateway exited during the fuzz run:\n${g.output().slice(-3000)}`);
    else {
      const health = await fetch(`${g.url}/healthz`)
        .then((r) => r.status)
        .catch(() => 0);
      if (health !== 200) fail('crashes', `healthz answered ${health} after the fuzz run`);
      await probe();
      // Still storing, and nothing but quarantine entries came of the garbage.
      const ok = await fetch(`${g.url}/invoice`, { method: 'POST', headers: { authorization: env.deviceAuth, accept: 'application/json' }, body: VALID_PUSH })
        .then((r) => r.json())
        .catch((e) => ({ error: String(e) }));
      if (ok.created !== 1) fail('unexpected', `a valid push after the fuzz run answered ${JSON.stringify(ok)}`);
      const salesAfter = (await api(g.url, '/sales?maxResults=1')).body.total as number;
      report.salesAdded = salesAfter - salesBefore - 1;
      if (report.salesAdded !== report.createdBySummaries)
        fail('unexpected', `the store has ${report.salesAdded} more sales than the ${report.createdBySummaries} answers acknowledged as created`);
      report.quarantineAdded = (await api(g.url, '/quarantine?maxResults=1')).body.total - quarantineBefore;
      if (report.quarantineAdded > report.quarantineAllowed)
        fail('unexpected', `${report.quarantineAdded} quarantine entries added, at most ${report.quarantineAllowed} allowed by the answers`);
      if (report.quarantineAllowed > 0 && report.quarantineAdded === 0) fail('unexpected', 'refused pushes left nothing in the quarantine');
      report.articlesVersionChanged = (await api(g.url, '/version')).body.version !== versionBefore;
      if (report.articlesVersionChanged) fail('unexpected', 'the articles version changed: a refused API write changed something');
      stopping = true;
      const code = await stop(g);
      if (code !== 0) fail('crashes', `graceful stop after the fuzz run exited with ${code}`);
    }
  } finally {
    if (gw) await kill(gw);
    await dir.remove();
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

/** Two runs' figures as one (the full run fuzzes a default and a legacy-mode gateway). */
export function mergeFuzzReports(a: FuzzReport, b: FuzzReport): FuzzReport {
  const add = (x: Record<string, number>, y: Record<string, number>) => {
    const out = { ...x };
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    requests: a.requests + b.requests,
    byStatus: add(a.byStatus, b.byStatus),
    byKind: add(a.byKind, b.byKind),
    fiveXx: a.fiveXx + b.fiveXx,
    crashes: a.crashes + b.crashes,
    nonJson4xx: a.nonJson4xx + b.nonJson4xx,
    nodeAnswered: add(a.nodeAnswered, b.nodeAnswered),
    aborted: a.aborted + b.aborted,
    unexpected: a.unexpected + b.unexpected,
    quarantineAdded: a.quarantineAdded + b.quarantineAdded,
    quarantineAllowed: a.quarantineAllowed + b.quarantineAllowed,
    createdBySummaries: a.createdBySummaries + b.createdBySummaries,
    salesAdded: a.salesAdded + b.salesAdded,
    articlesVersionChanged: a.articlesVersionChanged || b.articlesVersionChanged,
    tabletProbes: a.tabletProbes + b.tabletProbes,
    tabletProbeFailures: a.tabletProbeFailures + b.tabletProbeFailures,
    failures: [...a.failures, ...b.failures.map((f) => `legacy mode: ${f}`)],
    failuresByKind: add(a.failuresByKind, b.failuresByKind),
    durationMs: a.durationMs + b.durationMs,
  };
}
