import { appendFile, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CorruptFileError } from '../../src/store/durable-file.js';
import { LowdbStore } from '../../src/store/lowdb-store.js';
import type { QuarantineItem, SaleRecord } from '../../src/store/records.js';
import { chunkJson, parseSegment, recoverWal, WriteAheadLog } from '../../src/store/wal.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsg-wal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function record(id: string, status: SaleRecord['sale']['status'] = 'completed', seq = 1): SaleRecord {
  return {
    sale: {
      identifier: `TAB-1:${id}`,
      cashRegisterName: 'TAB-1',
      createdAt: '2026-11-23T10:00:00.000Z',
      status,
      lines: [],
      payments: [],
      total: 1,
      vat: 0,
      discount: 0,
      costPrice: 0,
      customer: { name: '', address: '', email: '' },
      receiptPrintedAt: null,
    },
    identity: 'i'.repeat(64),
    content: `c${seq}`,
    history: [{ seq, status, at: '2026-11-23T10:00:00.000Z' }],
  };
}

async function openStore(): Promise<{ store: LowdbStore; sales: SaleRecord[]; quarantine: QuarantineItem[] }> {
  const store = new LowdbStore(dir);
  const sales: SaleRecord[] = [];
  const quarantine: QuarantineItem[] = [];
  await store.open({ onSale: (r) => sales.push(r), onQuarantine: (q) => quarantine.push(q), onModification: () => undefined });
  return { store, sales, quarantine };
}

const segments = async () => (await readdir(join(dir, 'wal'))).filter((f) => f.endsWith('.ndjson')).sort();

describe('write-ahead log', () => {
  it('acknowledges a change with one log append, and a restart after a crash (no close) folds it into its chunk', async () => {
    const { store } = await openStore();
    await store.putSale(record('1'), '2026-11-23T10:00:00.000Z');
    await store.putSale(record('2'), '2026-11-23T10:00:00.000Z');
    await store.commit();
    await store.putSale(record('1', 'refunded', 3), '2026-11-23T10:00:00.000Z');
    await store.commit();
    // Crash: no close, no checkpoint. The chunk file does not exist yet; the log holds everything.
    expect(await segments()).toEqual(['wal-000001.ndjson']);
    expect(await readdir(join(dir, 'sales', 'TAB-1', '2026-11-23'))).toEqual([]);

    const again = await openStore();
    expect(again.sales.map((r) => [r.sale.identifier, r.sale.status])).toEqual([
      ['TAB-1:1', 'refunded'],
      ['TAB-1:2', 'completed'],
    ]);
    expect(again.store.recovery.applied).toBe(3);
    expect(await segments()).toEqual([]);
    const chunk = JSON.parse(await readFile(join(dir, 'sales', 'TAB-1', '2026-11-23', 'c-000001.json'), 'utf8'));
    expect(chunk.records).toHaveLength(2);
    await again.store.close();
  });

  it('leaves complete chunk files and an empty log after a clean close', async () => {
    const { store } = await openStore();
    for (let i = 0; i < 5; i++) await store.putSale(record(String(i)), '2026-11-23T10:00:00.000Z');
    await store.putQuarantine({ id: 'q-1', at: '2026-11-23T10:00:00.000Z', code: 'invalid_body', reason: 'x', payload: 'raw' });
    await store.commit();
    await store.close();
    expect(await segments()).toEqual([]);
    const chunk = JSON.parse(await readFile(join(dir, 'sales', 'TAB-1', '2026-11-23', 'c-000001.json'), 'utf8'));
    expect(chunk.records.map((r: SaleRecord) => r.sale.identifier)).toEqual(['TAB-1:0', 'TAB-1:1', 'TAB-1:2', 'TAB-1:3', 'TAB-1:4']);
    const reopened = await openStore();
    expect(reopened.sales).toHaveLength(5);
    expect(reopened.quarantine.map((q) => q.id)).toEqual(['q-1']);
    await reopened.store.close();
  });

  it('ignores a torn append at the end of the log (never acknowledged) and keeps everything before it', async () => {
    const { store } = await openStore();
    await store.putSale(record('1'), '2026-11-23T10:00:00.000Z');
    await store.commit();
    await appendFile(join(dir, 'wal', 'wal-000001.ndjson'), '{"f":"sales/TAB-1/2026-11-23/c-000001.json","n":1,"r":{"sa');
    const again = await openStore();
    expect(again.sales.map((r) => r.sale.identifier)).toEqual(['TAB-1:1']);
    expect(again.store.recovery.tornBytes).toBeGreaterThan(0);
    await again.store.close();
  });

  it('refuses to start on an unreadable entry followed by readable ones, naming the segment, and leaves it untouched', async () => {
    const { store } = await openStore();
    await store.putSale(record('1'), '2026-11-23T10:00:00.000Z');
    await store.commit();
    await store.putSale(record('2'), '2026-11-23T10:00:00.000Z');
    await store.commit();
    const path = join(dir, 'wal', 'wal-000001.ndjson');
    const lines = (await readFile(path, 'utf8')).split('\n');
    const damaged = ['{garbage', ...lines.slice(1)].join('\n');
    await writeFile(path, damaged);
    const err = await new LowdbStore(dir).open({ onSale: () => undefined, onQuarantine: () => undefined, onModification: () => undefined }).catch((e) => e);
    expect(err).toBeInstanceOf(CorruptFileError);
    expect(err.message).toContain(path);
    expect(await readFile(path, 'utf8')).toBe(damaged);
  });

  it('recovers the same chunks when recovery itself is repeated (a crash during recovery)', async () => {
    const { store } = await openStore();
    for (let i = 0; i < 3; i++) await store.putSale(record(String(i)), '2026-11-23T10:00:00.000Z');
    await store.commit();
    await store.putSale(record('1', 'cancelled', 4), '2026-11-23T10:00:00.000Z');
    await store.commit();
    await cp(join(dir, 'wal'), join(dir, 'wal-copy'), { recursive: true });
    await recoverWal(join(dir, 'wal'), dir);
    const first = await readFile(join(dir, 'sales', 'TAB-1', '2026-11-23', 'c-000001.json'), 'utf8');
    await rm(join(dir, 'wal'), { recursive: true });
    await cp(join(dir, 'wal-copy'), join(dir, 'wal'), { recursive: true });
    await recoverWal(join(dir, 'wal'), dir);
    expect(await readFile(join(dir, 'sales', 'TAB-1', '2026-11-23', 'c-000001.json'), 'utf8')).toBe(first);
    expect(JSON.parse(first).records.map((r: SaleRecord) => r.sale.status)).toEqual(['completed', 'cancelled', 'completed']);
  });

  it('checkpoints in the background once the log grows, deleting the segments it covered', async () => {
    const store = new LowdbStore(dir);
    await store.open({ onSale: () => undefined, onQuarantine: () => undefined, onModification: () => undefined });
    for (let i = 0; i < 300; i++) {
      await store.putSale(record(String(i)), `2026-11-${String(1 + (i % 30)).padStart(2, '0')}T10:00:00.000Z`);
      await store.commit();
    }
    // 30 partitions touched: more than the pending-chunk threshold (64 is the default; 30 < 64), so wait for the idle checkpoint.
    await new Promise((r) => setTimeout(r, 1500));
    expect(store.commitQueue.checkpoints).toBeGreaterThan(0);
    expect(await segments()).toEqual([]);
    const chunk = JSON.parse(await readFile(join(dir, 'sales', 'TAB-1', '2026-11-01', 'c-000001.json'), 'utf8'));
    expect(chunk.records).toHaveLength(10);
    await store.close();
  });
});

describe('parseSegment', () => {
  const entry = (n: number) => JSON.stringify({ f: 'sales/a/c-000001.json', n, r: { n } });
  it.each([
    ['complete lines', `${entry(0)}\n${entry(1)}\n`, 2, 0],
    ['a torn last line', `${entry(0)}\n{"f":"sa`, 1, 8],
    ['zero bytes after the last line', `${entry(0)}\n\u0000\u0000\u0000`, 1, 3],
    ['an empty file', '', 0, 0],
  ])('reads %s', (_name, text, count, torn) => {
    const parsed = parseSegment('seg', text);
    expect(parsed.entries).toHaveLength(count);
    expect(parsed.tornBytes).toBe(torn);
  });

  it.each([
    ['garbage before an entry', `{oops\n${entry(0)}\n`],
    ['an entry without an index', `${JSON.stringify({ f: 'x', r: 1 })}\n${entry(0)}\n`],
  ])('refuses %s', (_name, text) => {
    expect(() => parseSegment('seg', text)).toThrow(CorruptFileError);
  });
});

describe('chunkJson', () => {
  it('writes exactly what JSON.stringify would, reusing the logged text of each record once', () => {
    const wal = new WriteAheadLog(join(dir, 'wal'), dir);
    const records = [record('A:1'), record('A:2', 'refunded', 2), { odd: 'a "quoted" \u2028 text', n: [1, null] }];
    const lines = records.map((r, i) => wal.entryLine(join(dir, 'sales', 'A', 'c-000001.json'), i, r));
    expect(lines.map((l) => JSON.parse(l))).toEqual(records.map((r, i) => ({ f: join('sales', 'A', 'c-000001.json'), n: i, r })));
    for (const [i, l] of lines.entries()) expect(l).toBe(`${JSON.stringify({ f: join('sales', 'A', 'c-000001.json'), n: i, r: records[i] })}\n`);
    const data = { records: [...records, record('A:3')] };
    expect(chunkJson(data)).toBe(JSON.stringify(data));
    expect(chunkJson(data)).toBe(JSON.stringify(data)); // the logged texts were used once; serialised afresh now
    const other = { records: [record('B:1')], extra: 1 };
    expect(chunkJson(other as { records: unknown[] })).toBe(JSON.stringify(other));
  });
});

describe('GroupCommit.markLazy', () => {
  it('keeps a lazily marked file out of commit rounds and writes it at close', async () => {
    const { GroupCommit } = await import('../../src/store/group-commit.js');
    const commit = new GroupCommit({ idleMs: 60_000 });
    commit.attachLog(new WriteAheadLog(join(dir, 'wal'), dir));
    let writes = 0;
    commit.markLazy({
      path: join(dir, 'presence.json'),
      write: async () => {
        writes++;
      },
    });
    commit.append(join(dir, 'journal.ndjson'), 'line\n');
    await commit.commit();
    expect(writes).toBe(0);
    expect(await readFile(join(dir, 'journal.ndjson'), 'utf8')).toBe('line\n');
    await commit.close();
    expect(writes).toBe(1);
  });

  it('a markDirty of the same file takes it into the next round', async () => {
    const { GroupCommit } = await import('../../src/store/group-commit.js');
    const commit = new GroupCommit({ idleMs: 60_000 });
    commit.attachLog(new WriteAheadLog(join(dir, 'wal'), dir));
    let writes = 0;
    const writer = {
      path: join(dir, 'presence.json'),
      write: async () => {
        writes++;
      },
    };
    commit.markLazy(writer);
    commit.markDirty(writer);
    await commit.commit();
    expect(writes).toBe(1);
    await commit.close();
    expect(writes).toBe(1);
  });
});
