// Run by heap-policy.test.ts in a fresh process (a clean heap): prints one JSON line per step.
import { getHeapSpaceStatistics } from 'node:v8';
import { compactHeap, holdYoungGeneration, releaseYoungGeneration, settleAfterLoad, youngGenerationHeld } from '../../src/cli/heap-policy.js';

const space = (name: string) => getHeapSpaceStatistics().find((s) => s.space_name === name)!;
const mb = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;
const report = (step: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(
    `${JSON.stringify({ step, newSpaceMB: mb(space('new_space').space_size), oldSpaceMB: mb(space('old_space').space_size), oldUsedMB: mb(space('old_space').space_used_size), held: youngGenerationHeld(), ...extra })}\n`,
  );

/** Allocation that makes V8 grow the young generation: many objects surviving scavenges for a while. */
function churn(): void {
  let keep: object[] = [];
  for (let i = 0; i < 3_000_000; i++) {
    keep.push({ i, s: `x${i}` });
    if (keep.length > 200_000) keep = [];
  }
}

/** Old space with live objects spread thinly over many pages: two of every three dropped. */
function fragment(): object[] {
  const all: (object | null)[] = [];
  for (let i = 0; i < 600_000; i++) all.push({ i, a: [i, i + 1], s: `y${i}` });
  return all.filter((_, i) => i % 3 === 0) as object[];
}

const mode = process.argv[2];
if (mode === 'young') {
  const flags = process.argv.slice(3);
  holdYoungGeneration(flags);
  report('start');
  churn();
  report('held');
  releaseYoungGeneration();
  churn();
  report('released');
} else if (mode === 'compact') {
  const kept = fragment();
  const gc = (globalThis as { gc?: () => void }).gc!;
  gc();
  gc();
  report('plain');
  compactHeap();
  report('compacted', { kept: kept.length });
} else if (mode === 'settle') {
  holdYoungGeneration([]);
  const kept = fragment();
  report('loaded');
  const { compactMs } = settleAfterLoad([]);
  report('settled', { compactMs, kept: kept.length, exposed: typeof (globalThis as { gc?: unknown }).gc });
}
