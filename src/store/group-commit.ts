import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir, mkdirRecorded } from './durable-file.js';

/** Something whose current in-memory state must reach the disk at the next commit. */
export interface DirtyWriter {
  readonly path: string;
  write(): Promise<void>;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * Group commit: callers change memory, mark files dirty, and await commit(). One flush round
 * writes every dirty file (journal appends first), fsyncs each touched folder once, then
 * resolves every caller that arrived before the round began. Concurrent pushes share fsyncs;
 * a resolved commit always means durable.
 */
export class GroupCommit {
  private dirty = new Map<string, DirtyWriter>();
  private appends = new Map<string, string[]>();
  private newDirs = new Set<string>();
  private inFlight = new Set<string>();
  private next: Deferred | null = null;
  private running = false;
  lastError: unknown = null;
  rounds = 0;
  /** Rounds begun so far; whatever is marked now goes out with round `roundsStarted + 1` or later. */
  roundsStarted = 0;
  /** Everything marked before round n began is on disk once durableThrough ≥ n (rounds run one at a time). */
  durableThrough = 0;

  markDirty(writer: DirtyWriter): void {
    this.dirty.set(writer.path, writer);
  }

  append(path: string, line: string): void {
    const lines = this.appends.get(path);
    if (lines) lines.push(line);
    else this.appends.set(path, [line]);
  }

  async ensureDir(dir: string): Promise<void> {
    for (const created of await mkdirRecorded(dir)) this.newDirs.add(dirname(created));
  }

  /** Dirty or being written: such a file's in-memory copy is the only up-to-date one. */
  isDirty(path: string): boolean {
    return this.dirty.has(path) || this.inFlight.has(path);
  }

  get pending(): boolean {
    return this.dirty.size > 0 || this.appends.size > 0 || this.newDirs.size > 0;
  }

  commit(): Promise<void> {
    if (!this.next) this.next = deferred();
    const { promise } = this.next;
    if (!this.running) void this.run();
    return promise;
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.next) {
      const round = this.next;
      this.next = null;
      const dirty = this.dirty;
      const appends = this.appends;
      const newDirs = this.newDirs;
      this.dirty = new Map();
      this.appends = new Map();
      this.newDirs = new Set();
      this.inFlight = new Set(dirty.keys());
      const index = ++this.roundsStarted;
      try {
        await this.flush(dirty, appends, newDirs);
        this.lastError = null;
        this.rounds++;
        this.durableThrough = index;
        round.resolve();
      } catch (err) {
        this.requeue(dirty, appends, newDirs);
        this.lastError = err;
        round.reject(err);
      }
      this.inFlight = new Set();
    }
    this.running = false;
  }

  private async flush(dirty: Map<string, DirtyWriter>, appends: Map<string, string[]>, newDirs: Set<string>) {
    const dirs = new Set(newDirs);
    // The journal goes first: no stored sale without its raw request on disk before it.
    await Promise.all([...appends].map(([path, lines]) => appendDurably(path, lines).then(() => dirs.add(dirname(path)))));
    await Promise.all([...dirty.values()].map((w) => w.write().then(() => dirs.add(dirname(w.path)))));
    await Promise.all([...dirs].map(fsyncDir));
  }

  private requeue(dirty: Map<string, DirtyWriter>, appends: Map<string, string[]>, newDirs: Set<string>) {
    for (const [path, w] of dirty) if (!this.dirty.has(path)) this.dirty.set(path, w);
    for (const [path, lines] of appends) this.appends.set(path, [...lines, ...(this.appends.get(path) ?? [])]);
    for (const d of newDirs) this.newDirs.add(d);
  }
}

/** Journal files whose end this process has checked (see appendDurably). */
const checkedEnds = new Set<string>();

async function appendDurably(path: string, lines: string[]): Promise<void> {
  const fh = await open(path, 'a+');
  try {
    let prefix = '';
    if (!checkedEnds.has(path)) {
      // A crash mid-append can leave a torn last line; start on a fresh line so the next entry stays parseable.
      const { size } = await fh.stat();
      if (size > 0) {
        const last = Buffer.alloc(1);
        await fh.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) prefix = '\n';
      }
      checkedEnds.add(path);
    }
    await fh.writeFile(prefix + lines.join(''));
    await fh.sync();
  } finally {
    await fh.close();
  }
}
