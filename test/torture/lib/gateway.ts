import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGatewayProcess, type CliBuild, type GatewayProcess } from '../../e2e/process.js';

/** The torture runs' tablets: one device credential and cash register each. */
export const TABLETS = Array.from({ length: 4 }, (_, i) => ({ username: `tablet-${i + 1}`, password: `pw-tablet-${i + 1}`, cashRegister: `TAB-${i + 1}` }));
export const TORTURE_ADMIN = { username: 'admin', password: 'pw-admin' };

export const basicAuth = (u: { username: string; password: string }) => `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}`;
export const adminAuthHeader = basicAuth(TORTURE_ADMIN);

/** Products of the torture catalogue: tracked (a level is set), untracked, and a tracked voucher (never moves stock). */
export const PRODUCTS = {
  tracked: ['P1', 'P2', 'P3', 'P4'],
  untracked: ['P5'],
  voucher: 'V1',
  unknown: 'NOPE-404',
};
export const START_LEVEL = 1_000_000;

export interface TortureDir {
  dir: string;
  configPath: string;
  remove(): Promise<void>;
}

/** A temp folder with a config: 127.0.0.1, port 0, the four tablets and the admin. */
export async function tortureDir(prefix = 'tsg-torture-', overrides: Record<string, unknown> = {}): Promise<TortureDir> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const configPath = join(dir, 'config.json');
  await writeFile(
    configPath,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0 },
      store: { dataDir: './data' },
      devices: TABLETS,
      admins: [TORTURE_ADMIN],
      ...overrides,
    }),
  );
  return { dir, configPath, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface RunningGateway extends GatewayProcess {
  host: string;
  port: number;
  /** Whether the process is still running. */
  alive(): boolean;
}

/** Every gateway process started here and still running, so a watchdog can end them (by pid). */
const running = new Set<RunningGateway>();

/** SIGKILLs every gateway this process started that is still running (the torture watchdog). */
export function killStartedGateways(): void {
  for (const gw of running) gw.child.kill('SIGKILL');
}

export async function startGateway(configPath: string, build: CliBuild): Promise<RunningGateway> {
  const proc = await startGatewayProcess(configPath, {}, build);
  const u = new URL(proc.url);
  let alive = true;
  void proc.exited.then(() => {
    alive = false;
    running.delete(gw);
  });
  const gw: RunningGateway = { ...proc, host: u.hostname, port: Number(u.port), alive: () => alive };
  if (alive) running.add(gw);
  return gw;
}

/** SIGKILL and wait for the exit. */
export async function kill(gw: RunningGateway): Promise<void> {
  if (gw.alive()) gw.child.kill('SIGKILL');
  await gw.exited;
}

/** SIGTERM (graceful stop), then SIGKILL after 15 s. */
export async function stop(gw: RunningGateway): Promise<number | null> {
  if (!gw.alive()) return gw.exited;
  gw.child.kill('SIGTERM');
  const timer = setTimeout(() => gw.child.kill('SIGKILL'), 15_000);
  const code = await gw.exited;
  clearTimeout(timer);
  return code;
}

/** An admin call of the srv4pos-style API; the body is parsed as JSON. */
export async function api(url: string, path: string, method = 'GET', body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/api${path}`, {
    method,
    headers: { authorization: adminAuthHeader, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* keep the text */
  }
  return { status: res.status, body: parsed };
}

async function mustApi(url: string, path: string, method: string, body?: unknown): Promise<any> {
  const r = await api(url, path, method, body);
  if (r.status >= 300) throw new Error(`${method} /api${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** The torture catalogue: one tax, tracked products with START_LEVEL, an untracked one, a tracked voucher. */
export async function seedCatalogue(url: string): Promise<void> {
  await mustApi(url, '/taxes/1', 'PUT', { name: 'VAT', vat: 10 });
  for (const id of [...PRODUCTS.tracked, ...PRODUCTS.untracked]) await mustApi(url, `/products/${id}`, 'PUT', { name: `Product ${id}`, price: 2.5, tax: '1' });
  await mustApi(url, `/products/${PRODUCTS.voucher}`, 'PUT', { name: 'Voucher', price: 10, tax: '1', attribute: 16 });
  for (const id of [...PRODUCTS.tracked, PRODUCTS.voucher]) await mustApi(url, `/stock/${id}`, 'PUT', { quantity: START_LEVEL });
}

/** Every stored sale, read through `GET /api/sales` page by page (1,000 a page). */
export async function allSales(url: string): Promise<{ items: any[]; total: number }> {
  const items: any[] = [];
  let total = 0;
  for (let first = 0; ; first += 1000) {
    const page = await mustApi(url, `/sales?firstResult=${first}&maxResults=1000`, 'GET');
    total = page.total;
    items.push(...page.items);
    if (page.items.length < 1000) break;
  }
  return { items, total };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What the SIGKILL cycles run against: one gateway process on a lowdb data dir, or several
 * processes sharing a PostgreSQL database. Tablets spread over `urls()`.
 */
export interface Deployment {
  readonly name: string;
  start(): Promise<void>;
  urls(): string[];
  /** SIGKILLs one process mid-load (several processes: any one, at random). */
  killOne(): Promise<void>;
  /** Which of urls() the last killOne killed. */
  killedIndex(): number;
  /** Starts again what killOne killed. */
  restartKilled(): Promise<void>;
  /** Graceful stop of every process; their exit codes. */
  stop(): Promise<(number | null)[]>;
  killAll(): Promise<void>;
}

export function singleProcess(configPath: string, build: CliBuild): Deployment {
  let gw: RunningGateway | undefined;
  return {
    name: 'one process',
    async start() {
      gw = await startGateway(configPath, build);
    },
    urls: () => [gw!.url],
    async killOne() {
      await kill(gw!);
    },
    killedIndex: () => 0,
    async restartKilled() {
      gw = await startGateway(configPath, build);
    },
    async stop() {
      return [await stop(gw!)];
    },
    async killAll() {
      if (gw) await kill(gw);
    },
  };
}

/**
 * `count` processes on one PostgreSQL database (today one leads and the others forward to it; with
 * equal processes every one serves). killOne SIGKILLs any one of them, chosen with `rnd`.
 */
export function processesOnPostgres(configPath: string, build: CliBuild, count: number, rnd: () => number): Deployment {
  const procs: RunningGateway[] = [];
  let killed = -1;
  /** Indexes, those that say they lead last (a stopping leader would hand the lead to the others). */
  const stopOrder = async () => {
    const roles = await Promise.all(
      procs.map((p) =>
        fetch(`${p.url}/healthz`)
          .then((r) => r.json())
          .then(
            (h: { role?: string }) => h.role,
            () => 'down',
          ),
      ),
    );
    return procs.map((_, i) => i).sort((a, b) => Number(roles[a] === 'leader') - Number(roles[b] === 'leader'));
  };
  return {
    name: `${count} processes on PostgreSQL`,
    async start() {
      procs.splice(0);
      for (let i = 0; i < count; i++) procs.push(await startGateway(configPath, build));
    },
    urls: () => procs.map((p) => p.url),
    async killOne() {
      killed = Math.floor(rnd() * procs.length);
      await kill(procs[killed]);
    },
    killedIndex: () => killed,
    async restartKilled() {
      procs[killed] = await startGateway(configPath, build);
      // Until the others have taken over what the killed one held, answers may be 503.
      for (
        let i = 0;
        i < 200
        && (await fetch(`${procs[killed].url}/readyz`).then(
          (r) => r.status,
          () => 0,
        )) !== 200;
        i++
      )
        await sleep(50);
    },
    async stop() {
      const codes: (number | null)[] = [];
      for (const i of await stopOrder()) codes.push(await stop(procs[i]));
      return codes;
    },
    async killAll() {
      await Promise.all(procs.map((p) => kill(p)));
    },
  };
}
