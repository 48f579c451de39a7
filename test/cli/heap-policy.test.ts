import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { userNodeFlags } from '../../src/cli/heap-policy.js';

const CHILD = fileURLToPath(new URL('./heap-policy-child.ts', import.meta.url));

interface Step {
  step: string;
  newSpaceMB: number;
  oldSpaceMB: number;
  oldUsedMB: number;
  held: boolean;
  compactMs?: number;
  exposed?: string;
}

/** Runs the child script in a fresh node (a heap of its own) and returns its steps by name. */
function run(nodeArgs: string[], args: string[]): Record<string, Step> {
  const out = execFileSync(process.execPath, [...nodeArgs, '--import', 'tsx', CHILD, ...args], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((line) => {
        const s = JSON.parse(line) as Step;
        return [s.step, s];
      }),
  );
}

describe('start-up heap policy (src/cli/heap-policy.ts)', () => {
  it('reads node options from the command line and NODE_OPTIONS', () => {
    expect(userNodeFlags(['--inspect'], ' --semi_space_growth_factor=3  --max-old-space-size=100 ')).toEqual([
      '--inspect',
      '--semi_space_growth_factor=3',
      '--max-old-space-size=100',
    ]);
    expect(userNodeFlags([], '')).toEqual([]);
  });

  it('holds the young generation at its size while held, and lets V8 grow it once released', () => {
    const s = run([], ['young']);
    expect(s.start.held).toBe(true);
    expect(s.held.newSpaceMB).toBe(s.start.newSpaceMB);
    expect(s.released.held).toBe(false);
    expect(s.released.newSpaceMB).toBeGreaterThan(s.held.newSpaceMB);
  }, 30_000);

  it('leaves the young generation alone when the user sets its growth factor', () => {
    for (const flag of ['--semi-space-growth-factor=2', '--semi_space_growth_factor=2']) {
      const s = run([], ['young', flag]);
      expect(s.start.held).toBe(false);
    }
    // …and the same churn grows it when nothing holds it (what the first test prevents).
    expect(run([], ['young', '--semi-space-growth-factor=2']).held.newSpaceMB).toBeGreaterThan(run([], ['young']).held.newSpaceMB);
  }, 60_000);

  it('compacts an old space full of holes that a plain full collection leaves as it is', () => {
    const s = run(['--expose-gc'], ['compact']);
    // Same live data…
    expect(Math.abs(s.compacted.oldUsedMB - s.plain.oldUsedMB)).toBeLessThan(2);
    // …on far fewer pages: a third of the objects were kept, spread over every page.
    expect(s.plain.oldSpaceMB - s.plain.oldUsedMB).toBeGreaterThan(10);
    expect(s.compacted.oldSpaceMB).toBeLessThan(s.plain.oldSpaceMB - 10);
    expect(s.compacted.oldSpaceMB - s.compacted.oldUsedMB).toBeLessThan(3);
  }, 30_000);

  it('after the load: compacts, releases the young generation, and does not leave gc() on the global object', () => {
    const s = run([], ['settle']);
    expect(s.loaded.held).toBe(true);
    expect(s.settled.held).toBe(false);
    expect(s.settled.exposed).toBe('undefined');
    expect(s.settled.oldSpaceMB).toBeLessThan(s.loaded.oldSpaceMB - 20);
    expect(s.settled.oldSpaceMB - s.settled.oldUsedMB).toBeLessThan(3);
    expect(s.settled.compactMs).toBeGreaterThanOrEqual(0);
  }, 30_000);
});
