import { readdirSync, readFileSync } from 'node:fs';

/** Every `*.json` file of a fixtures folder, parsed, in name order: adding a file adds a test case. */
export function loadFixtures<T>(folder: string): { file: string; fixture: T }[] {
  const dir = new URL(`../../fixtures/${folder}/`, import.meta.url);
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ file, fixture: JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as T }));
}
