import { afterAll, beforeAll } from 'vitest';
import { MISSING_POSTGRES, PG_BIN, startPostgres, type PgCluster } from './postgres.js';

/**
 * For a describe block that needs a throwaway PostgreSQL cluster: started before its tests (a
 * machine without PostgreSQL fails them, naming what to install), stopped after them.
 */
export function usePostgresCluster(): { readonly cluster: PgCluster } {
  let cluster: PgCluster | undefined;
  beforeAll(async () => {
    if (!PG_BIN) throw new Error(MISSING_POSTGRES);
    cluster = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  return {
    get cluster(): PgCluster {
      return cluster!;
    },
  };
}
