import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const DOMAIN = join(SRC, 'domain');
const STORE = join(SRC, 'store');

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (e.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Every module a file names in an import or export … from, or a dynamic import(). */
function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(
    /(?:^|[\s;])(?:import|export)\s[^;]*?\sfrom\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  )) {
    found.push(m[1] ?? m[2] ?? m[3]);
  }
  return found;
}

describe('the domain owns its ports (issue 14)', () => {
  it('no file in src/domain imports from src/store', async () => {
    const offending: string[] = [];
    for (const file of await sourceFiles(DOMAIN)) {
      for (const spec of specifiers(await readFile(file, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const target = resolve(dirname(file), spec);
        if (target === STORE || target.startsWith(`${STORE}/`)) offending.push(`${relative(SRC, file)} imports ${spec}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('the scan sees imports of the store (it would catch one)', () => {
    expect(
      specifiers(
        "import type { Store } from '../store/port.js';\nexport { x } from \"../store/records.js\";\nconst m = await import('../store/lowdb-store.js');",
      ),
    ).toEqual(['../store/port.js', '../store/records.js', '../store/lowdb-store.js']);
  });
});
