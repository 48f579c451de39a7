import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMigrations } from '../../src/store/postgres/migrate.js';
import { removeDir } from '../helpers.js';
import { queryRows, skipPostgres } from '../postgres.js';
import { usePostgresCluster } from '../postgres-suite.js';
import { runCli } from './run-cli.js';

const LATEST = loadMigrations().at(-1)!.version;
const pg = usePostgresCluster();

describe.skipIf(skipPostgres)('tabshop-gateway migrate in a schema', { timeout: 120_000 }, () => {
  it("--schema (or the config's store.postgres.schema) migrates that schema, made if missing; a dry run makes nothing", async () => {
    const url = await pg.cluster.createDatabase();
    const dry = await runCli(['migrate', '--url', url, '--schema', 'shop_a', '--dry-run']).done;
    expect(dry.code).toBe(1);
    expect(dry.stderr).toContain('schema shop_a does not exist');
    expect(await queryRows(url, "SELECT nspname FROM pg_namespace WHERE nspname = 'shop_a'")).toEqual([]);

    const first = await runCli(['migrate', '--url', url, '--schema', 'shop_a']).done;
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain(`, schema shop_a: schema version 0 → ${LATEST}`);
    expect(await queryRows(url, 'SELECT max(version) AS v FROM shop_a.schema_migrations')).toEqual([{ v: LATEST }]);
    expect(await queryRows(url, "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'")).toEqual([{ n: 0 }]);

    const dir = await mkdtemp(join(tmpdir(), 'tsg-migrate-schema-'));
    try {
      const config = join(dir, 'config.json');
      await writeFile(
        config,
        JSON.stringify({ store: { postgres: { url, schema: 'shop_a' } }, devices: [{ username: 't', password: 'pw-tablet-1', cashRegister: 'TAB-1' }] }),
      );
      const again = await runCli(['migrate', '--config', config, '--json']).done;
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ schema: 'shop_a', from: LATEST, to: LATEST, applied: [], pending: [] });
    } finally {
      await removeDir(dir);
    }
  });
});
