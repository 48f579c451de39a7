import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeDir, startTestGateway } from '../helpers.js';
import { spawnCli } from '../e2e/process.js';

describe('tabshop-gateway import-products', () => {
  let dir: string;
  afterEach(async () => removeDir(dir));

  it('imports a CSV into the data dir (dry run first), then the gateway serves the products', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsg-import-'));
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({
        server: { host: '127.0.0.1', port: 0 },
        store: { dataDir: './data' },
        devices: [{ username: 'tablet-1', password: 'pw-tablet-1', cashRegister: 'TAB-1' }],
        admins: [{ username: 'admin', password: 'pw-admin' }],
      }),
    );
    await writeFile(join(dir, 'p.csv'), 'id;title;price;stockqty\r\n1;Tea;1,80;5\r\n2;Bad;x;\r\n');
    const run = async (...args: string[]) => {
      const p = spawnCli(['import-products', join(dir, 'p.csv'), '--config', join(dir, 'config.json'), ...args]);
      let stdout = '';
      p.child.stdout!.on('data', (c) => (stdout += c));
      const code = await p.exited;
      // The config's warnings (plain-text passwords) go to stderr: with --json, stdout is the JSON alone.
      return { code, out: p.output(), json: () => JSON.parse(stdout) };
    };
    const dry = await run('--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('1 would be created, 0 would be changed, 0 unchanged, 1 refused (dry run: nothing written)');
    expect(dry.out).toContain('refused line 3 (id 2): price "x" is not a number');
    const real = await run('--json');
    expect(real.code).toBe(0);
    expect(real.json()).toMatchObject({ dryRun: false, created: [{ identifier: '1', name: 'Tea' }] });
    expect((await run('--json')).json()).toMatchObject({ created: [], changed: [], unchanged: 1 });

    const gw = await startTestGateway({}, dir);
    try {
      const stock = await gw.json('/stock');
      expect(stock.body.products).toMatchObject([{ id: '1', title: 'Tea', price: 1.8, stockqty: 5 }]);
    } finally {
      await gw.stop();
    }
  }, 60_000);
});
