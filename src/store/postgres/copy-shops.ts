import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { createClient } from './connection.js';
import { quoteSchema } from './schema-names.js';
import { SHOPS_FILE, readShopsFile } from '../../shops/shops-file.js';
import { schemaForShop } from '../shop-schema.js';
import { type CopyReport, copyLowdbToPostgres } from './copy-from-lowdb.js';
import { ShopDirectoryTable } from './shop-directory-table.js';

/** As src/shops/directory.ts SHOP_ID (not imported: the directory loads the whole gateway). */
const SHOP_ID = /^[a-z0-9-]{1,40}$/;

export interface ShopsCopyReport {
  /** Shop default (the data dir itself, into the database's public schema), then every other shop's data dir, each into its schema. */
  shops: { id: string; schema: string; report: CopyReport; copiedBefore: boolean }[];
  /** Rows of shops.json written to the table shop_directory. */
  directory: number;
  ok: boolean;
}

/** A data dir served by a deployment of several shops: shops.json, or a data dir of a shop under shops/. */
export function hasShops(dataDir: string): boolean {
  return existsSync(join(dataDir, SHOPS_FILE)) || existsSync(join(dataDir, 'shops'));
}

const isDataDir = (dir: string) => ['articles.json', 'sales', 'journal'].some((f) => existsSync(join(dir, f)));

/**
 * Copies a lowdb deployment of several shops into PostgreSQL as a deployment on PostgreSQL keeps
 * it: the data dir (shop default) into the public schema, each shop's data dir
 * (`<dataDir>/shops/<id>/`) into the schema `shop_<id>`, and shops.json into the table
 * shop_directory (its usernames under their unique key). Each copy is copyLowdbToPostgres's:
 * locked, resumable, verified. A shop that never stored anything (no data dir yet) gets its schema
 * when it first opens.
 */
export async function copyShopsToPostgres(opts: {
  dataDir: string;
  url: string;
  logger: Logger;
  onProgress?: (what: string, n: number) => void;
}): Promise<ShopsCopyReport> {
  const dataDir = resolve(opts.dataDir);
  const shops: ShopsCopyReport['shops'] = [];
  const copy = async (id: string, dir: string, schema: string) => {
    // Resuming: a shop whose copy was verified already is not copied again (its report is kept).
    const before = await verifiedCopy(opts.url, schema, dir);
    const report =
      before
      ?? (await copyLowdbToPostgres({
        dataDir: dir,
        url: opts.url,
        ...(id !== 'default' && { schema }),
        onProgress: (what, n) => opts.onProgress?.(`${id}: ${what}`, n),
      }));
    shops.push({ id, schema, report, copiedBefore: before !== null });
  };
  await copy('default', dataDir, 'public');
  const root = join(dataDir, 'shops');
  const ids = existsSync(root) ? (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory() && SHOP_ID.test(e.name)).map((e) => e.name) : [];
  for (const id of ids.sort()) {
    const dir = join(root, id);
    if (isDataDir(dir)) await copy(id, dir, schemaForShop(id));
  }
  let directory = 0;
  const doc = await readShopsFile(dataDir);
  if (doc && doc.shops.length > 0) {
    const table = new ShopDirectoryTable({ url: opts.url, poolSize: 2 }, opts.logger);
    try {
      await table.read();
      // One change per shop, as the management API makes it: a run again writes the same rows.
      for (const shop of doc.shops) {
        await table.change(shop.id, (latest) => ({ shops: [...latest.shops.filter((s) => s.id !== shop.id), shop] }));
        directory++;
      }
    } finally {
      await table.close();
    }
  }
  return { shops, directory, ok: shops.every((s) => s.report.ok) };
}

/** The report of a verified copy of `dataDir` into `schema`, if there is one. */
async function verifiedCopy(url: string, schema: string, dataDir: string): Promise<CopyReport | null> {
  const client = createClient(url, 'tabshop-gateway migrate-store');
  await client.connect();
  try {
    const { rows } = await client.query<{ table: string | null }>('SELECT to_regclass($1) AS table', [`${quoteSchema(schema)}.store_imports`]);
    if (!rows[0].table) return null;
    const found = await client.query<{ report: CopyReport }>(
      `SELECT report FROM ${quoteSchema(schema)}.store_imports WHERE source = $1 AND finished_at IS NOT NULL`,
      [dataDir],
    );
    return found.rows[0]?.report ?? null;
  } finally {
    await client.end();
  }
}
