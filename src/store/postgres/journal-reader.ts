import { createClient, DatabaseUnavailableError } from './connection.js';
import { journalEntryOf } from './pg-store.js';
import type { JournalEntry } from '../records.js';

const PAGE = 500;

/**
 * The journal table, oldest first, in pages by id: only reads (a gateway may be writing at the
 * same time), and never holds more than a page in memory.
 */
export async function* readPgJournal(url: string, since?: Date): AsyncGenerator<JournalEntry> {
  const client = createClient(url, 'tabshop-gateway capture');
  try {
    await client.connect();
  } catch (err) {
    throw new DatabaseUnavailableError(url, err);
  }
  try {
    let last = '0';
    for (;;) {
      const { rows } = await client.query<Parameters<typeof journalEntryOf>[0] & { id: string }>(
        `SELECT id, received_at, request_id, device, cash_register, method, path, query, content_type, legacy, headers, body, body_encoding
           FROM journal WHERE id > $1 AND ($2::timestamptz IS NULL OR received_at >= $2) ORDER BY id LIMIT ${PAGE}`,
        [last, since ?? null],
      );
      for (const row of rows) yield journalEntryOf(row);
      if (rows.length < PAGE) return;
      last = rows[rows.length - 1].id;
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}
