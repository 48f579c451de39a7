import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptFileError, fsyncDir, writeFileAtomic } from '../store/durable-file.js';

/** A device created in the back office (config devices stay in the config file). */
export interface RuntimeDevice {
  username: string;
  passwordHash: string;
  cashRegister: string;
  createdAt: string;
  passwordChangedAt: string;
}

export interface AdminSettings {
  devices: RuntimeDevice[];
  /** Per product: at or below this quantity its stock is shown as low (absent: no threshold). */
  lowStock: Record<string, string>;
}

const FILE = 'admin-settings.json';

/**
 * What the back office keeps besides the articles and sales: devices created at run time and
 * low-stock thresholds. A small document, rewritten whole (atomic, fsynced) on each change.
 */
export class AdminSettingsStore {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    readonly data: AdminSettings,
  ) {}

  static async open(dataDir: string): Promise<AdminSettingsStore> {
    const path = join(dataDir, FILE);
    let text: string | null = null;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text === null) return new AdminSettingsStore(dataDir, { devices: [], lowStock: {} });
    try {
      const parsed = JSON.parse(text) as Partial<AdminSettings>;
      return new AdminSettingsStore(dataDir, { devices: parsed.devices ?? [], lowStock: parsed.lowStock ?? {} });
    } catch (err) {
      throw new CorruptFileError(path, (err as Error).message);
    }
  }

  /** Durable once it resolves; writes run one after the other, each with the latest data. */
  save(): Promise<void> {
    const next = this.writing.then(async () => {
      await writeFileAtomic(join(this.dir, FILE), `${JSON.stringify(this.data, null, 1)}\n`);
      await fsyncDir(this.dir);
    });
    this.writing = next.catch(() => undefined);
    return next;
  }
}
