import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeDevice, RuntimeSettingsData, RuntimeSettingsStore } from '../domain/ports/runtime-settings.js';
import { CorruptFileError, fsyncDir, writeFileAtomic } from './durable-file.js';

export const SETTINGS_FILE = 'admin-settings.json';

/** admin-settings.json of a data dir, or null when there is none. */
export async function readSettingsFile(dataDir: string): Promise<RuntimeSettingsData | null> {
  const path = join(dataDir, SETTINGS_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<RuntimeSettingsData>;
    return { devices: parsed.devices ?? [], lowStock: parsed.lowStock ?? {} };
  } catch (err) {
    throw new CorruptFileError(path, (err as Error).message);
  }
}

/**
 * The runtime settings in admin-settings.json of the data dir: a small document, rewritten whole
 * (atomic, fsynced) on each change. One process owns a data dir, so nothing changes behind its
 * back: versions count this process's writes only.
 */
export class LowdbRuntimeSettingsStore implements RuntimeSettingsStore {
  readonly kind = 'lowdb' as const;
  private data: RuntimeSettingsData = { devices: [], lowStock: {} };
  private version = 0;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string) {}

  async load(): Promise<{ version: number; data: RuntimeSettingsData }> {
    this.data = (await readSettingsFile(this.dir)) ?? { devices: [], lowStock: {} };
    return { version: this.version, data: structuredClone(this.data) };
  }

  async changesSince(_version: number): Promise<null> {
    return null;
  }

  addDevice(device: RuntimeDevice): Promise<number | null> {
    if (this.data.devices.some((d) => d.username === device.username)) return Promise.resolve(null);
    this.data.devices.push({ ...device });
    return this.save(() => {
      this.data.devices = this.data.devices.filter((d) => d.username !== device.username);
    });
  }

  updateDevice(device: RuntimeDevice): Promise<number | null> {
    const i = this.data.devices.findIndex((d) => d.username === device.username);
    if (i < 0) return Promise.resolve(null);
    const before = this.data.devices[i];
    this.data.devices[i] = { ...device };
    return this.save(() => {
      const j = this.data.devices.findIndex((d) => d.username === device.username);
      if (j >= 0) this.data.devices[j] = before;
    });
  }

  deleteDevice(username: string): Promise<number | null> {
    const i = this.data.devices.findIndex((d) => d.username === username);
    if (i < 0) return Promise.resolve(null);
    const [before] = this.data.devices.splice(i, 1);
    return this.save(() => {
      this.data.devices.push(before);
    });
  }

  async setLowStock(product: string, threshold: string | null): Promise<number> {
    const before = this.data.lowStock[product];
    if (threshold === null) delete this.data.lowStock[product];
    else this.data.lowStock[product] = threshold;
    return (await this.save(() => {
      if (before === undefined) delete this.data.lowStock[product];
      else this.data.lowStock[product] = before;
    })) as number;
  }

  /** Durable once it resolves; writes run one after the other, each with the latest data. A failed write is undone in memory. */
  private save(undo: () => void): Promise<number> {
    const version = ++this.version;
    const next = this.writing.then(async () => {
      await writeFileAtomic(join(this.dir, SETTINGS_FILE), `${JSON.stringify(this.data, null, 1)}\n`);
      await fsyncDir(this.dir);
    });
    this.writing = next.catch(() => undefined);
    return next.then(
      () => version,
      (err) => {
        undo();
        throw err;
      },
    );
  }
}
