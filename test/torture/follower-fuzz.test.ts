import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followerHandler } from '../../src/cluster/follower.js';
import { ADMIN, adminAuth, DEVICE, deviceAuth, removeDir, startTestGateway, type TestGateway } from '../helpers.js';
import { fuzzCase, prng, type FuzzEnv } from './lib/generators.js';
import { rawRequest, type RawResult } from './lib/raw-http.js';

/**
 * Hostile requests of every fuzz family, each sent to a gateway directly and through a follower
 * in front of it: a follower must never crash or answer 5xx, and gives the gateway's answer.
 */
let leader: TestGateway;
let follower: Server;
let close: () => void;
let port: number;

beforeAll(async () => {
  // trustProxy: the follower's X-Forwarded-For keeps each client's address (login throttling per address).
  leader = await startTestGateway({
    store: { dataDir: './data', seedDemo: true },
    server: { host: '127.0.0.1', port: 0, trustProxy: 'loopback' },
    devices: [DEVICE],
    admins: [ADMIN],
  });
  const f = followerHandler({ leaderUrl: () => leader.url, log: pino({ level: process.env.FOLLOWER_LOG ?? 'silent' }) });
  close = f.close;
  follower = createServer(f.handler);
  follower.headersTimeout = 30_000;
  await new Promise<void>((resolve) => follower.listen(0, '127.0.0.1', resolve));
  port = (follower.address() as AddressInfo).port;
});
afterAll(async () => {
  close();
  follower.closeAllConnections();
  await new Promise((r) => follower.close(r));
  await leader.stop();
  await removeDir(leader.dir);
});

const answer = (r: RawResult) => (r.kind === 'response' ? r.status : r.kind);

describe('a follower in front of a gateway, under fuzzed and malformed requests', () => {
  it('never crashes or answers 5xx, and answers what the gateway answers', async () => {
    const leaderPort = Number(new URL(leader.url).port);
    const env = (p: number): FuzzEnv => ({
      host: `127.0.0.1:${p}`,
      deviceAuth,
      adminAuth,
      badAuthAddresses: Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`),
      product: '101',
    });
    const mismatches: string[] = [];
    const statuses = new Map<string, number>();
    const N = 300;
    for (let batch = 0; batch < N / 15; batch++) {
      await Promise.all(
        Array.from({ length: 15 }, async (_, j) => {
          const i = batch * 15 + j;
          // The same case twice (same seed): once direct, once through the follower.
          const direct = fuzzCase(i, prng(1000 + i), env(leaderPort));
          const forwarded = fuzzCase(i, prng(1000 + i), env(port));
          const a = await rawRequest('127.0.0.1', leaderPort, { ...direct.req, timeoutMs: 20_000 });
          const b = await rawRequest('127.0.0.1', port, { ...forwarded.req, timeoutMs: 20_000 });
          const key = `${direct.kind} ${answer(a)} → ${answer(b)}`;
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
          if (b.kind === 'response' && b.status >= 500) mismatches.push(`#${i} ${key}: ${b.body.toString('utf8', 0, 200)}`);
          // Express answered directly: the follower gives the same status (Node-level answers and aborts may differ by hop).
          if (direct.expect === 'app' && a.kind === 'response' && a.headers['x-request-id'] && answer(a) !== answer(b)) mismatches.push(`#${i} ${key}`);
        }),
      );
    }
    expect(mismatches, [...statuses].map(([k, n]) => `${k}: ${n}`).join('\n')).toEqual([]);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/home`, { headers: { authorization: deviceAuth } })).status).toBe(200);
  }, 120_000);
});
