import { join } from 'node:path';
import { ChunkedCollection } from '../store/chunked-collection.js';
import type { GroupCommit } from '../store/group-commit.js';
import { indexEntryOf, type KitchenStore } from './store.js';
import type { KitchenJournalEntry, KitchenOrder } from './types.js';

const day = (iso: string) => iso.slice(0, 10);

/**
 * kitchen/orders/<day>/c-NNNNNN.json (orders, chunked: a write never rewrites history) and
 * kitchen/journal/<day>.ndjson (every message as received, appended), in the data dir's
 * group commit: the same write-ahead log, fsyncs and rounds as sales.
 */
export class LowdbKitchenStore implements KitchenStore {
  private readonly orders: ChunkedCollection<KitchenOrder>;
  private readonly journalDir: string;
  private journalFile = { day: '', path: '' };

  constructor(
    dataDir: string,
    private readonly commit: GroupCommit,
  ) {
    this.orders = new ChunkedCollection(join(dataDir, 'kitchen', 'orders'), commit, (o) => o.id, 200);
    this.journalDir = join(dataDir, 'kitchen', 'journal');
  }

  async load(visit: Parameters<KitchenStore['load']>[0]): Promise<void> {
    await this.orders.load((o) => visit(indexEntryOf(o), o));
    await this.commit.ensureDir(this.journalDir);
  }

  get(id: string): Promise<KitchenOrder | undefined> {
    return this.orders.get(id);
  }

  put(order: KitchenOrder): Promise<void> {
    return this.orders.put(day(order.receivedAt), order);
  }

  journal(entry: KitchenJournalEntry): void {
    const d = day(entry.at);
    if (this.journalFile.day !== d) this.journalFile = { day: d, path: join(this.journalDir, `${d}.ndjson`) };
    this.commit.append(this.journalFile.path, `${JSON.stringify(entry)}\n`);
  }
}
