import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/logger.js';
import { startDeployment } from '../../src/shops/deployment.js';
import type { DirectoryOptions, ShopDirectory } from '../../src/shops/directory.js';
import { ADMIN, DEVICE, DEVICE2, basic } from '../helpers.js';

/** Two shops besides default, each with a device and an admin, and one operator. */
export const CAFE_DEVICE = { username: 'cafe-tablet', password: 'pw-cafe-tablet', cashRegister: 'CAFE-1' };
export const CAFE_ADMIN = { username: 'cafe-admin', password: 'pw-cafe-admin' };
export const BISTRO_DEVICE = { username: 'bistro-tablet', password: 'pw-bistro-tablet', cashRegister: 'CAFE-1' };
export const BISTRO_ADMIN = { username: 'bistro-admin', password: 'pw-bistro-admin' };
export const OPERATOR = { username: 'operator', password: 'pw-operator' };

export const auth = (c: { username: string; password: string }) => basic(c.username, c.password);

export const TWO_SHOPS = {
  shops: [
    { id: 'cafe', name: 'Café', devices: [CAFE_DEVICE], admins: [CAFE_ADMIN] },
    // The same register name as the café's: registers are per shop.
    { id: 'bistro', name: 'Bistro', currency: 'CHF', devices: [BISTRO_DEVICE], admins: [BISTRO_ADMIN] },
  ],
  operators: [OPERATOR],
};

export interface TestDeployment {
  url: string;
  dir: string;
  dataDir: string;
  directory: ShopDirectory;
  logs: string[];
  json(path: string, init?: Omit<RequestInit, 'body'> & { auth?: string | null; body?: unknown }): Promise<{ status: number; body: any; headers: Headers }>;
  stop(): Promise<void>;
}

/** A deployment (the shop directory behind the dispatching app) on an ephemeral 127.0.0.1 port. */
export async function startTestDeployment(
  overrides: Record<string, unknown> = TWO_SHOPS,
  existingDir?: string,
  opts: DirectoryOptions = {},
): Promise<TestDeployment> {
  const dir = existingDir ?? (await mkdtemp(join(tmpdir(), 'tsg-shops-')));
  const configPath = join(dir, 'config.json');
  await writeFile(
    configPath,
    JSON.stringify({ server: { host: '127.0.0.1', port: 0 }, store: { dataDir: './data' }, devices: [DEVICE, DEVICE2], admins: [ADMIN], ...overrides }),
  );
  const { config } = loadConfig({ file: configPath, cwd: dir, env: {} });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _e, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const running = await startDeployment(config, createLogger(config.logLevel, sink), '127.0.0.1', 0, opts);
  return {
    url: running.url,
    dir,
    dataDir: config.store.dataDir,
    directory: running.directory,
    logs,
    async json(path, init = {}) {
      const headers = new Headers(init.headers);
      if (init.auth) headers.set('authorization', init.auth);
      let body = init.body as BodyInit | undefined;
      if (init.body !== undefined && typeof init.body !== 'string') {
        body = JSON.stringify(init.body);
        headers.set('content-type', 'application/json');
      }
      const res = await fetch(running.url + path, { ...init, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* keep text */
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    stop: async () => {
      await running.stop(1000);
    },
  };
}
