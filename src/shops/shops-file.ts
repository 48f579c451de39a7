import { join } from 'node:path';
import { fsyncDir, mkdirRecorded, readJsonFile, writeFileAtomic } from '../store/durable-file.js';

/** The shop directory's own document, in the root data dir (which is also shop "default"'s data dir). */
export const SHOPS_FILE = 'shops.json';

export interface StoredAdmin {
  username: string;
  passwordHash: string;
}

export interface StoredDevice extends StoredAdmin {
  cashRegister: string;
}

/**
 * A shop as the directory keeps it: a shop created through the API whole; for a shop of the config
 * file only what the API added to it (devices, admins, the disabled flag).
 */
export interface StoredShop {
  id: string;
  name?: string;
  currency?: string;
  timeZone?: string;
  disabled?: boolean;
  createdAt: string;
  devices: StoredDevice[];
  admins: StoredAdmin[];
}

export interface ShopsDocument {
  shops: StoredShop[];
}

export async function readShopsFile(dataDir: string): Promise<ShopsDocument | null> {
  const doc = await readJsonFile<ShopsDocument>(join(dataDir, SHOPS_FILE));
  if (doc === null) return null;
  return { shops: Array.isArray(doc.shops) ? doc.shops : [] };
}

/** Durable before it returns: written, fsynced, renamed, its folder fsynced. */
export async function writeShopsFile(dataDir: string, doc: ShopsDocument): Promise<void> {
  await mkdirRecorded(dataDir);
  await writeFileAtomic(join(dataDir, SHOPS_FILE), `${JSON.stringify(doc, null, 1)}\n`);
  await fsyncDir(dataDir);
}

/** Where the directory's document is kept: shops.json in the data dir (lowdb), or a table (PostgreSQL). */
export interface ShopsStorage {
  /** For the log: shops.json, the table shop_directory. */
  readonly name: string;
  read(): Promise<ShopsDocument | null>;
  /** Durable before it returns; `changed` is the shop the change was about (a table writes its row only). */
  write(doc: ShopsDocument, changed: string): Promise<void>;
  close(): Promise<void>;
}

export class ShopsFile implements ShopsStorage {
  readonly name = SHOPS_FILE;

  constructor(private readonly dataDir: string) {}

  read(): Promise<ShopsDocument | null> {
    return readShopsFile(this.dataDir);
  }

  write(doc: ShopsDocument): Promise<void> {
    return writeShopsFile(this.dataDir, doc);
  }

  async close(): Promise<void> {}
}
