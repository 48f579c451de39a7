import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/config/password.js';
import { createLogger } from '../../src/logger.js';
import { basic, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';
import { startGatewayProcess, type GatewayProcess } from '../e2e/process.js';
import { deadLetter, FakeForwarding, target } from './fake-forwarding.js';

const SECRETS = {
  device1: 'S3cret-device-one',
  device2: 'S3cret-device-two',
  admin: 'S3cret-admin-pw',
  upstreamPassword: 'S3cret-upstream-pw',
  apiKey: 'S3cret-api-key',
  webhook: 'S3cret-webhook-key',
  wrongGuess: 'S3cret-wrong-guess',
  inQuery: 'S3cret-in-query',
};

interface SecretConfig {
  config: Record<string, unknown>;
  /** Every string that must never appear in a log line. */
  forbidden: string[];
}

async function secretConfig(): Promise<SecretConfig> {
  const device2Hash = await hashPassword(SECRETS.device2);
  const adminHash = await hashPassword(SECRETS.admin);
  const b64 = (user: string, pass: string) => Buffer.from(`${user}:${pass}`).toString('base64');
  return {
    config: {
      logLevel: 'trace',
      devices: [
        { username: 'till-1', password: SECRETS.device1, cashRegister: 'R1' },
        { username: 'till-2', passwordHash: device2Hash, cashRegister: 'R2' },
      ],
      admins: [{ username: 'boss', passwordHash: adminHash }],
      upstream: { baseUrl: 'http://127.0.0.1:9/api', username: 'up-user', password: SECRETS.upstreamPassword, apiKey: SECRETS.apiKey, timeoutMs: 200 },
      webhooks: [{ url: 'http://127.0.0.1:9/hook', secret: SECRETS.webhook }],
    },
    forbidden: [
      ...Object.values(SECRETS),
      device2Hash,
      adminHash,
      ...device2Hash.split('$').slice(4),
      ...adminHash.split('$').slice(4),
      b64('till-1', SECRETS.device1),
      b64('till-2', SECRETS.device2),
      b64('boss', SECRETS.admin),
      b64('till-1', SECRETS.wrongGuess),
    ],
  };
}

/** Pushes, reads, logins (one failing), admin pages, a legacy-style query password. */
async function exercise(base: string): Promise<void> {
  const call = (path: string, auth: string, init: RequestInit = {}) =>
    fetch(base + path, { ...init, headers: { authorization: auth, ...(init.headers as Record<string, string>) } }).then((r) => r.text());
  const d1 = basic('till-1', SECRETS.device1);
  const d2 = basic('till-2', SECRETS.device2);
  const admin = basic('boss', SECRETS.admin);
  const date = String(Date.now());
  await call('/invoice', d1, {
    method: 'POST',
    body: JSON.stringify({ invoices: [invoice(1, [{ productId: 'p', qty: 1, total: 1.5 }], { date }), { id: 'bad' }] }),
  });
  await call('/invoice', d2, { method: 'POST', body: JSON.stringify({ invoices: [invoice(2, [{ productId: 'p', qty: 2, total: 3 }], { date })] }) });
  await call('/invoice', d1, { method: 'POST', body: JSON.stringify({ invoices: [invoice(1, [{ productId: 'q', qty: 9, total: 9 }], { date })] }) });
  await call('/invoice', d1, { method: 'POST', body: 'not json' });
  await call('/stock', d2);
  await call(`/home?username=till-1&password=${SECRETS.inQuery}`, basic('till-1', SECRETS.wrongGuess));
  for (let i = 0; i < 7; i++) await call('/home', basic('till-1', SECRETS.wrongGuess));
  await call('/api/sales', admin);
  await call('/status', admin);
  await call('/metrics', admin);
  await call('/readyz', '');
}

function assertNoSecrets(lines: string[], forbidden: string[]): void {
  expect(lines.length).toBeGreaterThan(10);
  for (const line of lines) {
    for (const secret of forbidden) {
      if (line.includes(secret)) throw new Error(`a log line contains a secret (${secret.slice(0, 12)}…): ${line}`);
    }
    expect(line).not.toMatch(/scrypt\$/);
    expect(line.toLowerCase()).not.toContain('authorization');
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('no secret in any log line', () => {
  it('in-process: pushes, failing and throttled logins, admin pages, forwarding events, at trace level', async () => {
    const { config, forbidden } = await secretConfig();
    const g: TestGateway = await startTestGateway(config);
    cleanups.push(async () => {
      await g.stop();
      await removeDir(g.dir);
    });
    const fwd = new FakeForwarding();
    fwd.targetStates = [
      target('webhook:http://hookuser:S3cret-webhook-key@127.0.0.1:9/hook?sig=S3cret-webhook-key', {
        depth: 1,
        oldestAgeMs: 5,
        lastError: `POST http://up-user:${SECRETS.upstreamPassword}@127.0.0.1:9/api/sales failed`,
      }),
    ];
    fwd.dead = [deadLetter('R1:1', { lastError: `rejected by http://x:${SECRETS.apiKey}@h/api?apiKey=${SECRETS.apiKey}` })];
    g.gateway.forwarding = fwd;
    const ev = g.gateway.events;
    ev.emit('upstream.request', {
      method: 'POST',
      path: `/sales?apiKey=${SECRETS.apiKey}`,
      status: null,
      ms: 5,
      error: `connect ECONNREFUSED http://up-user:${SECRETS.upstreamPassword}@127.0.0.1:9/api`,
    });
    ev.emit('outbox.retry', {
      target: fwd.targetStates[0].target,
      identifier: 'R1:1',
      attempts: 1,
      error: `http://a:${SECRETS.webhook}@h/`,
      nextAttemptAt: new Date(),
    });
    ev.emit('outbox.deadletter', { target: fwd.targetStates[0].target, identifier: 'R1:1', attempts: 3, error: '422' });
    ev.emit('upstream.breaker', { state: 'open', failures: 5 });
    await exercise(g.url);
    const lines = g.logs.join('').split('\n').filter(Boolean);
    assertNoSecrets(lines, forbidden);

    const parsed = lines.map((l) => JSON.parse(l));
    const pushLine = parsed.find((l) => l.path === '/invoice' && l.status === 200 && l.device === 'till-2');
    expect(pushLine).toMatchObject({ method: 'POST', register: 'R2', reqId: expect.any(String), ms: expect.any(Number) });
    expect(parsed.find((l) => l.path === '/home' && l.status === 401)).toBeDefined();
    expect(parsed.find((l) => l.path === '/home' && l.status === 429)).toBeDefined();
    for (const event of ['push', 'quarantine', 'collision', 'upstream.request', 'upstream.breaker', 'outbox.retry', 'outbox.deadletter']) {
      expect(
        parsed.some((l) => l.event === event),
        event,
      ).toBe(true);
    }
  });

  it('end to end: the real CLI, from start-up to shutdown', async () => {
    const { config, forbidden } = await secretConfig();
    const dir = await mkdtemp(join(tmpdir(), 'tsg-secrets-'));
    const configPath = join(dir, 'config.json');
    await writeFile(configPath, JSON.stringify({ server: { host: '127.0.0.1', port: 0 }, store: { dataDir: './data' }, ...config }));
    const proc: GatewayProcess = await startGatewayProcess(configPath, { LOG_LEVEL: 'trace' });
    cleanups.push(async () => {
      proc.child.kill('SIGKILL');
      await removeDir(dir);
    });
    await exercise(proc.url);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    const lines = proc.output().split('\n').filter(Boolean);
    assertNoSecrets(lines, forbidden);
    expect(lines.some((l) => l.includes('"msg":"stopped cleanly"'))).toBe(true);
  });
});

describe('logger', () => {
  const sink = () => {
    const chunks: string[] = [];
    return {
      chunks,
      stream: new Writable({
        write(c, _e, cb) {
          chunks.push(String(c));
          cb();
        },
      }),
    };
  };

  it('writes pretty lines when asked (a terminal), still redacted', () => {
    const out = sink();
    const log = createLogger('info', out.stream, { pretty: true });
    log.info({ device: 'till-1', password: 'hunter2', upstream: { apiKey: 'k-123' } }, 'hello there');
    const text = out.chunks.join('');
    expect(text).toContain('INFO');
    expect(text).toContain('hello there');
    expect(() => JSON.parse(text)).toThrow();
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('k-123');
  });

  it('writes JSON lines otherwise and honours the level', () => {
    const out = sink();
    const log = createLogger('warn', out.stream);
    log.info('hidden');
    log.warn({ secret: 's' }, 'shown');
    const lines = out.chunks
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'shown', secret: '[redacted]', level: 40 });
  });
});
