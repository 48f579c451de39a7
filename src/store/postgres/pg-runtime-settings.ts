import type { Logger } from 'pino';
import type pg from 'pg';
import { namesOf, type PgPool } from './schema-names.js';
import type { RuntimeDevice, RuntimeSettingsChanges, RuntimeSettingsData, RuntimeSettingsStore, SettingsWatch } from '../../domain/ports/runtime-settings.js';
import { OutboxListener } from './outbox-notify.js';
import { numericValue, textValue, timeValue } from './sql-values.js';

/** The channel a settings write notifies on (payload: its version), once it commits. */
export const SETTINGS_CHANNEL = 'tabshop_settings';

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const DEVICE_JSON = `json_build_object('username', username, 'passwordHash', password_hash, 'cashRegister', cash_register,
  'createdAt', ${iso('created_at')}, 'passwordChangedAt', ${iso('password_changed_at')}, 'deleted', deleted)`;

type DeviceRow = RuntimeDevice & { deleted: boolean };
interface SettingsRow {
  version: string;
  devices: DeviceRow[] | null;
  thresholds: { product: string; threshold: string | null }[] | null;
}

const device = ({ deleted: _, ...d }: DeviceRow): RuntimeDevice => d;

/**
 * The runtime settings on PostgreSQL (migrations/0013): one row per device and per threshold, each
 * with the version of the write that last changed it; a deletion stays as a row so other processes
 * learn of it. A write takes the one-row version first, so writes of all processes commit in version
 * order, and each commits (durably: synchronous_commit) before it resolves.
 */
export class PgRuntimeSettingsStore implements RuntimeSettingsStore {
  readonly kind = 'postgres' as const;

  constructor(
    private readonly pool: PgPool,
    private readonly url: string,
    private readonly logger?: Logger,
  ) {}

  async load(): Promise<{ version: number; data: RuntimeSettingsData }> {
    // One statement: one snapshot of the version and the rows.
    const row = await this.read(-1);
    const data: RuntimeSettingsData = { devices: [], lowStock: {} };
    for (const d of row.devices ?? []) if (!d.deleted) data.devices.push(device(d));
    for (const t of row.thresholds ?? []) if (t.threshold !== null) data.lowStock[t.product] = t.threshold;
    return { version: Number(row.version), data };
  }

  async changesSince(version: number): Promise<RuntimeSettingsChanges | null> {
    const row = await this.read(version);
    if (Number(row.version) === version) return null;
    return {
      version: Number(row.version),
      devices: (row.devices ?? []).map((d) => ({ username: d.username, device: d.deleted ? null : device(d) })),
      lowStock: row.thresholds ?? [],
    };
  }

  /** The version, and the rows changed after `after` (both through their version index: nothing when nothing changed). */
  private async read(after: number): Promise<SettingsRow> {
    const { rows } = await this.pool.query<SettingsRow>(
      `SELECT s.version::text AS version,
         (SELECT json_agg(${DEVICE_JSON} ORDER BY version) FROM runtime_devices WHERE version > $1) AS devices,
         (SELECT json_agg(json_build_object('product', product, 'threshold', threshold::text) ORDER BY version)
            FROM low_stock_thresholds WHERE version > $1) AS thresholds
       FROM runtime_settings_state s`,
      [after],
    );
    return rows[0];
  }

  addDevice(d: RuntimeDevice): Promise<number | null> {
    return this.write(async (client, version) => {
      // Taking the name of a deleted device reuses its row; a live one wins (the primary key decides a race).
      const { rowCount } = await client.query(
        `INSERT INTO runtime_devices (username, password_hash, cash_register, created_at, password_changed_at, deleted, version)
         VALUES ($1, $2, $3, $4, $5, false, $6)
         ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash, cash_register = EXCLUDED.cash_register,
           created_at = EXCLUDED.created_at, password_changed_at = EXCLUDED.password_changed_at, deleted = false, version = EXCLUDED.version
         WHERE runtime_devices.deleted`,
        [d.username, d.passwordHash, d.cashRegister, d.createdAt, d.passwordChangedAt, version],
      );
      return rowCount === 1;
    });
  }

  updateDevice(d: RuntimeDevice): Promise<number | null> {
    return this.write(async (client, version) => {
      const { rowCount } = await client.query(
        `UPDATE runtime_devices SET password_hash = $2, cash_register = $3, password_changed_at = $4, version = $5
         WHERE username = $1 AND NOT deleted`,
        [d.username, d.passwordHash, d.cashRegister, d.passwordChangedAt, version],
      );
      return rowCount === 1;
    });
  }

  deleteDevice(username: string): Promise<number | null> {
    return this.write(async (client, version) => {
      const { rowCount } = await client.query(
        `UPDATE runtime_devices SET deleted = true, password_hash = '', version = $2 WHERE username = $1 AND NOT deleted`,
        [username, version],
      );
      return rowCount === 1;
    });
  }

  async setLowStock(product: string, threshold: string | null): Promise<number> {
    const version = await this.write(async (client, v) => {
      await client.query(
        `INSERT INTO low_stock_thresholds (product, threshold, version) VALUES ($1, $2, $3)
         ON CONFLICT (product) DO UPDATE SET threshold = EXCLUDED.threshold, version = EXCLUDED.version`,
        [textValue(product), threshold, v],
      );
      return true;
    });
    return version!;
  }

  /**
   * Adds the devices and thresholds of a data dir's admin-settings.json that have no row yet (a
   * deleted device or removed threshold has one: an import never brings it back), in one transaction.
   */
  async importFile(data: RuntimeSettingsData): Promise<{ devices: number; lowStock: number; skipped: string[] }> {
    const counts = { devices: 0, lowStock: 0, skipped: [] as string[] };
    await this.write(async (client, version) => {
      for (const d of data.devices) {
        if (![d?.username, d?.passwordHash, d?.cashRegister].every((v) => typeof v === 'string' && textValue(v) === v)) {
          counts.skipped.push(`device ${String(d?.username)}`);
          continue;
        }
        const { rowCount } = await client.query(
          `INSERT INTO runtime_devices (username, password_hash, cash_register, created_at, password_changed_at, version)
           VALUES ($1, $2, $3, coalesce($4::timestamptz, now()), coalesce($5::timestamptz, $4::timestamptz, now()), $6)
           ON CONFLICT (username) DO NOTHING`,
          [d.username, d.passwordHash, d.cashRegister, timeValue(d.createdAt), timeValue(d.passwordChangedAt), version],
        );
        counts.devices += rowCount ?? 0;
      }
      for (const [product, threshold] of Object.entries(data.lowStock)) {
        const value = numericValue(threshold);
        if (value === null) {
          counts.skipped.push(`threshold of ${product}`);
          continue;
        }
        const { rowCount } = await client.query(
          'INSERT INTO low_stock_thresholds (product, threshold, version) VALUES ($1, $2, $3) ON CONFLICT (product) DO NOTHING',
          [textValue(product), value, version],
        );
        counts.lowStock += rowCount ?? 0;
      }
      return counts.devices + counts.lowStock > 0;
    });
    return counts;
  }

  watch(onChange: () => void): SettingsWatch {
    const listener = new OutboxListener({
      url: this.url,
      channel: namesOf(this.pool).channel(SETTINGS_CHANNEL),
      label: 'settings',
      onNotify: () => onChange(),
      logger: this.logger ?? silent,
    });
    listener.start();
    return {
      get listening() {
        return listener.listening;
      },
      stop: () => listener.stop(),
    };
  }

  /**
   * One transaction: raise the version (its row lock orders the writes of every process), let
   * `change` write with it, notify, commit. `change` answering false rolls back: null.
   */
  private async write(change: (client: pg.PoolClient, version: number) => Promise<boolean>): Promise<number | null> {
    const client = await this.pool.connect();
    let failed: Error | undefined;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ version: string }>('UPDATE runtime_settings_state SET version = version + 1 RETURNING version::text AS version');
      const version = Number(rows[0].version);
      if (!(await change(client, version))) {
        await client.query('ROLLBACK');
        return null;
      }
      await client.query(`SELECT pg_notify('${namesOf(this.pool).channel(SETTINGS_CHANNEL)}', $1)`, [String(version)]);
      await client.query('COMMIT');
      return version;
    } catch (err) {
      failed = err as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release(failed);
    }
  }
}

const silent = { warn: () => undefined, debug: () => undefined } as unknown as Logger;
