import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { CorruptFileError, DurableJSONFile } from './durable-file.js';
import type { GroupCommit } from './group-commit.js';
import { chunkJson } from './wal.js';

interface ChunkData<R> {
  records: R[];
}

const CHUNK_FILE = /^c-(\d{6})\.json$/;
const chunkName = (n: number) => `c-${String(n).padStart(6, '0')}.json`;

/**
 * Records kept in lowdb files of at most `chunkSize` records, in partition folders
 * (e.g. register/day). A change is logged (write-ahead log, see wal.ts) and its chunk
 * rewritten at a checkpoint, or rewritten at its commit when the GroupCommit has no log; either
 * way a write never touches more than one bounded chunk, so its cost never grows with history.
 * Records are only appended or replaced, never removed: the log addresses them by index.
 * Only an id → chunk index stays in memory; chunks are read back on demand.
 */
export class ChunkedCollection<R> {
  private readonly where = new Map<string, string>();
  private readonly tails = new Map<string, { path: string; count: number; n: number }>();
  private readonly cache = new Map<string, Low<ChunkData<R>>>();
  private readonly loading = new Map<string, Promise<Low<ChunkData<R>>>>();

  constructor(
    private readonly root: string,
    private readonly commit: GroupCommit,
    private readonly idOf: (r: R) => string,
    private readonly chunkSize = 200,
    private readonly cacheSize = 64,
  ) {}

  get size(): number {
    return this.where.size;
  }

  /** Chunks held in memory now (at most cacheSize, plus those with changes not yet on disk). */
  get cachedChunks(): number {
    return this.cache.size;
  }

  has(id: string): boolean {
    return this.where.has(id);
  }

  /** Reads every chunk once at start-up; `visit` builds whatever in-memory index the owner needs. */
  async load(visit: (record: R) => void): Promise<void> {
    await this.commit.ensureDir(this.root);
    for (const partition of await listPartitions(this.root)) {
      const dir = join(this.root, partition);
      const files = (await readdir(dir)).filter((f) => CHUNK_FILE.test(f)).sort();
      for (const file of files) {
        const path = join(dir, file);
        const { records } = readChunkSync<R>(path);
        for (const record of records) {
          // A record without an id (damaged) stays where it is, unaddressable; `visit` sets it aside.
          const id = this.idOrUndefined(record);
          if (id !== undefined) this.where.set(id, path);
          visit(record);
        }
        const n = Number(CHUNK_FILE.exec(file)![1]);
        this.tails.set(partition, { path, count: records.length, n });
      }
    }
  }

  async get(id: string): Promise<R | undefined> {
    const path = this.where.get(id);
    if (!path) return undefined;
    const db = await this.chunk(path);
    return db.data.records.find((r) => this.idOrUndefined(r) === id);
  }

  /** Stores a new record in `partition`'s open chunk, or replaces an existing one where it lives. Durable at the next commit. */
  async put(partition: string, record: R): Promise<void> {
    const id = this.idOf(record);
    const existing = this.where.get(id);
    const path = existing ?? (await this.tailFor(partition));
    const db = this.live(path, await this.chunk(path));
    const records = db.data.records;
    const at = existing ? records.findIndex((r) => this.idOrUndefined(r) === id) : -1;
    if (at >= 0) records[at] = record;
    else records.push(record);
    this.where.set(id, path);
    this.commit.logChange({ path, write: () => db.write() }, at >= 0 ? at : records.length - 1, record);
  }

  private idOrUndefined(record: R): string | undefined {
    try {
      const id = this.idOf(record);
      return typeof id === 'string' ? id : undefined;
    } catch {
      return undefined;
    }
  }

  /** Every record, chunk by chunk (for exports and rebuilds; not for hot paths). */
  async *all(): AsyncGenerator<R> {
    const paths = [...new Set(this.where.values())];
    for (const path of paths) yield* (await this.chunk(path)).data.records;
  }

  private async tailFor(partition: string): Promise<string> {
    let tail = this.tails.get(partition);
    if (!tail || tail.count >= this.chunkSize) {
      const dir = join(this.root, partition);
      await this.commit.ensureDir(dir);
      const n = (tail?.n ?? 0) + 1;
      tail = { path: join(dir, chunkName(n)), count: 0, n };
      this.tails.set(partition, tail);
      this.cache.set(tail.path, new Low<ChunkData<R>>(new DurableJSONFile<ChunkData<R>>(tail.path, chunkJson), { records: [] }));
      // A new tail is a cache entry too: without this, a gateway that only takes pushes kept every chunk it wrote.
      this.evict();
    }
    tail.count++;
    return tail.path;
  }

  private async chunk(path: string): Promise<Low<ChunkData<R>>> {
    const db = this.cache.get(path);
    if (db) {
      this.cache.delete(path); // re-insert: Map order is the LRU order
      this.cache.set(path, db);
      return db;
    }
    // One read per chunk however many callers miss it at once: two reads would give two copies,
    // and a change made to the first could be replaced in the cache by the second, stale one
    // (an acknowledged refund lost: test/store/cold-chunk-race.test.ts).
    let loading = this.loading.get(path);
    if (!loading) {
      loading = this.read(path).finally(() => this.loading.delete(path));
      this.loading.set(path, loading);
    }
    return loading;
  }

  private async read(path: string): Promise<Low<ChunkData<R>>> {
    const db = new Low<ChunkData<R>>(new DurableJSONFile<ChunkData<R>>(path, chunkJson), { records: [] });
    await db.read();
    this.cache.set(path, db);
    this.evict();
    return db;
  }

  /**
   * The one copy of a chunk to change: a clean chunk may have been evicted while the caller
   * waited for it (and read again by another call); changing an evicted copy would fork it.
   */
  private live(path: string, got: Low<ChunkData<R>>): Low<ChunkData<R>> {
    const cached = this.cache.get(path);
    if (cached) return cached;
    this.cache.set(path, got);
    return got;
  }

  private evict(): void {
    // Only evict chunks whose changes are on disk; a dirty chunk must stay until committed.
    for (const path of this.cache.keys()) {
      if (this.cache.size <= this.cacheSize) return;
      if (!this.commit.isDirty(path)) this.cache.delete(path);
    }
  }
}

/**
 * Start-up only, before anything is served: Node decodes a file read synchronously as UTF-8
 * straight into a string (no intermediate Buffer, no promise round trip per chunk).
 */
function readChunkSync<R>(path: string): ChunkData<R> {
  const text = readFileSync(path, 'utf8');
  try {
    const data = JSON.parse(text) as ChunkData<R>;
    if (!Array.isArray(data?.records)) throw new Error('no "records" array');
    return data;
  } catch (err) {
    throw new CorruptFileError(path, (err as Error).message);
  }
}

async function listPartitions(root: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(root, prefix), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const rel = prefix ? join(prefix, entry.name) : entry.name;
    const inner = await readdir(join(root, rel));
    if (inner.some((f) => CHUNK_FILE.test(f))) out.push(rel);
    out.push(...(await listPartitions(root, rel)));
  }
  return out.sort();
}
