import { mkdtemp, writeFile } from 'node:fs/promises';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXAMPLE_CONFIG_PATH } from '../../src/config/load.js';
import { verifyPassword } from '../../src/config/password.js';
import { ADMIN, adminAuth, DEVICE, deviceAuth, invoice, removeDir } from '../helpers.js';
import { spawnCli, startGatewayProcess, type GatewayProcess } from './process.js';

const procs: { child: { kill(signal: NodeJS.Signals): boolean } }[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) p.child.kill('SIGKILL');
  for (const d of dirs.splice(0)) await removeDir(d);
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsg-cli-'));
  dirs.push(dir);
  return dir;
}

describe('hash-password', () => {
  it('reads the password from stdin and prints a hash that verifies', async () => {
    const p = spawnCli(['hash-password']);
    p.child.stdin!.end('correct horse\n');
    expect(await p.exited).toBe(0);
    const hash = p.output().trim();
    expect(hash).toMatch(/^scrypt\$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
  });

  it('takes --password', async () => {
    const p = spawnCli(['hash-password', '--password', 'battery staple']);
    expect(await p.exited).toBe(0);
    expect(await verifyPassword('battery staple', p.output().trim())).toBe(true);
  });

  it.each([
    [['hash-password'], ''],
    [['hash-password', '--password', ''], null],
  ])('refuses an empty password with exit 2 (%j)', async (args, stdin) => {
    const p = spawnCli(args);
    p.child.stdin!.end(stdin ?? undefined);
    expect(await p.exited).toBe(2);
    expect(p.output()).toContain('the password is empty');
  });
});

describe('demo credentials', () => {
  const runDemo = async (env: Record<string, string>) => {
    const DATA_DIR = await tempDir();
    return spawnCli(['serve', '--config', EXAMPLE_CONFIG_PATH], { DATA_DIR, PORT: '0', ...env });
  };

  it('are refused with exit 2 when NODE_ENV=production', async () => {
    const p = await runDemo({ HOST: '127.0.0.1' });
    expect(await p.exited).toBe(2);
    expect(p.output()).toContain('NODE_ENV=production');
    expect(p.output()).toContain('ALLOW_DEMO_CREDENTIALS=true');
  });

  it('are refused with exit 2 on a non-loopback address, before listening', async () => {
    const p = await runDemo({ NODE_ENV: 'development', HOST: '0.0.0.0' });
    expect(await p.exited).toBe(2);
    expect(p.output()).toContain('it would listen on 0.0.0.0');
    expect(p.output()).not.toContain('listening');
  });

  it('run on loopback outside production, and anywhere with the explicit opt-in', async () => {
    const envs: Record<string, string>[] = [
      { NODE_ENV: 'development', HOST: '127.0.0.1' },
      { HOST: '127.0.0.1', ALLOW_DEMO_CREDENTIALS: 'true' },
    ];
    for (const env of envs) {
      const DATA_DIR = await tempDir();
      const p = await startGatewayProcess(EXAMPLE_CONFIG_PATH, { DATA_DIR, PORT: '0', ...env });
      procs.push(p);
      expect(p.output()).toContain('DEMO CREDENTIALS IN USE');
      expect((await fetch(`${p.url}/home`, { headers: { authorization: `Basic ${Buffer.from('tablet-1:demo-tablet-1').toString('base64')}` } })).status).toBe(
        200,
      );
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    }
  });
});

describe('graceful shutdown', () => {
  async function startOwn(): Promise<{ proc: GatewayProcess; configPath: string }> {
    const dir = await tempDir();
    const configPath = join(dir, 'config.json');
    await writeFile(configPath, JSON.stringify({ server: { host: '127.0.0.1', port: 0 }, store: { dataDir: './data' }, devices: [DEVICE], admins: [ADMIN] }));
    const proc = await startGatewayProcess(configPath);
    procs.push(proc);
    return { proc, configPath };
  }

  /** Sends the headers and the first half of a push, and returns a way to send the rest. */
  function halfPush(url: string, body: string): { req: ClientRequest; response: Promise<{ status: number; text: string }>; finish(): void } {
    const u = new URL(`${url}/invoice`);
    const bytes = Buffer.from(body);
    const req = httpRequest({
      host: u.hostname,
      port: u.port,
      path: u.pathname,
      method: 'POST',
      headers: { authorization: deviceAuth, 'content-length': bytes.length },
    });
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
    });
    req.write(bytes.subarray(0, bytes.length >> 1));
    return { req, response, finish: () => req.end(bytes.subarray(bytes.length >> 1)) };
  }

  it('on SIGINT finishes the in-flight push, stores it, exits 0 and releases the lock', async () => {
    const { proc, configPath } = await startOwn();
    const push = halfPush(proc.url, JSON.stringify({ invoices: [invoice(777, [{ productId: 'p', qty: 1, total: 2 }])] }));
    await new Promise((r) => setTimeout(r, 200));
    proc.child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    push.finish();
    expect(await push.response).toEqual({ status: 200, text: 'true' });
    expect(await proc.exited).toBe(0);
    // The client's keep-alive connection is closed once idle; the process does not wait out the grace period (and cut it).
    expect(proc.output()).toContain('stopped cleanly');
    expect(proc.output()).not.toContain('grace period ended');
    expect(proc.output()).toContain('"signal":"SIGINT"');

    const again = await startGatewayProcess(configPath);
    procs.push(again);
    expect((await fetch(`${again.url}/api/sales/TAB-1:777`, { headers: { authorization: adminAuth } })).status).toBe(200);
  });

  it('exits cleanly when a client stalls in the middle of a request: the request is cut when the grace period ends', async () => {
    const { proc } = await startOwn();
    const stalled = halfPush(proc.url, JSON.stringify({ invoices: [invoice(778, [{ productId: 'p', qty: 1, total: 2 }])] }));
    stalled.response.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    proc.child.kill('SIGTERM');
    // Exit code 0, not the hard stop's 1: the grace period cut the stalled request and the process stopped cleanly.
    expect(await proc.exited).toBe(0);
    expect(proc.output()).toContain('requests still open when the grace period ended were cut off');
    expect(proc.output()).not.toContain('exiting anyway');
    stalled.req.destroy();
  }, 20_000);
});
