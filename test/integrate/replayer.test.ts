import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as realDelay } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { replay, type ReplayItem, type ReplayOptions } from '../../src/integrate/replayer.js';
import type { PushOutcome } from '../../src/integrate/stats.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<URL> {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return new URL(`http://127.0.0.1:${(server!.address() as AddressInfo).port}/invoice`);
}

const item = (source: string, keys: string[] = [source]): ReplayItem => ({
  source,
  keys,
  invoiceCount: 1,
  contentType: 'application/json',
  body: Buffer.from(JSON.stringify({ source })),
});
const options = (url: URL, extra: Partial<ReplayOptions> = {}): ReplayOptions => ({
  url,
  concurrency: 4,
  retries: 3,
  backoffMs: 5,
  backoffCapMs: 20,
  timeoutMs: 5000,
  ...extra,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('replay engine', () => {
  it('sends bodies byte for byte with the headers given, and reads the JSON summary', async () => {
    const seen: { body: string; headers: IncomingMessage['headers'] }[] = [];
    const url = await serve((req, res, body) => {
      seen.push({ body, headers: req.headers });
      res.setHeader('content-type', 'application/json');
      res.end('{"received":1,"created":1,"updated":0,"unchanged":0,"quarantined":0}');
    });
    const run = await replay([{ ...item('a'), contentType: 'application/x-www-form-urlencoded' }], options(url, { authorization: 'Basic eDp5' }));
    expect(seen[0].body).toBe('{"source":"a"}');
    expect(seen[0].headers).toMatchObject({ 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic eDp5' });
    expect(seen[0].headers.accept).toMatch(/^application\/json/);
    expect(run.outcomes[0]).toMatchObject({ kind: 'response', status: 200, attempts: 1, summary: { created: 1 } });
  });

  it('keeps pushes that share an invoice id in order, and runs the others in parallel', async () => {
    const events: string[] = [];
    const url = await serve(async (_req, res, body) => {
      const { source } = JSON.parse(body);
      events.push(`start ${source}`);
      await sleep(source === 'a1' ? 80 : 10);
      events.push(`end ${source}`);
      res.end('true');
    });
    await replay([item('a1', ['1']), item('b', ['2']), item('a2', ['1', '3']), item('c', ['3']), item('d', ['4'])], options(url));
    expect(events.indexOf('start a2')).toBeGreaterThan(events.indexOf('end a1'));
    expect(events.indexOf('start c')).toBeGreaterThan(events.indexOf('end a2'));
    expect(events.indexOf('start d')).toBeLessThan(events.indexOf('end a1'));
    expect(events.indexOf('start b')).toBeLessThan(events.indexOf('end a1'));
  });

  it('retries connection errors with backoff, never HTTP errors', async () => {
    let calls = 0;
    const url = await serve((req, res, body) => {
      calls++;
      if (JSON.parse(body).source === 'flaky' && calls <= 2) return req.socket.destroy();
      res.statusCode = JSON.parse(body).source === 'broken' ? 500 : 200;
      res.end('x');
    });
    const run = await replay([item('flaky')], options(url, { concurrency: 1 }));
    expect(run.outcomes[0]).toMatchObject({ kind: 'response', status: 200, attempts: 3 });
    const broken = await replay([item('broken')], options(url));
    expect(broken.outcomes[0]).toMatchObject({ kind: 'response', status: 500, attempts: 1 });
  });

  it('gives up after the retries when nothing listens', async () => {
    const url = await serve(() => undefined);
    await new Promise((r) => server!.close(r));
    const run = await replay([item('a')], options(url, { retries: 2 }));
    expect(run.outcomes[0]).toMatchObject({ kind: 'connection_error', code: 'ECONNREFUSED', attempts: 3 });
  });

  it('keeps connections alive: no more sockets than the concurrency', async () => {
    const sockets = new Set<unknown>();
    const url = await serve((req, res) => {
      sockets.add(req.socket);
      res.end('true');
    });
    const run = await replay(
      Array.from({ length: 60 }, (_, i) => item(`p${i}`)),
      options(url, { concurrency: 3 }),
    );
    expect(run.outcomes.every((o) => o.kind === 'response' && o.status === 200)).toBe(true);
    expect(sockets.size).toBeLessThanOrEqual(3);
  });

  it('holds the rate (fake clock: each push waits for its token, 40 ms apart at 25/s)', async () => {
    let served = 0;
    const url = await serve((_req, res) => {
      served++;
      res.end('true');
    });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      // (vi.waitFor would move the fake clock: this waits on real time for the real I/O.)
      const servedReaches = async (n: number) => {
        for (let i = 0; i < 500 && served < n; i++) await realDelay(10);
        expect(served).toBe(n);
      };
      const run = replay(
        Array.from({ length: 5 }, (_, i) => item(`p${i}`)),
        options(url, { rate: 25 }),
      );
      await servedReaches(1);
      // Without the clock moving, nothing more is sent, however long the I/O gets to run.
      await realDelay(100);
      expect(served).toBe(1);
      for (let n = 2; n <= 5; n++) {
        await vi.advanceTimersByTimeAsync(39);
        await realDelay(20);
        expect(served).toBe(n - 1);
        await vi.advanceTimersByTimeAsync(1);
        await servedReaches(n);
      }
      expect((await run).outcomes.every((o) => o.kind === 'response' && o.status === 200)).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('stop: starts nothing new, lets pushes in flight finish; abort: ends those too', async () => {
    const url = await serve(async (_req, res, body) => {
      if (JSON.parse(body).source !== 'hang') {
        await sleep(30);
        res.end('true');
      }
    });
    const stop = new AbortController();
    const results: PushOutcome[] = [];
    const run = await replay(
      Array.from({ length: 10 }, (_, i) => item(`p${i}`)),
      options(url, {
        concurrency: 2,
        stop: stop.signal,
        onResult: (_i, o) => {
          results.push(o);
          stop.abort();
        },
      }),
    );
    expect(run.interrupted).toBe(true);
    expect(run.outcomes.filter((o) => o.kind === 'response')).toHaveLength(2);
    expect(run.outcomes.filter((o) => o.kind === 'interrupted')).toHaveLength(8);

    const abort = new AbortController();
    const hung = replay([item('hang')], options(url, { stop: abort.signal, abort: abort.signal }));
    await sleep(50);
    abort.abort();
    expect((await hung).outcomes[0]).toEqual({ kind: 'interrupted' });
  });
});
