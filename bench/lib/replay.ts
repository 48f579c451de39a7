import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './procs.js';
import type { BenchDevice } from './seed.js';
import { prng, tabshopInvoice } from './workload.js';

/** The replay command comes with the integrator tooling; until it is merged the row reads n/a. */
export const REPLAY_AVAILABLE = existsSync(join(ROOT, 'src/cli/replay.ts')) && existsSync(join(ROOT, 'dist/cli/replay.js'));

export const INVOICES_PER_FILE = 5;

export interface ReplayRun {
  files: number;
  invoices: number;
  seconds: number;
  invoicesPerSecond: number;
  exitCode: number | null;
  outputTail: string;
}

/**
 * Writes `invoices` invoices as capture-like push files of INVOICES_PER_FILE each (a tablet
 * catching up after closing time), then times `tabshop-gateway replay DIR --url …` end to end,
 * process start included.
 */
export async function runReplay(opts: {
  dir: string;
  url: string;
  device: BenchDevice;
  products: string[];
  invoices: number;
  concurrency?: number;
}): Promise<ReplayRun> {
  await mkdir(opts.dir, { recursive: true });
  const rnd = prng(23);
  const files = Math.ceil(opts.invoices / INVOICES_PER_FILE);
  const day = Date.UTC(2026, 2, 1, 9);
  for (let f = 0; f < files; f++) {
    const invoices = Array.from({ length: Math.min(INVOICES_PER_FILE, opts.invoices - f * INVOICES_PER_FILE) }, (_, i) =>
      tabshopInvoice({ seq: 3_000_000_000 + f * INVOICES_PER_FILE + i, products: opts.products, date: day + (f * INVOICES_PER_FILE + i) * 1000, rnd }),
    );
    await writeFile(join(opts.dir, `push-${String(f).padStart(5, '0')}.json`), JSON.stringify({ invoices }));
  }
  const args = [
    join(ROOT, 'dist/cli.js'),
    'replay',
    opts.dir,
    '--url',
    opts.url,
    '--user',
    opts.device.username,
    '--password',
    opts.device.password,
    '--concurrency',
    String(opts.concurrency ?? 8),
    '--json',
  ];
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const seconds = (performance.now() - started) / 1000;
  return { files, invoices: opts.invoices, seconds, invoicesPerSecond: opts.invoices / seconds, exitCode, outputTail: output.slice(-1500) };
}
