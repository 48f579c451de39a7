import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, DEMO_PASSWORDS, EXAMPLE_CONFIG_PATH, loadConfig } from '../../src/config/load.js';
import { hashPassword } from '../../src/config/password.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tabshop-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const device = { username: 'tablet-1', password: 'pw-1', cashRegister: 'TAB-1' };
const minimal = { devices: [device] };

function writeConfig(content: unknown, name = 'config.json'): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

const load = (config: unknown, env: NodeJS.ProcessEnv = {}) => loadConfig({ file: writeConfig(config), cwd: dir, env });
const problems = (config: unknown, env: NodeJS.ProcessEnv = {}) => problemsOf(() => load(config, env));

const OPS_DEFAULTS = {
  metricsRequireAdmin: false,
  allowDemoCredentials: false,
  statusPage: true,
  outboxMaxAgeSeconds: 900,
  diskLowFreeMiB: 1024,
  diskLowFreePercent: 5,
};

describe('loadConfig: defaults', () => {
  it('fills every default around the required devices', () => {
    const { config, configPath, isDemo } = load(minimal);
    expect(configPath).toBe(join(dir, 'config.json'));
    expect(isDemo).toBe(false);
    expect(config).toEqual({
      server: { host: '0.0.0.0', port: 8080, bodyLimit: '10mb', trustProxy: false },
      tabshop: { basePath: '/', legacy: false, maxInvoicesPerPush: 5000 },
      api: { basePath: '/api' },
      store: { dataDir: join(dir, 'data'), seedDemo: false },
      currency: 'EUR',
      logLevel: 'info',
      devices: [device],
      admins: [],
      webhooks: [],
      admin: { sessionIdleMinutes: 720 },
      ops: { ...OPS_DEFAULTS },
    });
    expect(config.upstream).toBeUndefined();
  });

  it('fills upstream defaults when upstream is given', () => {
    const { config } = load({ ...minimal, upstream: { baseUrl: 'http://127.0.0.1:9090/api' } });
    expect(config.upstream).toEqual({
      baseUrl: 'http://127.0.0.1:9090/api',
      timeoutMs: 10000,
      pollIntervalMs: 30000,
      breakerFailures: 5,
      breakerCooldownMs: 30000,
      retryCapMs: 30000,
    });
  });

  it('accepts the full example of DESIGN §3', () => {
    const { config } = load({
      server: { host: '0.0.0.0', port: 8080, bodyLimit: '512kb' },
      tabshop: { basePath: '/', legacy: true },
      api: { basePath: '/api' },
      store: { dataDir: './data', seedDemo: false },
      currency: 'SEK',
      logLevel: 'debug',
      devices: [device],
      admins: [{ username: 'admin', password: 'change-me' }],
      upstream: { baseUrl: 'https://up.example/api', username: 'u', password: 'p', apiKey: 'k', timeoutMs: 5 },
      webhooks: [{ url: 'http://127.0.0.1:9999/hook', secret: 's', events: ['sale.created'] }],
      ops: { metricsRequireAdmin: true },
    });
    expect(config.upstream?.timeoutMs).toBe(5);
    expect(config.upstream?.pollIntervalMs).toBe(30000);
    expect(config.ops).toEqual({ ...OPS_DEFAULTS, metricsRequireAdmin: true });
    expect(config.logLevel).toBe('debug');
  });

  it('accepts a passwordHash instead of a password', async () => {
    const passwordHash = await hashPassword('secret');
    const { config } = load({
      devices: [{ username: 't', passwordHash, cashRegister: 'R' }],
      admins: [{ username: 'a', passwordHash }],
    });
    expect(config.devices[0].passwordHash).toBe(passwordHash);
    expect(config.devices[0].password).toBeUndefined();
  });
});

describe('loadConfig: choosing the file', () => {
  it('uses ./config.json of cwd when no file is given', () => {
    writeConfig(minimal);
    const { configPath, config } = loadConfig({ cwd: dir, env: {} });
    expect(configPath).toBe(join(dir, 'config.json'));
    expect(config.devices[0].username).toBe('tablet-1');
  });

  it('falls back to the package example, which is valid and a demo', () => {
    const { config, configPath, isDemo } = loadConfig({ cwd: dir, env: {} });
    expect(configPath).toBe(EXAMPLE_CONFIG_PATH);
    expect(isDemo).toBe(true);
    expect(config.store).toEqual({ dataDir: join(dir, 'data'), seedDemo: true });
    expect(config.server.host).toBe('127.0.0.1');
    expect(config.devices.map((d) => d.cashRegister)).toEqual(['TAB-1', 'TAB-2']);
    expect(config).not.toHaveProperty('$schema');
  });

  it('lists exactly the plain passwords of the example as DEMO_PASSWORDS', () => {
    const example = JSON.parse(readFileSync(EXAMPLE_CONFIG_PATH, 'utf8'));
    const passwords = [...example.devices, ...example.admins, ...example.kitchen.accounts].map((c: { password: string }) => c.password);
    expect([...DEMO_PASSWORDS].sort()).toEqual(passwords.sort());
  });

  it('marks a copied config that keeps a demo password as a demo', () => {
    expect(load({ devices: [{ ...device, password: 'demo-tablet-2' }] }).isDemo).toBe(true);
    expect(load({ ...minimal, admins: [{ username: 'admin', password: 'demo-admin' }] }).isDemo).toBe(true);
  });

  it('resolves a relative --config against cwd', () => {
    mkdirSync(join(dir, 'etc'));
    writeConfig(minimal, 'etc/gw.json');
    const { configPath } = loadConfig({ file: 'etc/gw.json', cwd: dir, env: {} });
    expect(configPath).toBe(join(dir, 'etc', 'gw.json'));
  });
});

describe('loadConfig: data dir', () => {
  it('resolves store.dataDir relative to the config file, not cwd', () => {
    mkdirSync(join(dir, 'etc'));
    writeConfig({ ...minimal, store: { dataDir: '../var/db' } }, 'etc/gw.json');
    const { config } = loadConfig({ file: join(dir, 'etc', 'gw.json'), cwd: '/', env: {} });
    expect(config.store.dataDir).toBe(join(dir, 'var', 'db'));
  });

  it('keeps an absolute dataDir', () => {
    expect(load({ ...minimal, store: { dataDir: '/srv/tabshop' } }).config.store.dataDir).toBe('/srv/tabshop');
  });
});

describe('loadConfig: environment overrides', () => {
  it('lets PORT, HOST, DATA_DIR and LOG_LEVEL beat the file', () => {
    const file = { ...minimal, server: { port: 1234, host: '10.0.0.1' }, store: { dataDir: './x' }, logLevel: 'warn' };
    const { config } = load(file, { PORT: '9999', HOST: '::', DATA_DIR: 'state/db', LOG_LEVEL: 'trace' });
    expect(config.server.port).toBe(9999);
    expect(config.server.host).toBe('::');
    expect(config.store.dataDir).toBe(join(dir, 'state', 'db'));
    expect(config.logLevel).toBe('trace');
  });

  it('resolves DATA_DIR against cwd, not the config folder', () => {
    mkdirSync(join(dir, 'etc'));
    writeConfig(minimal, 'etc/gw.json');
    const cwd = join(dir, 'work');
    const { config } = loadConfig({ file: join(dir, 'etc', 'gw.json'), cwd, env: { DATA_DIR: 'db' } });
    expect(config.store.dataDir).toBe(join(cwd, 'db'));
  });

  it('accepts PORT=0 and ignores empty variables', () => {
    expect(load(minimal, { PORT: '0' }).config.server.port).toBe(0);
    expect(load(minimal, { PORT: '', HOST: '' }).config.server).toMatchObject({ port: 8080, host: '0.0.0.0' });
  });

  it.each(['abc', '-1', '65536', '80.5', ' 80', '1e3'])('rejects PORT=%j', (PORT) => {
    expect(problems(minimal, { PORT })).toEqual(['PORT: must be an integer 0-65535']);
  });

  it('rejects an unknown LOG_LEVEL', () => {
    expect(problems(minimal, { LOG_LEVEL: 'verbose' })).toEqual(['LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent']);
  });
});

describe('loadConfig: problems, one line each', () => {
  it('names a missing file', () => {
    const path = join(dir, 'nope.json');
    expect(problemsOf(() => loadConfig({ file: path, cwd: dir, env: {} }))).toEqual([`config file not found: ${path}`]);
  });

  it('names the file and the parser message for invalid JSON', () => {
    const [line, ...rest] = problems('{ "devices": [ }');
    expect(rest).toEqual([]);
    expect(line).toMatch(new RegExp(`^${join(dir, 'config.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: invalid JSON: \\S`));
    expect(line).not.toContain('\n');
  });

  it('does not echo file content (secrets) in a JSON error, but names line and column', () => {
    const [line] = problems('{\n  "devices": [{ "username": "a", "password": "hunter2" ]\n}');
    expect(line).not.toContain('hunter2');
    expect(line).toMatch(/line 2 column \d+/);
  });

  it('reads a file that starts with a byte-order mark', () => {
    expect(load('\uFEFF' + JSON.stringify(minimal)).config.devices).toEqual([device]);
  });

  it('gives the JSON path of a wrong type', () => {
    expect(problems({ devices: [{ ...device, cashRegister: 7 }] })).toEqual(['/devices/0/cashRegister: must be string']);
  });

  it('names an unknown key by its own path', () => {
    expect(problems({ ...minimal, devicez: [] })).toEqual(['/devicez: unknown key']);
    expect(problems({ ...minimal, server: { prot: 80 } })).toEqual(['/server/prot: unknown key']);
    expect(problems({ devices: [{ ...device, passwrd: 'x' }] })).toEqual(['/devices/0/passwrd: unknown key']);
  });

  it('names a missing required property by its path', () => {
    expect(problems({})).toEqual(['/devices: is required']);
    expect(problems({ devices: [{ username: 'a', password: 'b' }] })).toEqual(['/devices/0/cashRegister: is required']);
    expect(problems({ ...minimal, upstream: {} })).toEqual(['/upstream/baseUrl: is required']);
    expect(problems({ ...minimal, webhooks: [{ url: 'http://x/hook' }] })).toEqual(['/webhooks/0/secret: is required']);
  });

  it('asks for exactly one of password or passwordHash', async () => {
    const passwordHash = await hashPassword('x');
    const expected = ['/devices/0: give exactly one of password or passwordHash'];
    expect(problems({ devices: [{ username: 'a', cashRegister: 'R' }] })).toEqual(expected);
    expect(problems({ devices: [{ ...device, passwordHash }] })).toEqual(expected);
    expect(problems({ ...minimal, admins: [{ username: 'admin' }] })).toEqual(['/admins/0: give exactly one of password or passwordHash']);
  });

  it('rejects a mistyped passwordHash', async () => {
    const typo = (await hashPassword('x')).replace('scrypt$', 'scrpyt$');
    expect(problems({ devices: [{ username: 'a', passwordHash: typo, cashRegister: 'R' }] })).toEqual([
      '/devices/0/passwordHash: must be a scrypt hash as printed by "tabshop-gateway hash-password"',
    ]);
    const badCost = (await hashPassword('x')).replace('$16384$', '$1000$');
    expect(problems({ devices: [{ username: 'a', passwordHash: badCost, cashRegister: 'R' }] })).toEqual([
      '/devices/0/passwordHash: must be a scrypt hash as printed by "tabshop-gateway hash-password"',
    ]);
  });

  it('rejects a username shared by devices and admins', () => {
    expect(problems({ ...minimal, admins: [{ username: 'tablet-1', password: 'x' }] })).toEqual(['/admins/0/username: duplicate username "tablet-1"']);
    expect(problems({ devices: [device, { ...device, cashRegister: 'TAB-2' }] })).toEqual(['/devices/1/username: duplicate username "tablet-1"']);
  });

  it('checks values: port range, cash register, currency, base paths, sizes, URLs, events', () => {
    expect(problems({ ...minimal, server: { port: 70000 } })).toEqual(['/server/port: must be <= 65535']);
    expect(problems({ ...minimal, server: { port: 80.5 } })).toEqual(['/server/port: must be integer']);
    expect(problems({ devices: [{ ...device, cashRegister: 'TAB 1' }] })).toEqual(['/devices/0/cashRegister: must match pattern "^[A-Za-z0-9_.-]{1,64}$"']);
    expect(problems({ ...minimal, currency: 'eur' })).toEqual(['/currency: must be an ISO 4217 code (three uppercase letters, e.g. "EUR")']);
    expect(problems({ ...minimal, tabshop: { basePath: 'pos' } })).toEqual(['/tabshop/basePath: must start with "/" and contain no whitespace, "?" or "#"']);
    expect(problems({ ...minimal, server: { bodyLimit: 'lots' } })).toEqual(['/server/bodyLimit: must be a size like "512kb" or "10mb"']);
    expect(problems({ ...minimal, upstream: { baseUrl: 'ftp://host/api' } })).toEqual(['/upstream/baseUrl: must be an http:// or https:// URL']);
    expect(problems({ ...minimal, webhooks: [{ url: 'http://x/h', secret: 's', events: ['sale.deleted'] }] })).toEqual([
      '/webhooks/0/events/0: must be one of: "sale.created", "sale.reversed", "sale.updated", "kitchen.order", "quarantine.added"',
    ]);
    expect(problems({ devices: [] })).toEqual(['/devices: must NOT have fewer than 1 items']);
    expect(problems({ ...minimal, logLevel: 'loud' })).toEqual(['/logLevel: must be one of: "fatal", "error", "warn", "info", "debug", "trace", "silent"']);
    expect(problems([])).toEqual(['(root): must be object']);
  });

  it('reports every problem at once, file and environment', () => {
    expect(problems({ devicez: 1, devices: [{ username: 'a', password: 'b', cashRegister: 1 }] }, { PORT: 'x' })).toEqual([
      '/devicez: unknown key',
      '/devices/0/cashRegister: must be string',
      'PORT: must be an integer 0-65535',
    ]);
  });

  it('puts the problems in the error message without a stack of causes', () => {
    try {
      load({});
    } catch (err) {
      expect((err as Error).message).toBe('/devices: is required');
      return;
    }
    throw new Error('expected a ConfigError');
  });
});
