import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LowdbRuntimeSettingsStore } from '../../src/store/lowdb-settings.js';
import { removeDir } from '../helpers.js';

const dirs: string[] = [];
const dataDir = async () => {
  const d = await mkdtemp(join(tmpdir(), 'tsg-settings-'));
  dirs.push(d);
  return d;
};
const at = '2026-12-01T08:00:00.000Z';
const device = (username: string, passwordHash = 'scrypt$x') => ({ username, passwordHash, cashRegister: 'TAB-9', createdAt: at, passwordChangedAt: at });

describe('runtime settings in admin-settings.json (lowdb)', () => {
  afterEach(async () => {
    for (const d of dirs.splice(0)) await removeDir(d);
  });

  it('reads a file written by the previous version and writes the same document', async () => {
    const dir = await dataDir();
    const before = { devices: [device('tablet-9')], lowStock: { 7: '3' } };
    await writeFile(join(dir, 'admin-settings.json'), `${JSON.stringify(before, null, 1)}\n`);
    const store = new LowdbRuntimeSettingsStore(dir);
    expect(await store.load()).toEqual({ version: 0, data: before });
    expect(await store.addDevice(device('tablet-9'))).toBeNull();
    expect(await store.addDevice(device('tablet-8'))).toBe(1);
    expect(await store.setLowStock('7', null)).toBe(2);
    expect(await store.updateDevice({ ...device('tablet-8', 'scrypt$y'), passwordChangedAt: '2026-12-02T08:00:00.000Z' })).toBe(3);
    expect(await store.deleteDevice('tablet-9')).toBe(4);
    expect(await store.deleteDevice('tablet-9')).toBeNull();
    expect(await store.changesSince(0)).toBeNull();
    const after = { devices: [{ ...device('tablet-8', 'scrypt$y'), passwordChangedAt: '2026-12-02T08:00:00.000Z' }], lowStock: {} };
    expect(await readFile(join(dir, 'admin-settings.json'), 'utf8')).toBe(`${JSON.stringify(after, null, 1)}\n`);
    expect((await new LowdbRuntimeSettingsStore(dir).load()).data).toEqual(after);
  });

  it('a write that fails is undone: memory stays what the file holds', async () => {
    const dir = await dataDir();
    const store = new LowdbRuntimeSettingsStore(dir);
    await store.load();
    await store.addDevice(device('tablet-8'));
    // A folder where the file goes: the rename fails (for root too).
    await rm(join(dir, 'admin-settings.json'));
    await mkdir(join(dir, 'admin-settings.json', 'x'), { recursive: true });
    await expect(store.addDevice(device('tablet-9'))).rejects.toThrow();
    await expect(store.setLowStock('7', '2')).rejects.toThrow();
    await expect(store.deleteDevice('tablet-8')).rejects.toThrow();
    await rm(join(dir, 'admin-settings.json'), { recursive: true });
    expect(await store.addDevice(device('tablet-7'))).not.toBeNull();
    expect(JSON.parse(await readFile(join(dir, 'admin-settings.json'), 'utf8'))).toEqual({ devices: [device('tablet-8'), device('tablet-7')], lowStock: {} });
  });
});
