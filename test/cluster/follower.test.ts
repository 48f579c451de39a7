import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { followerHandler, startingHandler } from '../../src/cluster/follower.js';

const servers: Server[] = [];
const closers: (() => void)[] = [];

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler!);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function follower(leaderUrl: () => string | null): Promise<string> {
  const f = followerHandler({ leaderUrl, log: pino({ level: 'silent' }) });
  closers.push(f.close);
  return serve(f.handler);
}

afterEach(async () => {
  for (const close of closers.splice(0)) close();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

describe('a follower process', () => {
  it('forwards method, path, query, headers and body, and streams the answer back as it is', async () => {
    let seen: { method?: string; url?: string; headers: IncomingHttpHeaders; body: string } | null = null;
    const leader = await serve((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen = { method: req.method, url: req.url, headers: req.headers, body };
        res.writeHead(201, { 'content-type': 'text/plain', etag: '"v7"', 'x-request-id': 'r-1' });
        res.end('stored');
      });
    });
    const url = await follower(() => leader);
    // node:http, not fetch: fetch refuses to set Connection.
    const res = await new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = request(
        `${url}/api/sales?maxResults=5`,
        {
          method: 'POST',
          headers: { authorization: 'Basic dDpw', 'content-type': 'application/json', connection: 'keep-alive, x-hop', 'x-hop': 'gone' },
        },
        (r) => {
          let body = '';
          r.on('data', (c) => (body += c));
          r.on('end', () => resolve({ status: r.statusCode!, headers: r.headers, body }));
        },
      );
      req.on('error', reject);
      req.end('{"invoices":[]}');
    });
    expect(res).toMatchObject({ status: 201, body: 'stored', headers: { etag: '"v7"', 'x-request-id': 'r-1' } });
    expect(seen).toMatchObject({ method: 'POST', url: '/api/sales?maxResults=5', body: '{"invoices":[]}' });
    expect(seen!.headers).toMatchObject({
      authorization: 'Basic dDpw',
      'content-type': 'application/json',
      'x-tabshop-gateway-forwarded': '1',
      'x-forwarded-for': '127.0.0.1',
    });
    expect(seen!.headers['x-hop']).toBeUndefined(); // named in Connection: one hop only
    expect(seen!.headers['x-forwarded-host']).toBe(new URL(url).host);

    // Found by the fuzz run: `//invoice` once went through URL resolution and named a host "invoice".
    const slashes = await fetch(`${url}//evil.example/invoice`, { method: 'POST', body: '{}' });
    expect(slashes.status).toBe(201);
    expect(seen).toMatchObject({ url: '//evil.example/invoice' });
  });

  it('passes on a refusal the leader sends before reading the body (413), whole, and a client gone mid-body cancels the forwarded request', async () => {
    let aborted = 0;
    const leader = await serve((req, res) => {
      if (req.url === '/big') {
        // Answered at once, the rest of the body discarded (what the gateway's body limit does).
        res.writeHead(413, { 'content-type': 'application/json' });
        res.end('{"error":{"code":"payload_too_large","message":"too big"}}');
        return req.resume();
      }
      req.on('aborted', () => aborted++);
      req.resume();
    });
    const url = await follower(() => leader);
    const big = await fetch(`${url}/big`, { method: 'POST', body: Buffer.alloc(8 * 1024 * 1024, 97) });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ error: { code: 'payload_too_large', message: 'too big' } });

    const half = request(`${url}/slow`, { method: 'POST', headers: { 'content-length': '1000' } });
    half.on('error', () => undefined);
    half.write('x'.repeat(10));
    await new Promise((r) => setTimeout(r, 100));
    half.destroy();
    await expect.poll(() => aborted).toBe(1);
  });

  it('answers 503 not_ready with Retry-After when no process leads or the leader does not answer, and /healthz itself', async () => {
    let leader: string | null = null;
    const url = await follower(() => leader);
    const none = await fetch(`${url}/home`);
    expect(none.status).toBe(503);
    expect(none.headers.get('retry-after')).toBe('1');
    expect((await none.json()).error).toEqual({ code: 'not_ready', message: 'no gateway process leads the database right now; retry shortly' });
    const dead = await serve(() => undefined);
    leader = dead;
    await new Promise((r) => servers.pop()!.close(r));
    const down = await fetch(`${url}/invoice`, { method: 'POST', body: '{}' });
    expect(down.status).toBe(503);
    expect((await down.json()).error.code).toBe('not_ready');
    expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({ status: 'ok', role: 'follower' });
  });

  it('while the store opens: alive on /healthz, 503 not_ready for everything else', async () => {
    const url = await serve(startingHandler());
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const home = await fetch(`${url}/home`);
    expect(home.status).toBe(503);
    expect(home.headers.get('retry-after')).toBe('2');
    expect((await home.json()).error.code).toBe('not_ready');
  });
});
