import { open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { appendSync, CorruptFileError, fsyncDir, mkdirRecorded, readJsonFile, writeFileAtomic } from './durable-file.js';

/**
 * One change of a chunked record: chunk file `f` (relative to the data dir) holds `r` at index
 * `n` of its records array. Chunks only ever append or replace records, so an index is stable.
 */
export interface WalEntry {
  f: string;
  n: number;
  r: unknown;
}

/**
 * The JSON of each record as it was logged, until its chunk is next rewritten (a checkpoint):
 * the chunk then reuses the text instead of serialising the record again. Records are never
 * changed in place once stored (a change stores a new record), so the text is the record's.
 * Bounded by what the open log segments hold (the checkpoint policy's segment size).
 */
const loggedJson = new WeakMap<object, string>();

/** `JSON.stringify({ records })` of a chunk, reusing (and forgetting) each record's logged text. */
export function chunkJson(data: { records: unknown[] }): string {
  const keys = Object.keys(data);
  if (keys.length !== 1 || keys[0] !== 'records' || !Array.isArray(data.records)) return JSON.stringify(data);
  const parts = data.records.map((r) => {
    if (r === null || typeof r !== 'object') return JSON.stringify(r) ?? 'null';
    const text = loggedJson.get(r);
    if (text === undefined) return JSON.stringify(r) ?? 'null';
    loggedJson.delete(r);
    return text;
  });
  return `{"records":[${parts.join(',')}]}`;
}

const SEGMENT = /^wal-(\d{6})\.ndjson$/;
const segmentName = (n: number) => `wal-${String(n).padStart(6, '0')}.ndjson`;

/**
 * The write-ahead log of the chunked collections. A commit round appends every record it
 * changed to the open segment and fdatasyncs it once, so acknowledging a round costs one
 * append however many partitions (registers, days) it touched, instead of one chunk rewrite
 * per partition. Chunk files catch up at checkpoints; a segment is deleted only once every
 * chunk it covers has been rewritten durably. A crash at any instant leaves each acknowledged
 * change either in a chunk file or in a segment, and `recoverWal` folds the segments back in.
 */
export class WriteAheadLog {
  private current: number;
  private handle: FileHandle | null = null;
  private closing: Promise<void>[] = [];
  /** Bytes appended to the open segment. */
  bytes = 0;

  constructor(
    readonly dir: string,
    readonly baseDir: string,
    firstSegment = 1,
  ) {
    this.current = firstSegment;
  }

  /** Chunk path → its JSON-quoted path relative to the data dir (the same few chunks are logged over and over). */
  private readonly relPaths = new Map<string, string>();

  /** The same text as JSON.stringify({ f, n, r }) plus a newline. */
  entryLine(path: string, index: number, record: unknown): string {
    let f = this.relPaths.get(path);
    if (f === undefined) {
      f = JSON.stringify(relative(this.baseDir, path));
      if (this.relPaths.size >= 4096) this.relPaths.clear();
      this.relPaths.set(path, f);
    }
    const r = JSON.stringify(record) ?? 'null';
    if (record !== null && typeof record === 'object') loggedJson.set(record, r);
    return `{"f":${f},"n":${index},"r":${r}}\n`;
  }

  /**
   * Appends and fdatasyncs; a new segment's directory entry is fsynced with its first append.
   * After a failure the segment is abandoned (never appended to again), so whatever part of the
   * failed append reached it can only be a torn tail; the caller appends the lines again.
   */
  async append(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    const data = lines.join('');
    let written = 0;
    try {
      const created = this.handle === null;
      this.handle ??= await open(join(this.dir, segmentName(this.current)), 'a');
      written = appendSync(this.handle.fd, data);
      await this.handle.datasync();
      if (created) await fsyncDir(this.dir);
    } catch (err) {
      if (this.handle) this.closing.push(this.handle.close().catch(() => undefined));
      this.handle = null;
      this.current++;
      this.bytes = 0;
      throw err;
    }
    this.bytes += written;
  }

  /** Starts a new segment for later appends; returns the number of the last closed one. Call between rounds only. */
  rotate(): number {
    const closed = this.current;
    if (this.handle) this.closing.push(this.handle.close());
    this.handle = null;
    this.current++;
    this.bytes = 0;
    return closed;
  }

  /** Deletes every segment numbered `upTo` or lower (their changes are in the chunk files now). */
  async removeUpTo(upTo: number): Promise<void> {
    await Promise.all(this.closing.splice(0));
    const doomed = (await listSegments(this.dir)).filter((s) => s.n <= upTo);
    await Promise.all(doomed.map((s) => unlink(s.path)));
    if (doomed.length > 0) await fsyncDir(this.dir);
  }

  async close(): Promise<void> {
    if (this.handle) this.closing.push(this.handle.close());
    this.handle = null;
    await Promise.all(this.closing.splice(0));
  }
}

async function listSegments(dir: string): Promise<{ n: number; path: string }[]> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  return names
    .map((name) => ({ m: SEGMENT.exec(name), name }))
    .filter((x) => x.m !== null)
    .map((x) => ({ n: Number(x.m![1]), path: join(dir, x.name) }))
    .sort((a, b) => a.n - b.n);
}

/**
 * The entries of one segment. Everything acknowledged was appended whole and fsynced, and a
 * segment is never appended to after a failed or interrupted append, so unreadable bytes at
 * the end of a segment are a torn append that was never acknowledged: they are ignored
 * (`tornBytes`). An unreadable entry followed by readable ones is corruption.
 */
export function parseSegment(path: string, text: string): { entries: WalEntry[]; tornBytes: number } {
  const lines = text.split('\n');
  const entries: WalEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    const entry = parseEntry(line);
    if (entry) {
      entries.push(entry);
      continue;
    }
    const rest = lines.slice(i);
    if (rest.every((l) => l === '' || parseEntry(l) === null)) return { entries, tornBytes: Buffer.byteLength(rest.join('\n')) };
    throw new CorruptFileError(path, `line ${i + 1} is not a log entry, yet entries follow it`);
  }
  return { entries, tornBytes: 0 };
}

function parseEntry(line: string): WalEntry | null {
  try {
    const e = JSON.parse(line) as WalEntry;
    return e !== null && typeof e === 'object' && typeof e.f === 'string' && Number.isInteger(e.n) && e.n >= 0 && 'r' in e ? e : null;
  } catch {
    return null;
  }
}

/**
 * Start-up, before the chunks are read: applies every logged change to its chunk file (temp +
 * fsync + rename, folders fsynced), then deletes the segments. Applying a segment twice gives
 * the same chunks, so a crash during recovery is recovered the same way. Returns the number of
 * the segment the log should continue with and how many entries were applied.
 */
export interface Recovery {
  nextSegment: number;
  applied: number;
  /** Bytes of torn (never acknowledged) appends that were dropped. */
  tornBytes: number;
}

export async function recoverWal(walDir: string, baseDir: string): Promise<Recovery> {
  for (const created of await mkdirRecorded(walDir)) await fsyncDir(dirname(created));
  const segments = await listSegments(walDir);
  if (segments.length === 0) return { nextSegment: 1, applied: 0, tornBytes: 0 };
  const byChunk = new Map<string, WalEntry[]>();
  let applied = 0;
  let tornBytes = 0;
  for (const s of segments) {
    const parsed = parseSegment(s.path, await readFile(s.path, 'utf8'));
    tornBytes += parsed.tornBytes;
    for (const entry of parsed.entries) {
      const path = chunkPath(baseDir, entry.f, s.path);
      const list = byChunk.get(path);
      if (list) list.push(entry);
      else byChunk.set(path, [entry]);
      applied++;
    }
  }
  const dirs = new Set<string>();
  for (const [path, entries] of byChunk) {
    const chunk = (await readJsonFile<{ records: unknown[] }>(path)) ?? { records: [] };
    for (const { n, r } of entries) {
      if (n > chunk.records.length) throw new CorruptFileError(segments[segments.length - 1].path, `entry for ${path} skips to index ${n}`);
      chunk.records[n] = r;
    }
    for (const created of await mkdirRecorded(dirname(path))) dirs.add(dirname(created));
    await writeFileAtomic(path, JSON.stringify(chunk));
    dirs.add(dirname(path));
  }
  await Promise.all([...dirs].map(fsyncDir));
  for (const s of segments) await unlink(s.path);
  await fsyncDir(walDir);
  return { nextSegment: segments[segments.length - 1].n + 1, applied, tornBytes };
}

function chunkPath(baseDir: string, rel: string, segment: string): string {
  const path = resolve(baseDir, rel);
  if (!path.startsWith(resolve(baseDir) + sep)) throw new CorruptFileError(segment, `entry names a file outside the data dir: ${rel}`);
  return path;
}
