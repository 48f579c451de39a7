/**
 * Live heap while a gateway only takes pushes (in-process, lowdb, commit rounds of 32):
 * `node --expose-gc --import tsx bench/push-memory.ts` (STEPS of 20,000 one-invoice pushes, default 6;
 * IDLE_MS between steps, default 0). The heap after a forced GC must stay flat as sales are added
 * beyond the per-sale index (docs/performance.md, "Memory while taking pushes").
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inProcessPusher, openInProcess } from './lib/in-process.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc --import tsx bench/push-memory.ts');
const root = await mkdtemp(join(tmpdir(), 'push-memory-'));
const g = await openInProcess(root);
const push = inProcessPusher(g);
const STEP = 20_000;
for (let step = 0; step < Number(process.env.STEPS ?? 6); step++) {
  await push(STEP, step * STEP);
  await new Promise((r) => setTimeout(r, Number(process.env.IDLE_MS ?? 0)));
  gc();
  gc();
  const m = process.memoryUsage();
  console.log(
    `${(step + 1) * STEP} sales: heapUsed ${(m.heapUsed / 2 ** 20).toFixed(1)} MB, rss ${(m.rss / 2 ** 20).toFixed(0)} MB, external ${(m.external / 2 ** 20).toFixed(1)} MB, arrayBuffers ${(m.arrayBuffers / 2 ** 20).toFixed(1)} MB`,
  );
}
await g.close();
await rm(root, { recursive: true, force: true });
