import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ADMIN, DEVICE, removeDir } from '../helpers.js';
import { startGatewayProcess } from '../e2e/process.js';

const LOG_IMPORTS = fileURLToPath(new URL('./fixtures/log-imports.mjs', import.meta.url));

// The pg client and axios cost a lowdb gateway ~7 MB of RSS (docs/performance.md): they are
// loaded only with a PostgreSQL store, by the pg commands, or when something is forwarded (a kitchen
// display on a data dir loads none of its PostgreSQL side either).
describe('a lowdb gateway that forwards nothing', () => {
  it('never loads the pg client nor axios', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsg-lazy-'));
    const configPath = join(dir, 'config.json');
    await writeFile(
      configPath,
      JSON.stringify({ server: { host: '127.0.0.1', port: 0 }, store: { dataDir: './data' }, devices: [DEVICE], admins: [ADMIN], kitchen: {} }),
    );
    const proc = await startGatewayProcess(configPath, { NODE_OPTIONS: `--import ${LOG_IMPORTS}` });
    try {
      const res = await fetch(`${proc.url}/healthz`);
      expect(res.status).toBeLessThan(500);
      const imports = proc
        .output()
        .split('\n')
        .filter((l) => l.startsWith('IMPORT '))
        .map((l) => l.slice(7));
      // The hook works: the gateway's own modules and express are listed.
      expect(imports.some((u) => u.includes('/src/domain/ledger.ts'))).toBe(true);
      expect(imports.some((u) => u.includes('/node_modules/express/'))).toBe(true);
      expect(imports.filter((u) => /\/node_modules\/(pg|pg-[a-z]+|axios)\//.test(u))).toEqual([]);
      expect(imports.filter((u) => u.includes('/src/store/postgres/') && !u.endsWith('/sql-values.ts'))).toEqual([]);
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
      await removeDir(dir);
    }
  }, 30_000);
});
