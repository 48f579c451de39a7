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

/** A username the change gives its shop is another shop's (found by the storage under its unique key). */
export class UsernameTakenError extends Error {
  constructor(readonly username: string) {
    super(`username ${username} is taken by another shop`);
    this.name = 'UsernameTakenError';
  }
}

/** Where the directory's document is kept: shops.json in the data dir (lowdb), or a table (PostgreSQL). */
export interface ShopsStorage {
  /** For the log: shops.json, the table shop_directory. */
  readonly name: string;
  /** The stored document (null: none yet). */
  read(): Promise<ShopsDocument | null>;
  /**
   * One change of shop `changed`: `edit` is given the latest document (on PostgreSQL with every other
   * process's changes, read under the directory's lock) and returns the new one, which is durable
   * before the promise resolves. What `edit` throws changes nothing.
   */
  change(changed: string, edit: (latest: ShopsDocument) => ShopsDocument): Promise<ShopsDocument>;
  /** The latest document if another process changed it since this one last read or wrote it, else null. */
  refresh?(): Promise<ShopsDocument | null>;
  /** Calls `onChange` whenever another process may have changed the document; resolves to the way to stop. */
  watch?(onChange: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export class ShopsFile implements ShopsStorage {
  readonly name = SHOPS_FILE;
  private doc: ShopsDocument = { shops: [] };

  constructor(private readonly dataDir: string) {}

  async read(): Promise<ShopsDocument | null> {
    const doc = await readShopsFile(this.dataDir);
    if (doc) this.doc = doc;
    return doc;
  }

  /** One process owns the data dir (its lock): the document it last read or wrote is the latest. */
  async change(_changed: string, edit: (latest: ShopsDocument) => ShopsDocument): Promise<ShopsDocument> {
    const next = edit(this.doc);
    await writeShopsFile(this.dataDir, next);
    this.doc = next;
    return next;
  }

  async close(): Promise<void> {}
}
