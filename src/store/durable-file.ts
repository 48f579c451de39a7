import { writeSync } from 'node:fs';
import { open, readFile, rename, unlink, mkdir } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { Adapter } from 'lowdb';

/** A data file that exists but cannot be parsed: start-up stops, naming it, and the file is never overwritten. */
export class CorruptFileError extends Error {
  constructor(
    readonly path: string,
    cause: string,
  ) {
    super(`corrupt data file ${path}: ${cause} (fix or move it away; it will not be overwritten)`);
    this.name = 'CorruptFileError';
  }
}

let tmpCounter = 0;

/**
 * Appends `data` to the open file `fd` with write(2) on the calling thread: it only copies into
 * the page cache (the caller fdatasyncs, off the thread), and skips the two thread-pool hand-offs
 * an async write costs, which on a small, busy machine can each cost the event loop its CPU slice.
 */
export function appendSync(fd: number, data: string): number {
  const buf = Buffer.from(data, 'utf8');
  for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
  return buf.length;
}

/** Writes to a temp file in the same folder, fsyncs it, renames it over the target. The caller fsyncs the folder. */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${++tmpCounter}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Makes a completed rename or file creation in `dir` survive power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** mkdir -p that reports every folder it created, so their parents can be fsynced too. */
export async function mkdirRecorded(dir: string): Promise<string[]> {
  const first = await mkdir(dir, { recursive: true });
  if (!first) return [];
  const created: string[] = [];
  for (let d = dir; d.length >= first.length; d = dirname(d)) created.push(d);
  return created;
}

export async function readJsonFile<T>(path: string): Promise<T | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new CorruptFileError(path, (err as Error).message);
  }
}

/**
 * lowdb adapter that is durable, unlike lowdb's JSONFile (which never fsyncs): compact JSON,
 * fsynced temp file renamed over the target. Folder fsync is left to the group commit, which
 * does it once per folder per round.
 */
export class DurableJSONFile<T> implements Adapter<T> {
  /** `serialize` must give the text JSON.stringify would (chunks reuse their records' logged JSON). */
  constructor(
    readonly path: string,
    private readonly serialize: (data: T) => string = JSON.stringify,
  ) {}

  read(): Promise<T | null> {
    return readJsonFile<T>(this.path);
  }

  write(data: T): Promise<void> {
    return writeFileAtomic(this.path, this.serialize(data));
  }
}
