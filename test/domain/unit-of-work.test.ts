import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotDurableError } from '../../src/domain/ports/unit-of-work.js';
import { StoreUnitOfWork } from '../../src/domain/unit-of-work.js';
import { LowdbStore } from '../../src/store/lowdb-store.js';
import { removeDir } from '../helpers.js';

let dir: string;
let store: LowdbStore;
let uow: StoreUnitOfWork;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsg-uow-'));
  store = new LowdbStore(dir);
  await store.open({ onSale: () => undefined, onQuarantine: () => undefined, onModification: () => undefined });
  uow = new StoreUnitOfWork(store);
});

afterEach(async () => {
  await store.close().catch(() => undefined);
  await removeDir(dir);
});

const AT = '2026-11-23T10:00:00.000Z';
const journal = (body: string) => store.journal({ at: AT, method: 'POST', path: '/invoice', body });
const journaled = async () =>
  (await readFile(join(dir, 'journal', '2026-11-23.ndjson'), 'utf8').catch(() => ''))
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).body);
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('StoreUnitOfWork (issue 14)', () => {
  it('a transact inside another joins it: one commit round, after all of the work, before the outer resolves', async () => {
    const before = store.commitQueue.rounds;
    const result = await uow.transact(async () => {
      journal('a');
      const inner = await uow.transact(async () => {
        journal('b');
        await tick();
        return 'inner';
      });
      // The inner one did not wait for the store: nothing is on disk yet.
      expect(await journaled()).toEqual([]);
      journal('c');
      return inner;
    });
    expect(result).toBe('inner');
    expect(store.commitQueue.rounds - before).toBe(1);
    expect(await journaled()).toEqual(['a', 'b', 'c']);
  });

  it("another store's unit of work inside one's work (another shop) does not join it: it is durable before it returns", async () => {
    const otherDir = await mkdtemp(join(tmpdir(), 'tsg-uow-other-'));
    const other = new LowdbStore(otherDir);
    await other.open({ onSale: () => undefined, onQuarantine: () => undefined, onModification: () => undefined });
    try {
      const otherUow = new StoreUnitOfWork(other);
      await uow.transact(async () => {
        const before = other.commitQueue.rounds;
        await otherUow.transact(async () => {
          await other.journal({ at: AT, method: 'POST', path: '/invoice', body: 'other' });
        });
        expect(other.commitQueue.rounds - before).toBe(1);
        journal('a');
      });
      expect(await journaled()).toEqual(['a']);
    } finally {
      await other.close().catch(() => undefined);
      await removeDir(otherDir);
    }
  });

  it('concurrent units share commit rounds (32 at once are not 32 rounds)', async () => {
    const before = store.commitQueue.rounds;
    await Promise.all(
      Array.from({ length: 32 }, (_, i) =>
        uow.transact(async () => {
          await tick();
          journal(`p${i}`);
        }),
      ),
    );
    expect(store.commitQueue.rounds - before).toBeLessThanOrEqual(3);
    expect((await journaled()).sort()).toEqual(Array.from({ length: 32 }, (_, i) => `p${i}`).sort());
  });

  it('work that throws is rethrown, without waiting for the store', async () => {
    const before = store.commitQueue.roundsStarted;
    await expect(
      uow.transact(async () => {
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(store.commitQueue.roundsStarted).toBe(before);
  });

  it("a failed commit rejects with NotDurableError (its cause the store's error); the change goes out with the next round that succeeds", async () => {
    const journalDir = join(dir, 'journal');
    await rm(journalDir, { recursive: true, force: true });
    await writeFile(journalDir, 'not a folder');
    const failed = await uow.transact(async () => journal('x')).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(NotDurableError);
    expect((failed as NotDurableError).cause).toBeInstanceOf(Error);
    await rm(journalDir);
    await mkdir(journalDir);
    await uow.durable();
    expect(await journaled()).toEqual(['x']);
  });

  it('work left running by a unit that already finished waits for the store itself', async () => {
    let left: Promise<void> | undefined;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await uow.transact(async () => {
      left = uow.transact(async () => {
        await gate;
        journal('late');
      });
    });
    release();
    await left;
    expect(await journaled()).toEqual(['late']);
  });
});
