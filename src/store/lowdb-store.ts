import { access, constants, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { ChunkedCollection } from './chunked-collection.js';
import { DurableJSONFile } from './durable-file.js';
import { GroupCommit } from './group-commit.js';
import { acquireLock } from './lock.js';
import { recoverWal, WriteAheadLog } from './wal.js';
import type { Store } from './port.js';
import { articlesFrom, emptyArticles, type ArticlesData, type JournalEntry, type Modification, type QuarantineItem, type SaleRecord } from './records.js';

const day = (iso: string) => iso.slice(0, 10);
const safeSegment = (s: string) => encodeURIComponent(s).replace(/\./g, '%2E');

/** The embedded store: lowdb documents made durable, sales and quarantine in bounded chunks, an append-only journal. */
export class LowdbStore implements Store {
  readonly kind = 'lowdb' as const;
  readonly commitQueue = new GroupCommit();
  /** What start-up recovered from the write-ahead log (after a crash: entries > 0). */
  recovery = { applied: 0, tornBytes: 0 };
  private readonly articlesDb: Low<ArticlesData>;
  private readonly sales: ChunkedCollection<SaleRecord>;
  private readonly quarantine: ChunkedCollection<QuarantineItem>;
  private readonly modifications: ChunkedCollection<Modification>;
  private releaseLock: (() => Promise<void>) | null = null;

  constructor(readonly dataDir: string) {
    this.articlesDb = new Low(new DurableJSONFile<ArticlesData>(join(dataDir, 'articles.json')), emptyArticles());
    this.sales = new ChunkedCollection(join(dataDir, 'sales'), this.commitQueue, (r) => r.sale.identifier);
    this.quarantine = new ChunkedCollection(join(dataDir, 'quarantine'), this.commitQueue, (q) => q.id);
    this.modifications = new ChunkedCollection(join(dataDir, 'modifications'), this.commitQueue, (m) => String(m.version), 1000);
  }

  async open(visit: Parameters<Store['open']>[0]): Promise<void> {
    await this.commitQueue.ensureDir(this.dataDir);
    this.releaseLock = await acquireLock(this.dataDir);
    try {
      // Changes acknowledged but not yet in their chunk files (a crash) go there before anything is read.
      const walDir = join(this.dataDir, 'wal');
      const { nextSegment, ...recovery } = await recoverWal(walDir, this.dataDir);
      this.recovery = recovery;
      this.commitQueue.attachLog(new WriteAheadLog(walDir, this.dataDir, nextSegment));
      await this.articlesDb.read();
      this.articlesDb.data = articlesFrom(this.articlesDb.data);
      await this.sales.load(visit.onSale);
      await this.quarantine.load(visit.onQuarantine);
      await this.modifications.load(visit.onModification);
      await this.commitQueue.ensureDir(join(this.dataDir, 'journal'));
      await this.commit();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    // A clean stop leaves every chunk file complete and the log empty.
    await this.commitQueue.close().catch(() => undefined);
    await this.releaseLock?.();
    this.releaseLock = null;
  }

  async probeWritable(): Promise<boolean> {
    if (this.commitQueue.lastError) return this.retryWrites();
    try {
      await access(this.dataDir, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }

  private retrying: Promise<boolean> | null = null;

  /**
   * After a failed write (a full disk) the store itself is probed: a small file written and synced
   * in the data dir, then a commit round that writes what is still queued. Readiness and `home`
   * recover as soon as that succeeds, without waiting for a tablet's push to do it.
   */
  private retryWrites(): Promise<boolean> {
    this.retrying ??= (async () => {
      try {
        const probe = join(this.dataDir, '.write-probe');
        const fh = await open(probe, 'w');
        try {
          await fh.writeFile('probe\n');
          await fh.sync();
        } finally {
          await fh.close();
        }
        await unlink(probe);
        await this.commit();
        return this.commitQueue.lastError === null;
      } catch {
        return false;
      } finally {
        this.retrying = null;
      }
    })();
    return this.retrying;
  }

  commit(): Promise<void> {
    return this.commitQueue.commit();
  }

  private journalPath = { day: '', path: '' };

  journal(entry: JournalEntry): void {
    const d = day(entry.at);
    if (this.journalPath.day !== d) this.journalPath = { day: d, path: join(this.dataDir, 'journal', `${d}.ndjson`) };
    this.commitQueue.append(this.journalPath.path, `${JSON.stringify(entry)}\n`);
  }

  get articles(): ArticlesData {
    return this.articlesDb.data;
  }

  saveArticles(): void {
    const db = this.articlesDb;
    this.commitQueue.markDirty({ path: (db.adapter as DurableJSONFile<ArticlesData>).path, write: () => db.write() });
  }

  addModification(m: Modification): Promise<void> {
    return this.modifications.put('log', m);
  }

  getSale(identifier: string): Promise<SaleRecord | undefined> {
    return this.sales.get(identifier);
  }

  putSale(record: SaleRecord, partitionDay: string): Promise<void> {
    return this.sales.put(join(safeSegment(record.sale.cashRegisterName), day(partitionDay)), record);
  }

  getQuarantine(id: string): Promise<QuarantineItem | undefined> {
    return this.quarantine.get(id);
  }

  putQuarantine(item: QuarantineItem): Promise<void> {
    return this.quarantine.put(day(item.at), item);
  }

  /** Every stored sale record (exports, rebuilds). */
  allSales(): AsyncGenerator<SaleRecord> {
    return this.sales.all();
  }
}
