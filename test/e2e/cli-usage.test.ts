import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli, ROOT } from './run-cli.js';

const { version } = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string };

describe('tabshop-gateway usage (issue 18 item 11)', { timeout: 30_000 }, () => {
  it.each([['--version'], ['-V']])('%s prints the version and exits 0', async (flag) => {
    const run = await cli([flag]);
    expect(run).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('an unknown command says so, lists the commands and exits 2 (no gateway is started)', async () => {
    const run = await cli(['frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown command 'frobnicate'");
    for (const name of ['serve', 'hash-password', 'capture', 'replay', 'validate', 'migrate', 'migrate-store']) expect(run.stderr).toContain(`  ${name} `);
    expect(run.stdout).toBe('');
  });
});
