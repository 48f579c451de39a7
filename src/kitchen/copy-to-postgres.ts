import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GroupCommit } from '../store/group-commit.js';
import type { PgStore } from '../store/postgres/pg-store.js';
import { LowdbKitchenStore } from './lowdb-kitchen-store.js';
import { PgKitchenStore } from './pg-kitchen-store.js';
import type { KitchenJournalEntry, KitchenOrder } from './types.js';

/**
 * `migrate-store`: the kitchen orders and journal of a data dir into PostgreSQL. Orders are
 * upserted by id; the journal of the copied orders is replaced, so a resumed copy adds each
 * line once.
 */
export async function copyKitchen(dataDir: string, commit: GroupCommit, target: PgStore): Promise<{ orders: number; journal: number }> {
  if (!existsSync(join(dataDir, 'kitchen'))) return { orders: 0, journal: 0 };
  const orders: KitchenOrder[] = [];
  await new LowdbKitchenStore(dataDir, commit).load((_e, o) => orders.push(o!));
  const entries: KitchenJournalEntry[] = [];
  const journalDir = join(dataDir, 'kitchen', 'journal');
  for (const file of existsSync(journalDir) ? (await readdir(journalDir)).filter((f) => f.endsWith('.ndjson')).sort() : []) {
    for (const line of (await readFile(join(journalDir, file), 'utf8')).split('\n')) {
      if (!line.trim()) continue;
      try {
        entries.push(JSON.parse(line) as KitchenJournalEntry);
      } catch {
        // A torn last line (a crash mid-append) was never acknowledged.
      }
    }
  }
  await target.pool.query('DELETE FROM kitchen_journal WHERE order_id = ANY($1::bigint[])', [entries.map((e) => Number(e.orderId))]);
  const store = new PgKitchenStore(target);
  for (const o of orders) await store.put(o);
  for (const e of entries) store.journal(e);
  await target.commit();
  return { orders: orders.length, journal: entries.length };
}
