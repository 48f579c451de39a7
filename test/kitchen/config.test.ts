import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, EXAMPLE_CONFIG_PATH, loadConfig } from '../../src/config/load.js';

async function load(data: unknown, env: NodeJS.ProcessEnv = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'tsg-kitchen-config-'));
  await writeFile(join(dir, 'config.json'), JSON.stringify(data));
  return loadConfig({ file: 'config.json', cwd: dir, env });
}

const problemsOf = async (data: unknown, env: NodeJS.ProcessEnv = {}) => {
  try {
    await load(data, env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

const minimal = { devices: [{ username: 't', password: 'p', cashRegister: 'R' }] };

describe('kitchen config', () => {
  it('is off by default; present, it gets its defaults', async () => {
    expect((await load(minimal)).config.kitchen).toBeUndefined();
    expect((await load({ ...minimal, kitchen: {} })).config.kitchen).toEqual({ host: '0.0.0.0', port: 8090, ratePerSecond: 10, recall: 20, accounts: [] });
  });

  it('the example config enables it on 8090 with a demo kitchen account', () => {
    const { config, isDemo } = loadConfig({ file: EXAMPLE_CONFIG_PATH, cwd: tmpdir(), env: {} });
    expect(config.kitchen).toMatchObject({ port: 8090, accounts: [{ username: 'kitchen', password: 'demo-kitchen' }] });
    expect(isDemo).toBe(true);
  });

  it('KITCHEN_PORT and KITCHEN_HOST override the file; KITCHEN_PORT=off turns the listener off', async () => {
    expect((await load({ ...minimal, kitchen: {} }, { KITCHEN_PORT: '0', KITCHEN_HOST: '192.168.1.10' })).config.kitchen).toMatchObject({
      port: 0,
      host: '192.168.1.10',
    });
    expect((await load({ ...minimal, kitchen: {} }, { KITCHEN_PORT: 'off' })).config.kitchen?.port).toBeNull();
    expect((await load(minimal, { KITCHEN_PORT: '9000' })).config.kitchen).toBeUndefined();
    expect(await problemsOf(minimal, { KITCHEN_PORT: 'kitchen' })).toEqual(['KITCHEN_PORT: must be an integer 0-65535 or "off"']);
  });

  it('names bad values: allow entries, rate, unknown keys, kitchen accounts', async () => {
    expect(
      await problemsOf({
        ...minimal,
        kitchen: {
          allow: ['192.168.1.0/24', 'tablet.local', '10.0.0.0/40'],
          ratePerSecond: 0,
          colour: 'red',
          accounts: [{ username: 't', password: 'x' }, { username: 'k' }],
        },
      }),
    ).toEqual([
      '/kitchen/colour: unknown key',
      '/kitchen/ratePerSecond: must be > 0',
      '/kitchen/accounts/1: give exactly one of password or passwordHash',
      '/kitchen/accounts/0/username: duplicate username "t"',
      '/kitchen/allow/1: must be an IP address or a CIDR subnet such as "192.168.1.0/24"',
      '/kitchen/allow/2: the prefix length must be 0-32',
    ]);
  });
});
