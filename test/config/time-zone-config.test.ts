import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tabshop-tz-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const device = { username: 'tablet-1', password: 'pw-1', cashRegister: 'TAB-1' };

function load(config: unknown) {
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return loadConfig({ file, cwd: dir, env: {} });
}

function problems(config: unknown): string[] {
  try {
    load(config);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('config timeZone', () => {
  it('is optional (UTC) and takes an IANA zone, at the top level and per shop', () => {
    expect(load({ devices: [device] }).config.timeZone).toBeUndefined();
    const { config } = load({ devices: [device], timeZone: 'Australia/Sydney', shops: [{ id: 'cafe', timeZone: 'America/Los_Angeles' }] });
    expect(config.timeZone).toBe('Australia/Sydney');
    expect(config.shops?.[0].timeZone).toBe('America/Los_Angeles');
  });

  it('names the key of a zone the runtime does not know, at start', () => {
    expect(problems({ devices: [device], timeZone: 'Mars/Olympus' })).toEqual([
      '/timeZone: must be an IANA time zone such as "Europe/Paris" or "UTC", got "Mars/Olympus"',
    ]);
    expect(
      problems({
        devices: [device],
        shops: [
          { id: 'cafe', timeZone: 'Europe/Pariss' },
          { id: 'deli', timeZone: 'Europe/Paris' },
        ],
      }),
    ).toEqual(['/shops/0/timeZone: must be an IANA time zone such as "Europe/Paris" or "UTC", got "Europe/Pariss"']);
    expect(problems({ devices: [device], timeZone: 11 })).toEqual(['/timeZone: must be string']);
    expect(problems({ devices: [device], timeZone: ' Europe/Paris' })).toEqual([
      '/timeZone: must be an IANA time zone such as "Europe/Paris" or "UTC", got " Europe/Paris"',
    ]);
  });
});
