import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { appendSync, fsyncDir, mkdirRecorded } from './durable-file.js';
import type { WriteAheadLog } from './wal.js';
import { deferred, type Deferred } from './deferred.js';

/** Something whose current in-memory state must reach the disk at the next commit. */
export interface DirtyWriter {
  readonly path: string;
  write(): Promise<void>;
}

export interface CheckpointPolicy {
  /** Checkpoint once the open log segment holds this many bytes… */
  segmentBytes: number;
  /** …or this many chunks wait for their rewrite (they stay in memory until then)… */
  pendingChunks: number;
  /** …or the gateway has been idle this long. */
  idleMs: number;
}

/** The longest a lazily written file (markLazy) waits under steady traffic. */
const LAZY_MAX_AGE_MS = 5000;

const DEFAULT_POLICY: CheckpointPolicy = { segmentBytes: 8 * 2 ** 20, pendingChunks: 64, idleMs: 1000 };

/**
 * Group commit: callers change memory, mark files dirty (or log chunk changes), and await
 * commit(). One flush round appends the journal, then appends the round's chunk changes to the
 * write-ahead log and writes every dirty file, fsyncs each touched folder once, then resolves
 * every caller that arrived before the round began. Concurrent pushes share fsyncs; a resolved
 * commit always means durable. Logged chunks are rewritten later, at checkpoints.
 */
export class GroupCommit {
  private dirty = new Map<string, DirtyWriter>();
  /** Written at the next checkpoint (or at close), never by a commit round: state that may lag after a crash. */
  private lazy = new Map<string, DirtyWriter>();
  private lazySince = 0;
  private appends = new Map<string, string[]>();
  private walLines: string[] = [];
  private newDirs = new Set<string>();
  private inFlight = new Set<string>();
  /** Chunks whose changes are only in the log so far. */
  private pendingChunks = new Map<string, DirtyWriter>();
  private checkpointing: Promise<void> | null = null;
  private checkpointInFlight = new Set<string>();
  private idleTimer: NodeJS.Timeout | null = null;
  private next: Deferred | null = null;
  private running = false;
  private readonly policy: CheckpointPolicy;
  lastError: unknown = null;
  rounds = 0;
  /** Rounds begun so far; whatever is marked now goes out with round `roundsStarted + 1` or later. */
  roundsStarted = 0;
  /** Everything marked before round n began is on disk once durableThrough ≥ n (rounds run one at a time). */
  durableThrough = 0;

  checkpoints = 0;

  private wal: WriteAheadLog | null = null;
  private readonly journals = new JournalFiles();

  constructor(policy: Partial<CheckpointPolicy> = {}) {
    this.policy = { ...DEFAULT_POLICY, ...policy };
  }

  /** From now on chunk changes are logged; without a log, a chunk change is written (whole chunk) in the round that commits it. */
  attachLog(wal: WriteAheadLog): void {
    this.wal = wal;
  }

  markDirty(writer: DirtyWriter): void {
    this.lazy.delete(writer.path);
    this.dirty.set(writer.path, writer);
  }

  /**
   * For state that need not be durable with the changes that caused it (device presence): the
   * file is written at the next checkpoint (at the latest after a second of idleness) or at
   * close, so no commit round, and no acknowledgement, waits for it. Without a log: markDirty.
   */
  markLazy(writer: DirtyWriter): void {
    if (!this.wal) {
      this.markDirty(writer);
      return;
    }
    if (this.dirty.has(writer.path)) return;
    if (this.lazy.size === 0) this.lazySince = Date.now();
    this.lazy.set(writer.path, writer);
    if (!this.running && !this.idleTimer) this.armIdleTimer();
  }

  /** Record `index` of the chunk `writer` was replaced or appended: logged at the next round, the chunk rewritten at a checkpoint. */
  logChange(writer: DirtyWriter, index: number, record: unknown): void {
    if (!this.wal) {
      this.markDirty(writer);
      return;
    }
    this.walLines.push(this.wal.entryLine(writer.path, index, record));
    this.pendingChunks.set(writer.path, writer);
  }

  append(path: string, line: string): void {
    const lines = this.appends.get(path);
    if (lines) lines.push(line);
    else this.appends.set(path, [line]);
  }

  async ensureDir(dir: string): Promise<void> {
    for (const created of await mkdirRecorded(dir)) this.newDirs.add(dirname(created));
  }

  /** Dirty, only logged, or being written: such a file's in-memory copy is the only up-to-date one. */
  isDirty(path: string): boolean {
    return this.dirty.has(path) || this.inFlight.has(path) || this.pendingChunks.has(path) || this.checkpointInFlight.has(path) || this.lazy.has(path);
  }

  get pending(): boolean {
    return this.dirty.size > 0 || this.appends.size > 0 || this.walLines.length > 0 || this.newDirs.size > 0;
  }

  /** Commits what is pending, then rewrites every logged chunk and empties the log (clean shutdown). */
  async close(): Promise<void> {
    this.clearIdleTimer();
    try {
      while (this.pending || this.running) await this.commit();
      await this.checkpointing;
      if (this.pendingChunks.size > 0 || this.lazy.size > 0) await this.checkpoint();
      if (this.lastError) throw this.lastError;
      await this.wal?.close();
    } finally {
      await this.journals.close();
    }
  }

  commit(): Promise<void> {
    if (!this.next) this.next = deferred();
    const { promise } = this.next;
    if (!this.running) void this.run();
    return promise;
  }

  private async run(): Promise<void> {
    this.running = true;
    this.clearIdleTimer();
    while (this.next) {
      const round = this.next;
      this.next = null;
      const dirty = this.dirty;
      const appends = this.appends;
      const walLines = this.walLines;
      const newDirs = this.newDirs;
      this.dirty = new Map();
      this.appends = new Map();
      this.walLines = [];
      this.newDirs = new Set();
      this.inFlight = new Set(dirty.keys());
      const index = ++this.roundsStarted;
      try {
        await this.flush(dirty, appends, walLines, newDirs);
        this.lastError = null;
        this.rounds++;
        this.durableThrough = index;
        round.resolve();
      } catch (err) {
        this.requeue(dirty, appends, walLines, newDirs);
        this.lastError = err;
        round.reject(err);
      }
      this.inFlight = new Set();
      this.maybeCheckpoint();
    }
    this.running = false;
    this.armIdleTimer();
  }

  private async flush(dirty: Map<string, DirtyWriter>, appends: Map<string, string[]>, walLines: string[], newDirs: Set<string>) {
    const dirs = new Set(newDirs);
    // The journal goes first: no stored sale without its raw request on disk before it.
    await Promise.all(
      [...appends].map(([path, lines]) =>
        this.journals.append(path, lines).then((created) => {
          if (created) dirs.add(dirname(path));
        }),
      ),
    );
    await Promise.all([this.wal?.append(walLines), ...[...dirty.values()].map((w) => w.write().then(() => dirs.add(dirname(w.path))))]);
    await Promise.all([...dirs].map(fsyncDir));
  }

  private requeue(dirty: Map<string, DirtyWriter>, appends: Map<string, string[]>, walLines: string[], newDirs: Set<string>) {
    for (const [path, w] of dirty) if (!this.dirty.has(path)) this.dirty.set(path, w);
    for (const [path, lines] of appends) this.appends.set(path, [...lines, ...(this.appends.get(path) ?? [])]);
    // Appending the same entries again is harmless: replaying an entry twice gives the same chunk.
    this.walLines = [...walLines, ...this.walLines];
    for (const d of newDirs) this.newDirs.add(d);
  }

  // ---- checkpoints: logged chunks rewritten (temp + fsync + rename + folder fsync), then their log segments deleted ----

  private maybeCheckpoint(): void {
    if (!this.wal || this.checkpointing) return;
    if (this.pendingChunks.size > 0 && (this.wal.bytes >= this.policy.segmentBytes || this.pendingChunks.size >= this.policy.pendingChunks))
      void this.checkpoint();
    // Under steady traffic (never idle) lazily written files still go out every few seconds, alone.
    else if (this.lazy.size > 0 && Date.now() - this.lazySince >= LAZY_MAX_AGE_MS) void this.checkpoint(false);
  }

  /** Runs beside later rounds, which append to a fresh segment; only one checkpoint at a time. */
  private checkpoint(withChunks = true): Promise<void> {
    if (this.checkpointing) return this.checkpointing;
    const wal = this.wal!;
    const writers = withChunks ? this.pendingChunks : new Map<string, DirtyWriter>();
    const lazy = this.lazy;
    if (withChunks) this.pendingChunks = new Map();
    this.lazy = new Map();
    this.checkpointInFlight = new Set([...writers.keys(), ...lazy.keys()]);
    // Everything the closed segments hold is in these chunks' memory now (rounds never overlap a rotation).
    const closed = writers.size > 0 ? wal.rotate() : null;
    const run = async () => {
      try {
        const dirs = new Set<string>();
        await Promise.all([...writers.values(), ...lazy.values()].map((w) => w.write().then(() => dirs.add(dirname(w.path)))));
        await Promise.all([...dirs].map(fsyncDir));
        if (closed !== null) await wal.removeUpTo(closed);
        if (closed !== null) this.checkpoints++;
      } catch (err) {
        for (const [path, w] of writers) if (!this.pendingChunks.has(path)) this.pendingChunks.set(path, w);
        if (this.lazy.size === 0 && lazy.size > 0) this.lazySince = Date.now();
        for (const [path, w] of lazy) if (!this.lazy.has(path) && !this.dirty.has(path)) this.lazy.set(path, w);
        this.lastError = err;
      } finally {
        this.checkpointInFlight = new Set();
        this.checkpointing = null;
      }
    };
    this.checkpointing = run();
    return this.checkpointing;
  }

  private armIdleTimer(): void {
    if (!this.wal || (this.pendingChunks.size === 0 && this.lazy.size === 0)) return;
    this.clearIdleTimer();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (!this.running && (this.pendingChunks.size > 0 || this.lazy.size > 0)) void this.checkpoint();
    }, this.policy.idleMs);
    this.idleTimer.unref();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}

/**
 * The journal files a GroupCommit appends to, kept open (append mode) by path: a day's journal
 * is appended to by every round of that day. The folder is fsynced with the first append of
 * this process to a file (it may just have been created), never for later appends, which
 * fdatasync the file. The files stay open while the gateway runs (move them only once it stopped).
 */
class JournalFiles {
  private readonly open = new Map<string, { fh: FileHandle; failed: boolean }>();

  /** Appends and fdatasyncs; true when the folder must be fsynced too (the file was opened, maybe created, now). */
  async append(path: string, lines: string[]): Promise<boolean> {
    const { fh, created } = await this.handle(path);
    try {
      appendSync(fh.fd, lines.length === 1 ? lines[0] : lines.join(''));
      await fh.datasync();
    } catch (err) {
      // A failed append may have left a torn tail: reopen (and check the end again) before the next one.
      const j = this.open.get(path);
      if (j?.fh === fh) j.failed = true;
      throw err;
    }
    return created;
  }

  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((j) => j.fh.close().catch(() => undefined)));
  }

  private async handle(path: string): Promise<{ fh: FileHandle; created: boolean }> {
    const known = this.open.get(path);
    if (known && !known.failed) return { fh: known.fh, created: false };
    if (known) {
      this.open.delete(path);
      await known.fh.close().catch(() => undefined);
    }
    const fh = await open(path, 'a+');
    try {
      // A crash mid-append can leave a torn last line; start on a fresh line so the next entry stays parseable.
      const { size } = await fh.stat();
      if (size > 0) {
        const last = Buffer.alloc(1);
        await fh.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) await fh.write('\n');
      }
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
    this.open.set(path, { fh, failed: false });
    // Yesterday's journal is finished: keep only a few files open.
    for (const [other, j] of this.open) {
      if (this.open.size <= MAX_OPEN_JOURNALS) break;
      if (other === path) continue;
      this.open.delete(other);
      void j.fh.close().catch(() => undefined);
    }
    return { fh, created: true };
  }
}

const MAX_OPEN_JOURNALS = 4;
