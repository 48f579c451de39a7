import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { removeDir } from '../helpers.js';
import { MISSING_POSTGRES, PG_BIN, startPostgres, type PgCluster } from '../postgres.js';
import { startGatewayProcess, type GatewayProcess } from './process.js';

/**
 * For a describe block of gateway processes on a throwaway PostgreSQL cluster: the cluster for
 * the block, config files in temp dirs, processes SIGKILLed and dirs removed after each test.
 */
export function postgresProcesses(afterEachTest: () => Promise<void> = async () => undefined) {
  let cluster: PgCluster | undefined;
  const running: GatewayProcess[] = [];
  const dirs: string[] = [];
  beforeAll(async () => {
    if (!PG_BIN) throw new Error(MISSING_POSTGRES);
    cluster = await startPostgres();
  }, 60_000);
  afterEach(async () => {
    for (const p of running.splice(0)) p.child.kill('SIGKILL');
    for (const d of dirs.splice(0)) await removeDir(d);
    await afterEachTest();
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  return {
    get cluster(): PgCluster {
      return cluster!;
    },
    /** Writes `config` as config.json in a fresh temp dir; its path. */
    async writeConfig(config: unknown): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), 'tsg-pg-e2e-'));
      dirs.push(dir);
      const path = join(dir, 'config.json');
      await writeFile(path, JSON.stringify(config));
      return path;
    },
    async start(configPath: string, env: Record<string, string> = {}): Promise<GatewayProcess> {
      const p = await startGatewayProcess(configPath, env);
      running.push(p);
      return p;
    },
  };
}
