import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./fixtures/shop-memory.ts', import.meta.url));

// A deployment keeps up to ops.shopsOpenMax shops open (docs/performance.md, "Many shops: memory"):
// what each open shop holds is multiplied by a hundred.
describe('what one open shop costs', () => {
  it("builds its app's API routes on the first API request, not when the shop opens", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', FIXTURE], {
      env: { ...process.env, NODE_ENV: 'production', DATABASE_URL: '' },
    });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { appKB: number; pushed: number; stored: string | null };
    expect(result.pushed).toBe(200);
    // ~80 KB an app with its API routes not yet built (~225 KB with them).
    expect(result.appKB).toBeLessThan(150);
    expect(result.stored).toBe('TAB-1:40');
  }, 60_000);
});
