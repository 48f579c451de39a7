import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, EXAMPLE_CONFIG_PATH, loadConfig } from '../../src/config/load.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tabshop-ops-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const minimal = { devices: [{ username: 'tablet-1', password: 'pw-1', cashRegister: 'TAB-1' }] };

function load(config: unknown, env: NodeJS.ProcessEnv = {}) {
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return loadConfig({ file, cwd: dir, env });
}

function problems(config: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    load(config, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('ops and proxy settings', () => {
  it('accepts readiness thresholds and trustProxy in its Express forms', () => {
    const { config } = load({ ...minimal, ops: { outboxMaxAgeSeconds: 60, diskLowFreeMiB: 256, diskLowFreePercent: 2.5 } });
    expect(config.ops).toMatchObject({ outboxMaxAgeSeconds: 60, diskLowFreeMiB: 256, diskLowFreePercent: 2.5 });
    for (const trustProxy of [true, false, 1, 'loopback', '10.0.0.2, 10.0.0.3']) {
      expect(load({ ...minimal, server: { trustProxy } }).config.server.trustProxy).toEqual(trustProxy);
    }
  });

  it('names a bad trustProxy or threshold in one line each', () => {
    expect(problems({ ...minimal, server: { trustProxy: [] } })).toEqual([
      '/server/trustProxy: must be true, false, a number of proxy hops, or addresses/subnets such as "loopback"',
    ]);
    expect(problems({ ...minimal, ops: { outboxMaxAgeSeconds: 0, diskLowFreePercent: 101 } })).toEqual([
      '/ops/outboxMaxAgeSeconds: must be >= 1',
      '/ops/diskLowFreePercent: must be <= 100',
    ]);
  });
});

describe('ALLOW_DEMO_CREDENTIALS', () => {
  it.each([
    ['true', true],
    ['1', true],
    ['YES', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('%s → %s', (value, flag) => {
    const { config, isDemo } = loadConfig({ file: EXAMPLE_CONFIG_PATH, cwd: dir, env: { ALLOW_DEMO_CREDENTIALS: value } });
    expect(isDemo).toBe(true);
    expect(config.ops.allowDemoCredentials).toBe(flag);
  });

  it('beats the file, and an unknown word is a problem', () => {
    expect(load({ ...minimal, ops: { allowDemoCredentials: true } }, { ALLOW_DEMO_CREDENTIALS: 'false' }).config.ops.allowDemoCredentials).toBe(false);
    expect(problems(minimal, { ALLOW_DEMO_CREDENTIALS: 'maybe' })).toEqual(['ALLOW_DEMO_CREDENTIALS: must be true or false (1/0, yes/no also work)']);
  });
});
