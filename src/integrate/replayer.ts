import http from 'node:http';
import https from 'node:https';
import { setMaxListeners } from 'node:events';
import { parsePushSummary, type PushOutcome } from './stats.js';
import { TokenBucket } from './token-bucket.js';

export interface ReplayItem {
  source: string;
  body: Buffer;
  contentType: string;
  /** Invoice ids in the body: pushes sharing one are sent one after another, in order. */
  keys: string[];
  invoiceCount: number;
}

export interface ReplayOptions {
  /** The invoice URL (see invoiceUrl). */
  url: URL;
  authorization?: string;
  concurrency: number;
  /** Pushes per second, at most. */
  rate?: number;
  /** Further attempts after a connection error (HTTP answers are never retried). */
  retries: number;
  backoffMs: number;
  backoffCapMs: number;
  timeoutMs: number;
  /** Stop starting pushes (Ctrl-C); pushes in flight finish. */
  stop?: AbortSignal;
  /** Abort pushes in flight too (a second Ctrl-C). */
  abort?: AbortSignal;
  onResult?(item: ReplayItem, outcome: PushOutcome): void;
  random?: () => number;
}

export interface ReplayRun {
  outcomes: PushOutcome[];
  interrupted: boolean;
}

/** The server URL as typed into a tablet, plus `invoice` (a trailing slash or not). */
export function invoiceUrl(serverUrl: string): URL {
  const url = new URL(serverUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`not an http(s) URL: ${serverUrl}`);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/invoice`;
  return url;
}

/** Exponential backoff with jitter: base·2^(attempt-1), capped, then scaled by 0.5–1. */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  return Math.min(capMs, baseMs * 2 ** (attempt - 1)) * (0.5 + random() / 2);
}

const LOOKAHEAD = 512;
const MAX_ANSWER_BYTES = 1 << 20;

/**
 * Sends the items with keep-alive connections, at most `concurrency` at a time and `rate` per
 * second. An item waits while an earlier unfinished item shares one of its keys, so a refund is
 * never sent before the sale it refunds; unrelated items go in parallel.
 */
export function replay(items: ReplayItem[], opts: ReplayOptions): Promise<ReplayRun> {
  const transport = opts.url.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const bucket = opts.rate ? new TokenBucket(opts.rate, 1) : null;
  const outcomes: PushOutcome[] = new Array(items.length);
  const taken = new Uint8Array(items.length);
  const busyKeys = new Map<string, number>();
  let head = 0;
  let inFlight = 0;
  let interrupted = false;

  const pick = (): number => {
    while (head < items.length && taken[head]) head++;
    const blocked = new Set<string>();
    for (let i = head, seen = 0; i < items.length && seen < LOOKAHEAD; i++) {
      if (taken[i]) continue;
      seen++;
      const keys = items[i].keys;
      if (keys.every((k) => !busyKeys.has(k) && !blocked.has(k))) return i;
      for (const k of keys) blocked.add(k);
    }
    return -1;
  };
  const hold = (keys: string[], delta: 1 | -1) => {
    for (const k of keys) {
      const n = (busyKeys.get(k) ?? 0) + delta;
      if (n === 0) busyKeys.delete(k);
      else busyKeys.set(k, n);
    }
  };

  // Every push in flight listens to the signals.
  for (const signal of [opts.stop, opts.abort]) if (signal) setMaxListeners(0, signal);
  let finished = false;
  return new Promise((resolve) => {
    const finish = () => {
      if (finished) return;
      finished = true;
      agent.destroy();
      for (let i = 0; i < items.length; i++) if (!taken[i]) outcomes[i] = { kind: 'interrupted' };
      resolve({ outcomes, interrupted });
    };
    const pump = () => {
      if (opts.stop?.aborted) interrupted = true;
      while (!interrupted && inFlight < opts.concurrency) {
        const i = pick();
        if (i < 0) break;
        taken[i] = 1;
        inFlight++;
        hold(items[i].keys, 1);
        void sendWithRetries(items[i], opts, agent, bucket).then((outcome) => {
          outcomes[i] = outcome;
          inFlight--;
          hold(items[i].keys, -1);
          if (outcome.kind === 'interrupted') interrupted = true;
          opts.onResult?.(items[i], outcome);
          pump();
        });
      }
      if (inFlight === 0) finish();
    };
    opts.stop?.addEventListener('abort', () => pump(), { once: true });
    pump();
  });
}

async function sendWithRetries(item: ReplayItem, opts: ReplayOptions, agent: http.Agent, bucket: TokenBucket | null): Promise<PushOutcome> {
  for (let attempt = 1; ; attempt++) {
    if (bucket && !(await sleep(bucket.take(), opts.stop))) return { kind: 'interrupted' };
    if (opts.abort?.aborted) return { kind: 'interrupted' };
    try {
      const answer = await send(item, opts, agent);
      return {
        kind: 'response',
        status: answer.status,
        latencyMs: answer.latencyMs,
        attempts: attempt,
        summary: parsePushSummary(answer.contentType, answer.body),
      };
    } catch (err) {
      if (opts.abort?.aborted) return { kind: 'interrupted' };
      const e = err as NodeJS.ErrnoException;
      const failed: PushOutcome = { kind: 'connection_error', code: e.code ?? 'ERROR', message: e.message, attempts: attempt };
      if (attempt > opts.retries || opts.stop?.aborted) return failed;
      if (!(await sleep(backoffDelay(attempt, opts.backoffMs, opts.backoffCapMs, opts.random), opts.stop))) return failed;
    }
  }
}

interface Answer {
  status: number;
  contentType?: string;
  body: string;
  latencyMs: number;
}

function send(item: ReplayItem, opts: ReplayOptions, agent: http.Agent): Promise<Answer> {
  const transport = opts.url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const headers: http.OutgoingHttpHeaders = {
      'content-type': item.contentType,
      'content-length': item.body.length,
      // Explicitly naming application/json asks a tabshop-gateway for its JSON summary; other servers answer as to a tablet.
      accept: 'application/json, text/plain;q=0.9, */*;q=0.1',
      'user-agent': 'tabshop-gateway-replay',
    };
    if (opts.authorization) headers.authorization = opts.authorization;
    const req = transport.request(opts.url, { method: 'POST', agent, headers, timeout: opts.timeoutMs });
    const onAbort = () => req.destroy(Object.assign(new Error('aborted'), { code: 'ABORTED' }));
    opts.abort?.addEventListener('abort', onAbort, { once: true });
    const done = () => opts.abort?.removeEventListener('abort', onAbort);
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${opts.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => {
      done();
      reject(err);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_ANSWER_BYTES) chunks.push(c);
      });
      res.on('end', () => {
        done();
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'],
          body: Buffer.concat(chunks).toString('utf8'),
          latencyMs: performance.now() - started,
        });
      });
      res.on('error', (err) => {
        done();
        reject(err);
      });
    });
    req.end(item.body);
  });
}

/** Resolves true after ms, or false at once when the signal fires first. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
