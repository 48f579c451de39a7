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
