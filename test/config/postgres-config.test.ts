import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { describeDatabase, redactUrl } from '../../src/store/postgres/sql-values.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tabshop-pgconfig-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const devices = [{ username: 'tablet-1', password: 'pw-1', cashRegister: 'TAB-1' }];
const load = (config: unknown, env: NodeJS.ProcessEnv = {}) => {
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return loadConfig({ file, cwd: dir, env }).config;
};
const problems = (config: unknown, env: NodeJS.ProcessEnv = {}) => {
  try {
    load(config, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
};

describe('store.postgres and DATABASE_URL', () => {
  it('lowdb stays the default', () => {
    expect(load({ devices }).store.postgres).toBeUndefined();
  });

  it('selects PostgreSQL with store.postgres.url, pool size defaulted', () => {
    expect(load({ devices, store: { postgres: { url: 'postgres://gw:pw@db:5432/tabshop' } } }).store.postgres).toEqual({
      url: 'postgres://gw:pw@db:5432/tabshop',
      poolSize: 10,
    });
  });

  it('DATABASE_URL beats the file and selects PostgreSQL without one; empty means unset', () => {
    expect(load({ devices }, { DATABASE_URL: 'postgresql://db/tabshop' }).store.postgres).toEqual({ url: 'postgresql://db/tabshop', poolSize: 10 });
    expect(load({ devices, store: { postgres: { url: 'postgres://a/b', poolSize: 3 } } }, { DATABASE_URL: 'postgres://c/d' }).store.postgres).toEqual({
      url: 'postgres://c/d',
      poolSize: 3,
    });
    expect(load({ devices }, { DATABASE_URL: '' }).store.postgres).toBeUndefined();
  });

  it('names every problem: not a postgres URL, unknown key, missing url, bad DATABASE_URL', () => {
    expect(problems({ devices, store: { postgres: { url: 'mysql://db' } } })).toEqual([expect.stringContaining('/store/postgres/url: must match pattern')]);
    expect(problems({ devices, store: { postgres: { url: 'postgres://db', pool: 3 } } })).toEqual(['/store/postgres/pool: unknown key']);
    expect(problems({ devices, store: { postgres: {} } })).toEqual(['/store/postgres/url: is required']);
    expect(problems({ devices }, { DATABASE_URL: 'db.example:5432' })).toEqual(['DATABASE_URL: must be a postgres:// or postgresql:// URL']);
  });

  it("store.postgres.schema: a lower-case identifier, none of PostgreSQL's pg_… nor the spare schemas' names", () => {
    expect(load({ devices, store: { postgres: { url: 'postgres://db/x', schema: 'shop_cafe_nord' } } }).store.postgres?.schema).toBe('shop_cafe_nord');
    for (const schema of ['Shop', 'shop-a', 'pg_shop', 'tabshop_spare_1', 'tabshop_making_1', '1shop'])
      expect(problems({ devices, store: { postgres: { url: 'postgres://db/x', schema } } })).toEqual([expect.stringContaining('/store/postgres/schema')]);
  });

  it('store.postgres.advertiseUrl (or ADVERTISE_URL, which beats it): an http:// origin', () => {
    const pg = { url: 'postgres://db/tabshop', advertiseUrl: 'http://10.0.0.5:8080' };
    expect(load({ devices, store: { postgres: pg } }).store.postgres).toEqual({ ...pg, poolSize: 10 });
    expect(load({ devices, store: { postgres: pg } }, { ADVERTISE_URL: 'http://gw-b.internal' }).store.postgres?.advertiseUrl).toBe('http://gw-b.internal');
    expect(load({ devices }, { DATABASE_URL: 'postgres://db/x', ADVERTISE_URL: 'http://[fd00::5]:8080/' }).store.postgres?.advertiseUrl).toBe(
      'http://[fd00::5]:8080/',
    );
    expect(problems({ devices, store: { postgres: { ...pg, advertiseUrl: 'http://10.0.0.5:8080/api' } } })).toEqual([
      expect.stringContaining('/store/postgres/advertiseUrl: must match pattern'),
    ]);
    expect(problems({ devices }, { ADVERTISE_URL: '10.0.0.5:8080' })).toEqual([
      'ADVERTISE_URL: must be an http:// origin such as http://10.0.0.5:8080 (the gateway speaks plain HTTP)',
    ]);
    expect(problems({ devices, store: { postgres: { ...pg, advertiseUrl: 'https://10.0.0.5' } } })).toEqual([
      expect.stringContaining('/store/postgres/advertiseUrl: must match pattern'),
    ]);
  });

  it('names a database without its password', () => {
    expect(describeDatabase('postgres://gw:s3cret@db.example:6543/tabshop')).toBe('PostgreSQL database "tabshop" on db.example:6543');
    expect(describeDatabase('postgres://gw:s3cret@db.example/tabshop')).toBe('PostgreSQL database "tabshop" on db.example:5432');
    expect(redactUrl('postgres://gw:s3cret@db.example/tabshop')).toBe('postgres://gw:***@db.example/tabshop');
  });
});

describe('naming a database', () => {
  it.each([
    ['postgres://u:p@db:6543/shop', 'PostgreSQL database "shop" on db:6543'],
    ['postgresql://db/shop?sslmode=require', 'PostgreSQL database "shop" on db:5432'],
    ['postgres://u@/shop?host=/run/postgresql', 'PostgreSQL database "shop" on /run/postgresql (socket), port 5432'],
    ['postgres://u:p@[::1]:5433/shop', 'PostgreSQL database "shop" on ::1:5433'],
    ['postgres://gateway@db', 'PostgreSQL database "gateway" on db:5432'],
  ])('%s → %s', (url, name) => {
    expect(describeDatabase(url)).toBe(name);
  });

  it('never shows a password', () => {
    expect(redactUrl('postgres://u:s3cret@db/shop?password=x&sslmode=require')).toBe('postgres://u:***@db/shop?password=***&sslmode=require');
  });
});
