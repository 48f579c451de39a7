import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { appendFile, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, adminAuth, basic, DEVICE, DEVICE2, deviceAuth, device2Auth, removeDir, startTestGateway, type TestGateway } from '../helpers.js';
import { startGatewayProcess, type GatewayProcess } from './process.js';
import { CLI, cli, ROOT, runCli, until } from './run-cli.js';

const execFileAsync = promisify(execFile);
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsg-int-'));
  cleanups.push(() => removeDir(dir));
  return dir;
}

async function gatewayProcess(extra: Record<string, unknown> = {}): Promise<GatewayProcess & { dir: string }> {
  const dir = await tempDir();
  const configPath = join(dir, 'config.json');
  await writeFile(
    configPath,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0 },
      store: { dataDir: './data', seedDemo: true },
      devices: [DEVICE, DEVICE2],
      admins: [ADMIN],
      ...extra,
    }),
  );
  const p = await startGatewayProcess(configPath);
  cleanups.push(async () => {
    p.child.kill('SIGTERM');
    await p.exited;
  });
  return { ...p, dir };
}

async function testGateway(): Promise<TestGateway> {
  const gw = await startTestGateway({ store: { dataDir: './data', seedDemo: true } });
  cleanups.push(async () => {
    await gw.stop();
    await removeDir(gw.dir);
  });
  return gw;
}

async function serveStatus(status: number, delayMs = 0): Promise<string> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      setTimeout(() => {
        res.statusCode = status;
        res.setHeader('content-type', 'application/json');
        res.end(
          status === 200
            ? '{"received":1,"created":1,"updated":0,"unchanged":0,"quarantined":0}'
            : '{"error":{"code":"internal_error","message":"internal server error"}}',
        );
      }, delayMs),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(r);
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const fixture = (name: string) => readFile(join(ROOT, 'fixtures/pushes', name), 'utf8');
const creds = (d: { username: string; password: string }) => ['--user', d.username, '--password', d.password];

async function push(url: string, body: string, auth: string | null, headers: Record<string, string> = {}, path = '/invoice'): Promise<number> {
  const res = await fetch(url + path, { method: 'POST', body, headers: { ...headers, ...(auth && { authorization: auth }) } });
  await res.text();
  return res.status;
}

async function sales(url: string): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${url}/api/sales?maxResults=1000`, { headers: { authorization: adminAuth } });
  const { items } = await res.json();
  // Fields a receiving gateway assigns from its own clock or state.
  return items
    .map(({ dayId: _dayId, ...sale }: Record<string, unknown>) => sale)
    .sort((a: { identifier: string }, b: { identifier: string }) => (a.identifier < b.identifier ? -1 : 1));
}

describe('integrator workflow (acceptance)', () => {
  it('capture from a running gateway → validate → replay into a fresh gateway: the same sales', async () => {
    const a = await gatewayProcess({ tabshop: { basePath: '/', legacy: true } });
    const [refund1, refund2] = (await fixture('refund.ndjson')).trim().split('\n');
    expect(await push(a.url, await fixture('payment-methods.json'), deviceAuth, { 'content-type': 'application/x-www-form-urlencoded' })).toBe(200);
    expect(await push(a.url, refund1, deviceAuth)).toBe(200);
    expect(await push(a.url, refund2, deviceAuth, { 'content-type': 'application/json; charset=utf-8' })).toBe(200);
    expect(await push(a.url, await fixture('cash-quick-checkout.json'), device2Auth, { 'content-type': 'text/plain' })).toBe(200);
    expect(await push(a.url, await fixture('unicode.json'), device2Auth)).toBe(200);
    expect(await push(a.url, await fixture('cash-quick-checkout.json'), device2Auth)).toBe(200);
    const legacyForm = new URLSearchParams({ password: DEVICE.password, invoices: await fixture('vouchers.json') }).toString();
    expect(await push(a.url, legacyForm, null, { 'content-type': 'application/x-www-form-urlencoded' }, `/invoice?user=${DEVICE.username}`)).toBe(200);
    expect(await push(a.url, await fixture('fractional-quantities.json'), deviceAuth)).toBe(200);

    const out = await tempDir();
    const dataDir = join(a.dir, 'data');
    const [c1, c2] = await Promise.all([
      cli(['capture', '--data-dir', dataDir, '--out', join(out, 'TAB-1'), '--register', 'TAB-1']),
      cli(['capture', '--data-dir', dataDir, '--out', join(out, 'TAB-2'), '--register', 'TAB-2', '--since', new Date().toISOString().slice(0, 10)]),
    ]);
    expect(c1.code, c1.stderr).toBe(0);
    expect(c2.code, c2.stderr).toBe(0);
    expect(c1.stdout).toMatch(/^Captured 5 pushes from 1 journal file into /);
    expect(c2.stdout).toContain('TAB-2        3');
    const tab1Files = (await readdir(join(out, 'TAB-1'))).sort();
    expect(tab1Files).toHaveLength(5);
    expect(tab1Files.every((f) => /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z_TAB-1(_\d+)?\.json$/.test(f))).toBe(true);
    const captures = await Promise.all(tab1Files.map(async (f) => JSON.parse(await readFile(join(out, 'TAB-1', f), 'utf8'))));
    expect(captures[0]).toMatchObject({
      tabshopCapture: 1,
      register: 'TAB-1',
      device: DEVICE.username,
      method: 'POST',
      path: '/invoice',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(captures[0].body).toBe(await fixture('payment-methods.json'));
    const legacy = captures.find((c) => c.legacy);
    expect(legacy).toMatchObject({ query: 'user=***', headers: expect.any(Object) });
    expect(JSON.stringify(captures)).not.toContain(DEVICE.password);

    const validated = await cli(['validate', join(out, 'TAB-1'), join(out, 'TAB-2')]);
    expect(validated.code, validated.stdout).toBe(0);
    expect(validated.stdout).toMatch(/^OK: 8 files, 8 pushes, \d+ invoices, no problems\n$/);

    const b = await gatewayProcess();
    const [r1, r2] = await Promise.all([
      cli(['replay', join(out, 'TAB-1'), '--url', `${b.url}/`, ...creds(DEVICE)]),
      cli(['replay', join(out, 'TAB-2'), '--url', b.url, ...creds(DEVICE2)]),
    ]);
    expect(r1.code, r1.stdout + r1.stderr).toBe(0);
    expect(r2.code, r2.stdout + r2.stderr).toBe(0);
    expect(r1.stdout).toContain('OK: all 5 pushes answered 2xx');
    expect(r2.stdout).toMatch(/invoices {2}\d+ sent · received \d+ · created 4 · updated 0 · unchanged 2 · quarantined 0/);

    const [salesA, salesB] = await Promise.all([sales(a.url), sales(b.url)]);
    expect(salesA.length).toBeGreaterThan(20);
    expect(salesB).toEqual(salesA);
  });

  it('replay against a server that answers 500 exits 1 with a summary that says so', async () => {
    const url = await serveStatus(500);
    const run = await cli(['replay', 'fixtures/pushes/refund.ndjson', 'fixtures/pushes/vouchers.json', '--url', url, '--retries', '0']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('answers   500 ×3');
    expect(run.stdout).toMatch(/^FAILED: 3 of 3 pushes failed \(500 ×3\)$/m);
    expect(run.stderr).toMatch(/\[1\/3\] 500 /);
  });

  it('replay exits 1 when no connection can be made, after retrying', async () => {
    const url = await serveStatus(200);
    const port = new URL(url).port;
    cleanups.splice(-1, 1)[0]();
    await new Promise((r) => setTimeout(r, 50));
    const run = await cli(['replay', 'fixtures/pushes/vouchers.json', '--url', `http://127.0.0.1:${port}`, '--retries', '2', '--json']);
    expect(run.code).toBe(1);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ sent: 1, failed: 1, connectionErrors: { ECONNREFUSED: 1 }, retries: 2 });
  });
});

describe('replay output', () => {
  it('without a TTY: one plain line per push on stderr, the summary on stdout, --json parseable', async () => {
    const gw = await testGateway();
    const run = await cli(['replay', 'fixtures/pushes/cancel.ndjson', '--url', gw.url, ...creds(DEVICE), '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(3);
    expect(run.stderr).toMatch(
      /^\[[123]\/3\] 200 +\d+ ms {2}fixtures\/pushes\/cancel\.ndjson:[123] {2}created \d · updated \d · unchanged 0 · quarantined 0$/m,
    );
    expect(run.stderr).not.toContain('\x1b[');
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({
      pushes: 3,
      sent: 3,
      ok: 3,
      failed: 0,
      byStatus: { 200: 3 },
      interrupted: false,
      invoices: { sent: 3, received: 3, created: 2, updated: 1, unchanged: 0, quarantined: 0, summaries: 3 },
    });
    expect(summary.latencyMs.p50).toBeGreaterThan(0);
  });

  const hasScript = (() => {
    try {
      execFileSync('script', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.runIf(hasScript)('on a TTY: a progress bar with count, rate and ETA', async () => {
    const gw = await testGateway();
    const command = [
      process.execPath,
      '--import',
      'tsx',
      CLI,
      'replay',
      'fixtures/pushes/payment-methods.json',
      'fixtures/pushes/refund.ndjson',
      '--url',
      gw.url,
      ...creds(DEVICE),
    ].join(' ');
    // Asynchronously: the gateway answering the replay runs in this process.
    const { stdout: output } = await execFileAsync('script', ['-qec', command, '/dev/null'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NODE_ENV: 'production' },
    });
    expect(output).toContain('\r\x1b[K');
    expect(output).toMatch(/replay ▕█+▏ 3\/3 100% {2}[\d.]+\/s {2}ETA 0:00/);
    expect(output).not.toMatch(/^\[1\/3\]/m);
    expect(output).toContain('OK: all 3 pushes answered 2xx');
  });

  it('Ctrl-C stops cleanly: pushes in flight finish, the summary so far is printed, exit 1', async () => {
    const url = await serveStatus(200, 150);
    const dir = await tempDir();
    const file = join(dir, 'many.ndjson');
    const lines = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({ id: 202611230400001 + i, date: '1795424400000', positions: [{ productId: '101', qty: 1, total: 2.2 }] }),
    );
    await writeFile(file, `${lines.join('\n')}\n`);
    const run = runCli(['replay', file, '--url', url, '--concurrency', '2', '--json']);
    cleanups.push(() => run.child.kill('SIGKILL'));
    await until(() => /\[ 4\/40\]/.test(run.stderr()), 'four pushes');
    run.child.kill('SIGINT');
    const { code, stdout, stderr } = await run.done;
    expect(code).toBe(1);
    expect(stderr).toContain('stopping');
    const summary = JSON.parse(stdout);
    expect(summary.interrupted).toBe(true);
    expect(summary.sent).toBeGreaterThanOrEqual(4);
    expect(summary.sent).toBeLessThan(40);
    expect(summary.failed).toBe(0);
    expect(summary.notSent).toBe(40 - summary.sent);
    expect(summary.byStatus).toEqual({ 200: summary.sent });
  });
});

describe('exit codes and usage', () => {
  it.each([
    [['replay', 'fixtures/pushes'], /--url is required/],
    [['replay', 'fixtures/pushes', '--url', 'http://127.0.0.1:9', '--concurrency', '0'], /must be an integer from 1/],
    [['validate', 'no-such-file.json'], /no such file or folder/],
    [['capture', '--data-dir', 'fixtures', '--out', '/tmp/x', '--since', 'last week'], /--since must be a day/],
  ])('%j exits 2', async (args, message) => {
    const run = await cli(args as string[]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('--help on each command exits 0', async () => {
    const runs = await Promise.all(['capture', 'replay', 'validate'].map((c) => cli([c, '--help'])));
    for (const run of runs) {
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/Exit codes: 0/);
    }
  });

  it('validate: 0 on the corpus; 1 with each problem on its own line and a count', async () => {
    const ok = await cli(['validate', 'fixtures/pushes']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^OK: \d+ files, \d+ pushes, [\d,]+ invoices, no problems\n$/);
    const bad = await cli(['validate', 'fixtures/invalid']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe(await readFile(join(ROOT, 'fixtures/invalid/expected-problems.txt'), 'utf8'));
  });

  it('validate --translate prints the sales; --json gives one report', async () => {
    const run = await cli(['validate', 'fixtures/pushes/refund.ndjson', '--translate', '--register', 'KASSA-7']);
    expect(run.code).toBe(0);
    const sold = JSON.parse(run.stdout);
    expect(sold.map((s: { identifier: string; status: string }) => [s.identifier, s.status])).toEqual([
      ['KASSA-7:202611230100030', 'refunded'],
      ['KASSA-7:202611230100031', 'completed'],
    ]);
    expect(run.stderr).toMatch(/^OK: 1 file, 2 pushes, 3 invoices, no problems; 2 sales\n$/);
    const json = await cli(['validate', 'fixtures/invalid/bad-qty.json', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      files: 1,
      pushes: 1,
      invoices: 4,
      problems: [{ source: 'fixtures/invalid/bad-qty.json', path: '/invoices/3/positions/0/qty', message: 'must be number or numeric string' }],
      outcomes: { created: 3, quarantined: 1 },
    });
  });

  it('replay --dry-run counts without sending, and fails on invalid fixtures', async () => {
    const ok = await cli(['replay', 'fixtures/pushes', '--dry-run', '--url', 'http://127.0.0.1:9']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/DRY RUN: 14 pushes \(1,032 invoices\) would be sent to http:\/\/127\.0\.0\.1:9\/invoice/);
    const bad = await cli(['replay', 'fixtures/invalid', '--dry-run']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('fixtures/invalid/bad-qty.json: /invoices/3/positions/0/qty: must be number or numeric string');
  });
});

describe('capture', () => {
  it('--redact blanks customer data and nothing else; a torn last journal line is skipped with a warning', async () => {
    const gw = await testGateway();
    const body = await fixture('refund.ndjson');
    const [first] = body.trim().split('\n');
    expect(await push(gw.url, first, deviceAuth)).toBe(200);
    expect(await push(gw.url, 'not json', basic(DEVICE2.username, DEVICE2.password))).toBe(400);
    const journal = join(gw.dataDir, 'journal', (await readdir(join(gw.dataDir, 'journal')))[0]);
    await appendFile(journal, '{"at":"2026-11-23T10:00:00.000Z","method":"POST","pa');
    const out = await tempDir();
    const run = await cli(['capture', '--data-dir', gw.dataDir, '--out', out, '--redact']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/warning: skipped .*\.ndjson:3: not JSON/);
    expect(run.stderr).toMatch(/warning: .*_TAB-2\.json was not redacted: the body is not JSON/);
    expect(run.stdout).toContain('skipped 1 unreadable journal line');
    const files = (await readdir(out)).sort();
    expect(files).toHaveLength(2);
    const capture = JSON.parse(await readFile(join(out, files.find((f) => f.includes('TAB-1'))!), 'utf8'));
    expect(capture.redacted).toBe(true);
    expect(capture.body).toBe(
      first.replace('"name": "Jana Novák", "address": "Praterstraße 12, 1020 Wien", "email": "jana@example.org"', '"name": "", "address": "", "email": ""'),
    );
    expect(capture.body).not.toBe(first);
    const json = await cli(['capture', '--data-dir', gw.dataDir, '--out', out, '--since', '2100-01-01', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ pushes: 0, journalFiles: 0 });
  });
});
