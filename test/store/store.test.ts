import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChunkedCollection } from '../../src/store/chunked-collection.js';
import { CorruptFileError } from '../../src/store/durable-file.js';
import { GroupCommit } from '../../src/store/group-commit.js';
import { acquireLock, DataDirLockedError } from '../../src/store/lock.js';
import { LowdbStore } from '../../src/store/lowdb-store.js';
import { storeContract } from './contract.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsg-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Rec {
  id: string;
  n: number;
}

describe('ChunkedCollection', () => {
  it('keeps records in bounded chunks and finds them again after a reload', async () => {
    const commit = new GroupCommit();
    const col = new ChunkedCollection<Rec>(join(dir, 'recs'), commit, (r) => r.id, 10);
    await col.load(() => undefined);
    for (let i = 0; i < 25; i++) await col.put('p/2026-01-01', { id: `r${i}`, n: i });
    await commit.commit();
    const files = (await readdir(join(dir, 'recs', 'p', '2026-01-01'))).sort();
    expect(files).toEqual(['c-000001.json', 'c-000002.json', 'c-000003.json']);
    const chunk = JSON.parse(await readFile(join(dir, 'recs', 'p', '2026-01-01', 'c-000003.json'), 'utf8'));
    expect(chunk.records).toHaveLength(5);

    const again = new ChunkedCollection<Rec>(join(dir, 'recs'), new GroupCommit(), (r) => r.id, 10);
    const seen: string[] = [];
    await again.load((r) => seen.push(r.id));
    expect(seen).toHaveLength(25);
    expect(await again.get('r17')).toEqual({ id: 'r17', n: 17 });
  });

  it('concurrent puts that open a chunk all land in it (a second tail for the same chunk lost the first put)', async () => {
    const commit = new GroupCommit();
    const col = new ChunkedCollection<Rec>(join(dir, 'recs'), commit, (r) => r.id, 3);
    await col.load(() => undefined);
    // 7 at once into a new partition: chunk 1 is opened by the first, chunks 2 and 3 when each fills.
    await Promise.all(Array.from({ length: 7 }, (_, i) => col.put('p/2026-01-01', { id: `r${i}`, n: i })));
    await commit.commit();
    const again = new ChunkedCollection<Rec>(join(dir, 'recs'), new GroupCommit(), (r) => r.id, 3);
    const seen: string[] = [];
    await again.load((r) => seen.push(r.id));
    expect(seen.sort()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
    expect((await readdir(join(dir, 'recs', 'p', '2026-01-01'))).sort()).toEqual(['c-000001.json', 'c-000002.json', 'c-000003.json']);
  });

  it('keeps at most cacheSize chunks in memory under appends only (a gateway that only took pushes kept every chunk it wrote)', async () => {
    const commit = new GroupCommit();
    const col = new ChunkedCollection<Rec>(join(dir, 'recs'), commit, (r) => r.id, 10, 4);
    await col.load(() => undefined);
    for (let i = 0; i < 200; i++) {
      await col.put('p/2026-01-01', { id: `r${i}`, n: i });
      if (i % 7 === 6) await commit.commit();
    }
    await commit.commit();
    await col.put('p/2026-01-01', { id: 'last', n: -1 }); // a new tail evicts what is on disk
    await commit.commit();
    expect(col.cachedChunks).toBeLessThanOrEqual(5);
    // Evicted chunks are read back from disk.
    expect(await col.get('r3')).toEqual({ id: 'r3', n: 3 });
    expect(await col.get('r150')).toEqual({ id: 'r150', n: 150 });
    expect(col.size).toBe(201);
  });

  it('updates a record in place, in its own chunk, without adding one', async () => {
    const commit = new GroupCommit();
    const col = new ChunkedCollection<Rec>(join(dir, 'recs'), commit, (r) => r.id, 10);
    await col.load(() => undefined);
    await col.put('a', { id: 'x', n: 1 });
    await col.put('b', { id: 'x', n: 2 });
    await commit.commit();
    expect(col.size).toBe(1);
    expect(await readdir(join(dir, 'recs'))).toEqual(['a']);
    const chunk = JSON.parse(await readFile(join(dir, 'recs', 'a', 'c-000001.json'), 'utf8'));
    expect(chunk.records).toEqual([{ id: 'x', n: 2 }]);
  });

  it('refuses to start on a corrupt chunk, naming it, and leaves it untouched', async () => {
    const commit = new GroupCommit();
    const col = new ChunkedCollection<Rec>(join(dir, 'recs'), commit, (r) => r.id, 10);
    await col.load(() => undefined);
    await col.put('a', { id: 'x', n: 1 });
    await commit.commit();
    const path = join(dir, 'recs', 'a', 'c-000001.json');
    await writeFile(path, '{"records": [');
    const broken = new ChunkedCollection<Rec>(join(dir, 'recs'), new GroupCommit(), (r) => r.id, 10);
    await expect(broken.load(() => undefined)).rejects.toThrow(CorruptFileError);
    await expect(broken.load(() => undefined)).rejects.toThrow(path);
    expect(await readFile(path, 'utf8')).toBe('{"records": [');
  });
});

describe('GroupCommit', () => {
  it('shares one flush round between concurrent committers', async () => {
    const commit = new GroupCommit();
    let writes = 0;
    const writer = (path: string) => ({ path, write: async () => void writes++ });
    commit.markDirty(writer(join(dir, 'a')));
    const first = commit.commit();
    const rest = Array.from({ length: 20 }, (_, i) => {
      commit.markDirty(writer(join(dir, `b${i % 2}`)));
      return commit.commit();
    });
    await Promise.all([first, ...rest]);
    expect(commit.rounds).toBe(2);
    expect(writes).toBe(3);
  });

  it('rejects the waiters of a failed round and writes their files in the next one', async () => {
    const commit = new GroupCommit();
    let fail = true;
    let written = 0;
    commit.markDirty({
      path: join(dir, 'x'),
      write: async () => {
        if (fail) throw new Error('disk full');
        written++;
      },
    });
    await expect(commit.commit()).rejects.toThrow('disk full');
    fail = false;
    await commit.commit();
    expect(written).toBe(1);
  });
});

describe('data dir lock', () => {
  it('refuses a second holder while the first is alive, naming dir and pid', async () => {
    await writeFile(join(dir, 'gateway.lock'), JSON.stringify({ pid: process.ppid }));
    const err = await acquireLock(dir).catch((e) => e);
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect(err.message).toContain(dir);
    expect(err.message).toContain(String(process.ppid));
  });

  it('takes over a lock left by a dead process', async () => {
    await writeFile(join(dir, 'gateway.lock'), JSON.stringify({ pid: 2 ** 22 + 12345 }));
    const release = await acquireLock(dir);
    expect(JSON.parse(await readFile(join(dir, 'gateway.lock'), 'utf8')).pid).toBe(process.pid);
    await release();
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('LowdbStore', () => {
  it('journals raw bodies append-only, one file per day', async () => {
    const store = new LowdbStore(dir);
    await store.open({ onSale: () => undefined, onQuarantine: () => undefined, onModification: () => undefined });
    store.journal({ at: '2026-11-23T10:00:00.000Z', method: 'POST', path: '/invoice', body: '{"invoices":[]}' });
    store.journal({ at: '2026-11-23T11:00:00.000Z', method: 'POST', path: '/invoice', body: 'not json' });
    await store.commit();
    store.journal({ at: '2026-11-24T09:00:00.000Z', method: 'POST', path: '/invoice', body: '{}' });
    await store.commit();
    await store.close();
    const day1 = (await readFile(join(dir, 'journal', '2026-11-23.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(day1.map((e) => e.body)).toEqual(['{"invoices":[]}', 'not json']);
    expect(await readdir(join(dir, 'journal'))).toEqual(['2026-11-23.ndjson', '2026-11-24.ndjson']);
  });
});

describe('journal after a crash', () => {
  it('starts a fresh line after a torn last line, so later entries stay parseable', async () => {
    const journalDir = join(dir, 'journal');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(journalDir, { recursive: true });
    await writeFile(join(journalDir, '2026-11-25.ndjson'), '{"at":"2026-11-25T01:00:00.000Z","body":"ok"}\n{"at":"2026-11-25T02:00:00.000Z","bo');
    const store = new LowdbStore(dir);
    await store.open({ onSale: () => undefined, onQuarantine: () => undefined, onModification: () => undefined });
    store.journal({ at: '2026-11-25T03:00:00.000Z', method: 'POST', path: '/invoice', body: 'after' });
    await store.commit();
    await store.close();
    const lines = (await readFile(join(journalDir, '2026-11-25.ndjson'), 'utf8')).split('\n');
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[2]).body).toBe('after');
  });
});

// The store contract (contract.ts), the same for the PostgreSQL adapter (postgres-store.test.ts);
// it holds the "feed entry on disk, articles.json not" crash case that used to be here.
storeContract(
  'lowdb',
  async () => {
    const dataDir = join(dir, 'data');
    return {
      storeConfig: { dataDir, seedDemo: false },
      name: dataDir,
      async readJournal() {
        const files = (await readdir(join(dataDir, 'journal'))).sort();
        const lines = await Promise.all(files.map(async (f) => (await readFile(join(dataDir, 'journal', f), 'utf8')).split('\n').filter(Boolean)));
        return lines.flat().map((l) => JSON.parse(l));
      },
    };
  },
  { lockInProcess: false },
);
