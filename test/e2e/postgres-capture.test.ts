import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE, DEVICE2, device2Auth, deviceAuth, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';
import { MISSING_POSTGRES, PG_BIN, skipPostgres, startPostgres, type PgCluster } from '../postgres.js';
import { cli } from './run-cli.js';

let cluster: PgCluster;
let gw: TestGateway;
let url: string;
const dirs: string[] = [];

describe.skipIf(skipPostgres)('capture from a gateway on PostgreSQL', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    if (!PG_BIN) throw new Error(MISSING_POSTGRES);
    cluster = await startPostgres();
    url = await cluster.createDatabase('capture');
    gw = await startTestGateway({ store: { dataDir: './data', postgres: { url } } });
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    if (gw) await removeDir(gw.dir);
    for (const d of dirs) await removeDir(d);
    await cluster?.stop();
  });

  it('exports every raw push of the journal table while the gateway runs, filtered by register', async () => {
    const bodies = [
      { auth: deviceAuth, body: `{"invoices": [${JSON.stringify(invoice(1, [{ productId: 'a', qty: '1.0', total: '2.50' }]))}]}` },
      { auth: device2Auth, body: JSON.stringify({ invoices: [invoice(2, [{ productId: 'b', qty: 2, total: 4 }])] }) },
      { auth: deviceAuth, body: 'not json at all' },
    ];
    for (const { auth, body } of bodies) await gw.fetch('/invoice', { method: 'POST', body, auth, headers: { 'content-type': 'text/plain' } });

    const out = await mkdtemp(join(tmpdir(), 'tsg-pg-capture-'));
    dirs.push(out);
    const all = await cli(['capture', '--database-url', url, '--out', join(out, 'all'), '--json']);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toMatchObject({ pushes: 3, byRegister: { [DEVICE.cashRegister]: 2, [DEVICE2.cashRegister]: 1 } });
    const files = (await readdir(join(out, 'all'))).sort();
    const captures = await Promise.all(files.map(async (f) => JSON.parse(await readFile(join(out, 'all', f), 'utf8'))));
    expect(captures.map((c) => c.body).sort()).toEqual(bodies.map((b) => b.body).sort());
    expect(captures[0]).toMatchObject({ method: 'POST', path: '/invoice', contentType: 'text/plain' });

    const one = await cli(['capture', '--out', join(out, 'tab2'), '--register', DEVICE2.cashRegister], { DATABASE_URL: url });
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/Captured 1 push from the journal of /);
    expect(await readdir(join(out, 'tab2'))).toHaveLength(1);
  });

  it('names the database without its password when it cannot be read (exit 1), and refuses two sources (exit 2)', async () => {
    const bad = `postgres://postgres:s3cret@127.0.0.1:${cluster.port}/no_such_db`;
    const never = join(tmpdir(), 'tsg-never');
    dirs.push(never);
    const run = await cli(['capture', '--database-url', bad, '--out', never]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no_such_db');
    expect(run.stderr).not.toContain('s3cret');
    expect((await cli(['capture', '--database-url', url, '--data-dir', '.', '--out', '/tmp/x'])).code).toBe(2);
  });
});
