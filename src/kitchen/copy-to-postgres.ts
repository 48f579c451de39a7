import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GroupCommit } from '../store/group-commit.js';
import type { PgStore } from '../store/postgres/pg-store.js';
import { textValue, timeValue } from '../store/postgres/sql-values.js';
import { LowdbKitchenStore } from './lowdb-kitchen-store.js';
import { insertKitchenOrders } from './pg-kitchen-orders.js';
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
  const client = await target.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('DELETE FROM kitchen_journal WHERE order_id = ANY($1::bigint[])', [entries.map((e) => Number(e.orderId))]);
    await insertKitchenOrders(client, orders);
    for (const e of entries)
      await client.query('INSERT INTO kitchen_journal (received_at, source, order_id, body) VALUES ($1, $2, $3, $4)', [
        timeValue(e.at),
        textValue(e.source) ?? '',
        Number(e.orderId),
        Buffer.from(e.raw, 'base64'),
      ]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  return { orders: orders.length, journal: entries.length };
}
