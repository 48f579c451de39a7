import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeEach } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Decimal } from 'decimal.js';
import { loadConfig } from '../src/config/load.js';
import { openGateway, type Gateway } from '../src/gateway.js';
import { createLogger } from '../src/logger.js';
import { startServer, type RunningServer } from '../src/server.js';
import { startPostgres, type PgCluster } from './postgres.js';

/**
 * TEST_STORE=postgres runs the HTTP tests that use these helpers on PostgreSQL: a gateway started
 * without a store of its own gets a database of a throwaway cluster, one per data dir (a restart
 * on the same dir finds its database again). Tests that read lowdb's files do not apply there.
 */
const ON_POSTGRES = process.env.TEST_STORE === 'postgres';
/**
 * TEST_SHOPS=1 serves the same gateway through the shop directory (src/shops: an operator in the
 * config makes it a deployment of shops): the HTTP suites then show that dispatch changes nothing.
 */
const THROUGH_SHOPS = process.env.TEST_SHOPS === '1';
let cluster: Promise<PgCluster> | null = null;
const databases = new Map<string, string>();
if (ON_POSTGRES) afterAll(async () => (await cluster)?.stop());

async function databaseOf(dir: string): Promise<string> {
  let url = databases.get(dir);
  if (!url) {
    cluster ??= startPostgres();
    url = await (await cluster).createDatabase();
    databases.set(dir, url);
  }
  return url;
}

export const DEVICE = { username: 'tablet-1', password: 'pw-tablet-1', cashRegister: 'TAB-1' };
export const DEVICE2 = { username: 'tablet-2', password: 'pw-tablet-2', cashRegister: 'TAB-2' };
export const ADMIN = { username: 'admin', password: 'pw-admin' };

export const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
export const deviceAuth = basic(DEVICE.username, DEVICE.password);
export const device2Auth = basic(DEVICE2.username, DEVICE2.password);
export const adminAuth = basic(ADMIN.username, ADMIN.password);

export interface TestGateway {
  url: string;
  dataDir: string;
  dir: string;
  gateway: Gateway;
  running: RunningServer;
  logs: string[];
  fetch(path: string, init?: RequestInit & { auth?: string | null }): Promise<Response>;
  json(path: string, init?: Omit<RequestInit, 'body'> & { auth?: string | null; body?: unknown }): Promise<{ status: number; body: any; headers: Headers }>;
  stop(): Promise<void>;
}

/** A real gateway on an ephemeral (or the given) 127.0.0.1 port over a temp data dir. */
export async function startTestGateway(
  overrides: Record<string, unknown> = {},
  existingDir?: string,
  opts: { now?: () => Date; port?: number } = {},
): Promise<TestGateway> {
  const dir = existingDir ?? (await mkdtemp(join(tmpdir(), 'tsg-http-')));
  const configPath = join(dir, 'config.json');
  const store: Record<string, unknown> = { dataDir: './data', ...(overrides.store as Record<string, unknown> | undefined) };
  if (ON_POSTGRES && store.postgres === undefined) overrides = { ...overrides, store: { ...store, postgres: { url: await databaseOf(dir) } } };
  await writeFile(
    configPath,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0 },
      store: { dataDir: './data' },
      devices: [DEVICE, DEVICE2],
      admins: [ADMIN],
      ...overrides,
    }),
  );
  const { config } = loadConfig({ file: configPath, cwd: dir, env: {} });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _e, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger(config.logLevel, sink);
  let gateway: Gateway;
  let running: RunningServer;
  if (THROUGH_SHOPS) {
    if (config.operators === undefined) config.operators = [{ username: 'test-operator', password: 'pw-test-operator' }];
    const { startDeployment } = await import('../src/shops/deployment.js');
    const deployment = await startDeployment(config, logger, '127.0.0.1', opts.port ?? 0, { now: opts.now });
    gateway = deployment.directory.defaultShop!.gateway;
    running = deployment;
  } else {
    gateway = await openGateway(config, logger, { now: opts.now });
    running = await startServer(gateway, '127.0.0.1', opts.port ?? 0);
  }
  const doFetch = (path: string, init: RequestInit & { auth?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    const auth = init.auth === undefined ? deviceAuth : init.auth;
    if (auth) headers.set('authorization', auth);
    return fetch(running.url + path, { ...init, headers });
  };
  return {
    url: running.url,
    dataDir: config.store.dataDir,
    dir,
    gateway,
    running,
    logs,
    fetch: doFetch,
    async json(path, init = {}) {
      const headers = new Headers(init.headers);
      let body = init.body as BodyInit | undefined;
      if (init.body !== undefined && typeof init.body !== 'string') {
        body = JSON.stringify(init.body);
        headers.set('content-type', 'application/json');
      }
      const res = await doFetch(path, { ...init, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* keep text */
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async stop() {
      await running.stop(1000);
    },
  };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export const seedInvoices = {
  invoices: [
    {
      total: 6.38,
      id: 201409200100001,
      positions: [
        {
          total: 3.19,
          costPrice: 1.5,
          tax: 0.29,
          posTitle: 'Cheese Burger',
          qty: 1,
          subtotal: 3.99,
          productName: 'Cheese Burger',
          discount: 0.79,
          productId: '18',
        },
        { total: 3.19, costPrice: 1.5, tax: 0.29, posTitle: 'Big Burger', qty: 1, subtotal: 3.99, productName: 'Big Burger', discount: 0.79, productId: '24' },
      ],
      costPrice: 3,
      tax: 0.58,
      givenCash: 6.38,
      returnedCash: 0,
      checkoutType: '0',
      customer: { email: '', address: '', name: '' },
      date: '1411219491162',
      checkoutStatus: '10',
      discount: 1.58,
    },
    {
      total: 4.98,
      id: 201409200100002,
      positions: [
        { total: 2.99, costPrice: 1, tax: 0.271818, posTitle: 'ApplePie', qty: 1, subtotal: 2.99, productName: 'ApplePie', discount: 0, productId: '3' },
        { total: 1.99, costPrice: 1, tax: 0.180909, posTitle: 'Jelly Babie', qty: 1, subtotal: 1.99, productName: 'Jelly Babie', discount: 0, productId: '4' },
      ],
      costPrice: 2,
      tax: 0.45,
      givenCash: 4.98,
      returnedCash: 0,
      checkoutType: '0',
      customer: { email: '', address: '', name: '' },
      date: '1411219536041',
      checkoutStatus: '10',
      discount: 0,
    },
  ],
};

export function invoice(
  id: number | string,
  positions: { productId: string; qty: number | string; total: number | string }[],
  extra: Record<string, unknown> = {},
) {
  return {
    id,
    date: '1763900000000',
    checkoutType: '0',
    checkoutStatus: '10',
    total: positions.every((p) => Decimal.isDecimal(p.total) || !Number.isNaN(Number(p.total)))
      ? positions.reduce((s, p) => s.plus(String(p.total)), new Decimal(0)).toNumber()
      : 0,
    tax: 0,
    discount: 0,
    costPrice: 0,
    givenCash: 0,
    returnedCash: 0,
    customer: { name: '', address: '', email: '' },
    positions: positions.map((p) => ({ productName: p.productId, posTitle: p.productId, subtotal: p.total, tax: 0, discount: 0, costPrice: 0, ...p })),
    ...extra,
  };
}

export interface GatewayUnderTest {
  /** The gateway of the running test (a fresh one per test). */
  gw: TestGateway;
  /** Admin call of the srv4pos-style API. */
  admin(path: string, method?: string, body?: unknown, headers?: Record<string, string>): ReturnType<TestGateway['json']>;
}

/** Starts a fresh gateway before each test of the file and removes it after. */
export function useTestGateway(overrides: Record<string, unknown> = {}): GatewayUnderTest {
  const ctx = {
    admin: (path: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}) =>
      ctx.gw.json(`/api${path}`, { method, body, auth: adminAuth, headers }),
  } as GatewayUnderTest;
  beforeEach(async () => {
    ctx.gw = await startTestGateway(overrides);
  });
  afterEach(async () => {
    await ctx.gw.stop();
    await removeDir(ctx.gw.dir);
  });
  return ctx;
}

/**
 * The test gateways a suite starts: `start` as startTestGateway, `stop` one of them; `cleanup()`
 * (in afterEach) stops the rest, newest first, and removes every dir they used.
 */
export function testGateways() {
  const started: TestGateway[] = [];
  const dirs = new Set<string>();
  return {
    async start(overrides: Record<string, unknown> = {}, dir?: string, port = 0): Promise<TestGateway> {
      const g = await startTestGateway(overrides, dir, { port });
      started.push(g);
      dirs.add(g.dir);
      return g;
    },
    async stop(g: TestGateway): Promise<void> {
      await g.stop();
      started.splice(started.indexOf(g), 1);
    },
    async cleanup(): Promise<void> {
      for (const g of started.splice(0).reverse()) await g.stop().catch(() => undefined);
      for (const d of dirs) await removeDir(d);
      dirs.clear();
    },
  };
}
