import { createHash } from 'node:crypto';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { DurableJSONFile, readJsonFile, writeFileAtomic } from './durable-file.js';
import type { GroupCommit } from './group-commit.js';

export {
  eventName,
  type OutboxEventKind,
  type OutboxItem,
  type OutboxState,
  type QuarantineEvent,
  type SaleEventKind,
  type TargetMark,
} from '../domain/ports/outbox-storage.js';
import type { OutboxItem, OutboxState } from '../domain/ports/outbox-storage.js';

interface ChunkData {
  target: string;
  records: OutboxItem[];
}

interface Chunk {
  path: string;
  n: number;
  data: ChunkData;
}

const CHUNK_FILE = /^c-(\d{6})\.json$/;
const chunkName = (n: number) => `c-${String(n).padStart(6, '0')}.json`;
export const OUTBOX_CHUNK_SIZE = 64;

/** Folder name of a target: readable for upstream, a hash for URLs. */
export function targetFolder(target: string): string {
  return target === 'upstream' ? 'upstream' : `t-${createHash('sha256').update(target).digest('hex').slice(0, 16)}`;
}

/**
 * Durable outbox files under `<dataDir>/outbox`: per target a folder of small chunk files
 * holding only pending items and dead letters (a delivered item is removed; an emptied chunk
 * is deleted), and `state.json` with the recovery marks. Every change is written by the group
 * commit, so an item enqueued with a sale is durable in the same round as the sale.
 */
export class OutboxStore {
  private readonly root: string;
  private readonly stateDb: Low<OutboxState>;
  private readonly chunks = new Map<string, Chunk[]>();
  private readonly chunkOf = new Map<OutboxItem, Chunk>();
  /** For items added in this process: the commit round they go out with at the earliest. */
  private readonly writtenBy = new WeakMap<OutboxItem, number>();

  constructor(
    dataDir: string,
    private readonly commit: GroupCommit,
    private readonly chunkSize = OUTBOX_CHUNK_SIZE,
  ) {
    this.root = join(dataDir, 'outbox');
    this.stateDb = new Low(new DurableJSONFile<OutboxState>(join(this.root, 'state.json')), { targets: {} });
  }

  get state(): OutboxState {
    return this.stateDb.data;
  }

  /** Reads the marks and every stored item (all of them stay in memory: only pending work is stored). */
  async load(): Promise<OutboxItem[]> {
    await this.commit.ensureDir(this.root);
    await this.stateDb.read();
    this.stateDb.data = { ...this.stateDb.data, targets: this.stateDb.data?.targets ?? {} };
    const items: OutboxItem[] = [];
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = join(this.root, entry.name);
      const files = (await readdir(dir)).filter((f) => CHUNK_FILE.test(f)).sort();
      for (const file of files) {
        const path = join(dir, file);
        const data = await readJsonFile<ChunkData>(path);
        if (!data) continue;
        const chunk: Chunk = { path, n: Number(CHUNK_FILE.exec(file)![1]), data: { target: data.target, records: data.records ?? [] } };
        this.listFor(data.target).push(chunk);
        for (const item of chunk.data.records) {
          this.chunkOf.set(item, chunk);
          items.push(item);
        }
      }
    }
    return items;
  }

  add(item: OutboxItem): void {
    const chunks = this.listFor(item.target);
    let tail = chunks[chunks.length - 1];
    if (!tail || tail.data.records.length >= this.chunkSize) {
      const n = (tail?.n ?? 0) + 1;
      tail = { path: join(this.root, targetFolder(item.target), chunkName(n)), n, data: { target: item.target, records: [] } };
      chunks.push(tail);
    }
    tail.data.records.push(item);
    this.chunkOf.set(item, tail);
    this.markDirty(tail);
    this.writtenBy.set(item, this.commit.roundsStarted + 1);
  }

  /** The item changed in memory (dead-lettered, retried): rewrite its chunk at the next commit. */
  update(item: OutboxItem): void {
    const chunk = this.chunkOf.get(item);
    if (chunk) this.markDirty(chunk);
  }

  remove(item: OutboxItem): void {
    const chunk = this.chunkOf.get(item);
    if (!chunk) return;
    this.chunkOf.delete(item);
    const at = chunk.data.records.indexOf(item);
    if (at >= 0) chunk.data.records.splice(at, 1);
    if (chunk.data.records.length === 0) {
      const chunks = this.listFor(item.target);
      // Keep the tail chunk object so numbering goes on; its file is deleted all the same.
      if (chunks[chunks.length - 1] !== chunk) chunks.splice(chunks.indexOf(chunk), 1);
    }
    this.markDirty(chunk);
  }

  /** True once a commit round that began after the item was added has completed: the item, and the sale change before it, are on disk. */
  isWritten(item: OutboxItem): boolean {
    const round = this.writtenBy.get(item);
    return round === undefined || this.commit.durableThrough >= round;
  }

  saveState(): void {
    const db = this.stateDb;
    this.commit.markDirty({ path: (db.adapter as DurableJSONFile<OutboxState>).path, write: () => db.write() });
  }

  /** Creates the target's folder (durably) before its first chunk is written. */
  async prepare(target: string): Promise<void> {
    await this.commit.ensureDir(join(this.root, targetFolder(target)));
  }

  private listFor(target: string): Chunk[] {
    let list = this.chunks.get(target);
    if (!list) this.chunks.set(target, (list = []));
    return list;
  }

  private markDirty(chunk: Chunk): void {
    // Written as it is at flush time: an emptied chunk is deleted, a refilled one written again.
    this.commit.markDirty({
      path: chunk.path,
      write: async () => {
        if (chunk.data.records.length > 0) await writeFileAtomic(chunk.path, JSON.stringify(chunk.data));
        else
          await unlink(chunk.path).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'ENOENT') throw err;
          });
      },
    });
  }
}
