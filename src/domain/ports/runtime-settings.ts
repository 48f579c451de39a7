/** A device created in the back office (config devices stay in the config file). */
export interface RuntimeDevice {
  username: string;
  passwordHash: string;
  cashRegister: string;
  createdAt: string;
  passwordChangedAt: string;
}

/** What the back office keeps besides the articles and sales. */
export interface RuntimeSettingsData {
  devices: RuntimeDevice[];
  /** Per product: at or below this quantity its stock is shown as low (absent: no threshold). */
  lowStock: Record<string, string>;
}

/** What changed after a version: a device or threshold of null was deleted. */
export interface RuntimeSettingsChanges {
  version: number;
  devices: { username: string; device: RuntimeDevice | null }[];
  lowStock: { product: string; threshold: string | null }[];
}

/** Told when another process may have changed the settings (PostgreSQL LISTEN). */
export interface SettingsWatch {
  /** While false, notifications may be missed: readers ask for the version on every use. */
  readonly listening: boolean;
  stop(): Promise<void>;
}

/**
 * Storage of the runtime settings (devices created at run time, low-stock thresholds), shared by
 * every process of one store. Each write is durable before it resolves and returns the version it
 * made; versions only grow, so a process that holds version v asks `changesSince(v)`.
 */
export interface RuntimeSettingsStore {
  readonly kind: 'lowdb' | 'postgres';
  load(): Promise<{ version: number; data: RuntimeSettingsData }>;
  /** null when nothing changed after `version` (on PostgreSQL one read of one row). */
  changesSince(version: number): Promise<RuntimeSettingsChanges | null>;
  /** null: the username is stored already (the store decides a race between processes). */
  addDevice(device: RuntimeDevice): Promise<number | null>;
  /** null: no such device. */
  updateDevice(device: RuntimeDevice): Promise<number | null>;
  /** null: no such device. */
  deleteDevice(username: string): Promise<number | null>;
  /** A threshold of null removes it. */
  setLowStock(product: string, threshold: string | null): Promise<number>;
  /** Calls `onChange` when another process may have written (absent: no other process can). */
  watch?(onChange: () => void): SettingsWatch;
}
