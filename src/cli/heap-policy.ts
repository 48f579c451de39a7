import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * How the serve process treats the V8 heap around start-up (docs/performance.md, "Start-up heap").
 *
 * Loading a data dir parses every sale chunk: hundreds of MB of short-lived objects. Left alone,
 * V8 grows the young generation to its maximum (2 × 16 MB, resident for good) and the old space
 * ends up full of holes (garbage promoted while the load ran, between what stays live), so the
 * process keeps ~60 MB it does not use. Around the load the gateway therefore
 *  1. keeps the young generation at its current size (V8's growth factor 1 until the load is done),
 *  2. then runs one full, compacting collection (live objects moved together, empty pages freed),
 *  3. and gives the young generation back its usual growth: under traffic V8 grows it as before,
 *     so serving costs what it cost (measured: a young generation held small for good costs the
 *     push path ~25 % more CPU).
 * Nothing here changes what is stored or answered; it changes when the garbage collector runs.
 * A flag the user sets on the command line (or in NODE_OPTIONS) wins: it is left alone.
 */
const V8_DEFAULT_GROWTH_FACTOR = 2;

/** Options the user gave node (command line and NODE_OPTIONS), e.g. `--semi-space-growth-factor=3`. */
export function userNodeFlags(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  return [...execArgv, ...nodeOptions.split(/\s+/).filter(Boolean)];
}

function userSets(flags: readonly string[], name: string): boolean {
  // V8 accepts both spellings (--semi-space-growth-factor, --semi_space_growth_factor) and --no-….
  const norm = (f: string) =>
    f
      .replace(/^--(no-)?/, '')
      .split('=')[0]
      .replace(/_/g, '-');
  return flags.some((f) => f.startsWith('--') && norm(f) === name);
}

let held = false;

/**
 * Keeps the young generation at its current size (V8's initial 2 × 1 MB when called first thing:
 * src/cli/hold-heap.ts is cli.ts's first import). Not when the user chose a growth factor.
 */
export function holdYoungGeneration(flags: readonly string[] = userNodeFlags()): void {
  if (held || userSets(flags, 'semi-space-growth-factor')) return;
  setFlagsFromString('--semi-space-growth-factor=1');
  held = true;
}

/** V8's usual growth again (a command that loads nothing, or the gateway once loaded). */
export function releaseYoungGeneration(): void {
  if (!held) return;
  held = false;
  setFlagsFromString(`--semi-space-growth-factor=${V8_DEFAULT_GROWTH_FACTOR}`);
}

/** Whether the young generation is held (for tests). */
export function youngGenerationHeld(): boolean {
  return held;
}

/** Everything is loaded, nothing served yet: compact the heap, then let the young generation grow again. */
export function settleAfterLoad(flags: readonly string[] = userNodeFlags()): { compactMs: number } {
  const t0 = performance.now();
  try {
    compactHeap(flags);
  } finally {
    releaseYoungGeneration();
  }
  return { compactMs: Math.round(performance.now() - t0) };
}

/**
 * One full collection that compacts every fragmented page (V8's --compact-on-every-full-gc, set
 * for this one only; a plain full GC only moves objects off pages that are mostly empty). A second
 * one was measured to free nothing more.
 */
export function compactHeap(flags: readonly string[] = userNodeFlags()): void {
  const gc = collector();
  const setCompact = !userSets(flags, 'compact-on-every-full-gc');
  if (setCompact) setFlagsFromString('--compact-on-every-full-gc');
  try {
    gc();
  } finally {
    if (setCompact) setFlagsFromString('--no-compact-on-every-full-gc');
  }
}

/** V8's gc() (a full, synchronous collection), without exposing it to the rest of the process. */
function collector(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  setFlagsFromString('--expose-gc');
  try {
    // The flag installs gc() in contexts created after it; this one is thrown away.
    return runInNewContext('gc') as () => void;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}
