import type { Logger } from 'pino';
import type { Accounts } from '../auth/accounts.js';
import type { RuntimeDevice, RuntimeSettingsChanges, RuntimeSettingsStore, SettingsWatch } from '../domain/ports/runtime-settings.js';

export type { RuntimeDevice } from '../domain/ports/runtime-settings.js';

/**
 * This process's copy of the runtime settings (devices created in the back office, low-stock
 * thresholds), kept in step with the store and with `accounts`. On PostgreSQL other processes
 * write too: `sync` brings in what they changed (a notification marks the copy stale; with no
 * LISTEN connection every use asks the store's version).
 */
export class RuntimeSettings {
  private readonly devices = new Map<string, RuntimeDevice>();
  /** Per product: at or below this quantity its stock is shown as low. Updated in place. */
  readonly lowStock: Record<string, string> = {};
  private version = 0;
  private stale = true;
  private watcher: SettingsWatch | undefined;
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  private constructor(
    private readonly store: RuntimeSettingsStore,
    private readonly accounts: Accounts,
    private readonly logger: Logger,
  ) {}

  static async open(store: RuntimeSettingsStore, accounts: Accounts, logger: Logger): Promise<RuntimeSettings> {
    const settings = new RuntimeSettings(store, accounts, logger);
    if (store.watch) {
      // Watch before loading: a change made meanwhile is announced, not lost.
      settings.watcher = store.watch(() => {
        settings.stale = true;
      });
      accounts.useSync((strict) => settings.sync(strict));
    }
    try {
      const { version, data } = await store.load();
      settings.version = version;
      for (const d of data.devices) settings.put(d);
      Object.assign(settings.lowStock, data.lowStock);
    } catch (err) {
      await settings.close();
      throw err;
    }
    return settings;
  }

  async close(): Promise<void> {
    await this.watcher?.stop();
  }

  /** The devices created in the back office (stored ones; one the config file took over is listed too). */
  list(): RuntimeDevice[] {
    return [...this.devices.values()];
  }

  device(username: string): RuntimeDevice | undefined {
    return this.devices.get(username);
  }

  /**
   * Up to date with the store. strict: ask for its version now (one read of one row on PostgreSQL);
   * otherwise only if this copy may be stale. undefined when there was nothing to ask.
   */
  sync(strict = true): Promise<void> | undefined {
    if (!this.store.watch) return undefined; // lowdb: no other process writes
    if (!strict && !this.stale && this.watcher?.listening) return undefined;
    if (!this.running) return this.read();
    // A read is running, perhaps begun before what the caller must see: the caller waits for the next one.
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.read();
      });
    return this.queued;
  }

  /** For a page that only shows the settings: up to date if the store answers, else what this process holds. */
  async syncForReading(): Promise<void> {
    try {
      await this.sync();
    } catch (err) {
      this.logger.warn({ err }, 'runtime settings: the store does not answer; showing what this process holds');
    }
  }

  private read(): Promise<void> {
    this.stale = false;
    const run: Promise<void> = this.store
      .changesSince(this.version)
      .then(
        (changes) => {
          if (changes) this.apply(changes);
        },
        (err) => {
          this.stale = true;
          throw err;
        },
      )
      .finally(() => {
        if (this.running === run) this.running = null;
      });
    this.running = run;
    return run;
  }

  /** false: the username is taken (here, or by another process on the same store). */
  async createDevice(device: RuntimeDevice): Promise<boolean> {
    await this.sync();
    if (this.accounts.has(device.username)) return false;
    const version = await this.store.addDevice(device);
    if (version === null) {
      this.stale = true;
      return false;
    }
    this.wrote(version, () => this.put(device));
    return true;
  }

  /** The device with its new password, or null when it is not a back-office device (any more). */
  async changePassword(username: string, passwordHash: string, at: string): Promise<RuntimeDevice | null> {
    const current = this.devices.get(username);
    if (!current) return null;
    const changed = { ...current, passwordHash, passwordChangedAt: at };
    const version = await this.store.updateDevice(changed);
    if (version === null) {
      this.stale = true;
      return null;
    }
    this.wrote(version, () => this.put(changed));
    return changed;
  }

  async deleteDevice(username: string): Promise<boolean> {
    const version = await this.store.deleteDevice(username);
    if (version === null) {
      this.stale = true;
      return false;
    }
    this.wrote(version, () => this.remove(username));
    return true;
  }

  /** A threshold of null removes it. */
  async setThreshold(product: string, threshold: string | null): Promise<void> {
    const version = await this.store.setLowStock(product, threshold);
    this.wrote(version, () => this.setLowStock(product, threshold));
  }

  /** Applies this process's own write; if another process wrote in between, the next sync reads both. */
  private wrote(version: number, apply: () => void): void {
    apply();
    if (version === this.version + 1) this.version = version;
    else this.stale = true;
  }

  private apply(changes: RuntimeSettingsChanges): void {
    for (const { username, device } of changes.devices) {
      if (device) this.put(device);
      else this.remove(username);
    }
    for (const { product, threshold } of changes.lowStock) this.setLowStock(product, threshold);
    this.version = Math.max(this.version, changes.version);
  }

  private put(d: RuntimeDevice): void {
    const before = this.devices.get(d.username);
    this.devices.set(d.username, d);
    if (before && this.accounts.originOf(d.username) === 'runtime') {
      if (before.passwordHash !== d.passwordHash) this.accounts.setRuntimePassword(d.username, d.passwordHash);
      return;
    }
    if (this.accounts.has(d.username))
      this.logger.warn(
        { username: d.username },
        `device ${d.username} created in the back office is ignored: the config file now has an account with that name`,
      );
    else this.accounts.addRuntimeDevice(d);
  }

  private remove(username: string): void {
    if (!this.devices.delete(username)) return;
    this.accounts.removeRuntimeDevice(username);
  }

  private setLowStock(product: string, threshold: string | null): void {
    if (threshold === null) delete this.lowStock[product];
    else this.lowStock[product] = threshold;
  }
}
