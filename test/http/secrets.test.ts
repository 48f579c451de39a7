import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adminAuth, DEVICE, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';

const USER_PW = 'Hook-S3cret-Pw';
const TOKEN = 'T0ken-Secret-XYZ';
const SECRETS = [USER_PW, TOKEN];

let gw: TestGateway | undefined;
let receiver: Server | undefined;
afterEach(async () => {
  if (gw) {
    await gw.stop();
    await removeDir(gw.dir);
    gw = undefined;
  }
  await new Promise((r) => (receiver ? receiver.close(r) : r(undefined)));
  receiver = undefined;
});

/** A webhook receiver on 127.0.0.1 that records what reached it; answers `status.code`. */
async function hookReceiver() {
  const seen: { url: string; authorization: string | undefined }[] = [];
  const status = { code: 503 };
  receiver = createServer((req, res) => {
    seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
    req.resume();
    req.on('end', () => res.writeHead(status.code).end());
  });
  await new Promise<void>((r) => receiver!.listen(0, '127.0.0.1', r));
  const { port } = receiver.address() as AddressInfo;
  return {
    url: `http://hookuser:${USER_PW}@127.0.0.1:${port}/hook?token=${TOKEN}`,
    redacted: `webhook:http://***@127.0.0.1:${port}/hook?token=***`,
    seen,
    status,
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
  }
  return out;
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never: ${what}`);
}

const expectNoSecret = (text: string, where: string) => {
  for (const s of SECRETS) expect(text.includes(s), `${s} in ${where}`).toBe(false);
};

async function outboxFilesText(dataDir: string): Promise<string> {
  const texts = await Promise.all((await filesUnder(join(dataDir, 'outbox'))).map((f) => readFile(f, 'utf8')));
  return texts.join('\n');
}

describe('webhook URLs with secrets are shown and stored redacted (issue 18, item 7)', () => {
  it('in the start-up log, GET /api/outbox, the status page and the outbox files; delivery still uses the real URL', async () => {
    const hook = await hookReceiver();
    gw = await startTestGateway({ webhooks: [{ url: hook.url, secret: 'a-long-enough-webhook-secret', retryCapMs: 50 }] });
    expect(
      (
        await gw.fetch('/invoice', {
          method: 'POST',
          body: JSON.stringify({ invoices: [invoice(202612030100001, [{ productId: '101', qty: 1, total: 2.2 }])] }),
        })
      ).status,
    ).toBe(200);
    await eventually(async () => hook.seen.length > 0, 'a first (refused) delivery');
    await eventually(async () => (await gw!.json('/api/outbox', { auth: adminAuth })).body.targets[0].lastError !== null, 'the failure recorded');

    const outbox = await gw.json('/api/outbox', { auth: adminAuth });
    expect(outbox.body.targets.map((t: { target: string }) => t.target)).toEqual([hook.redacted]);
    expectNoSecret(JSON.stringify(outbox.body), 'GET /api/outbox');
    expectNoSecret(JSON.stringify((await gw.json('/api/deadletters', { auth: adminAuth })).body), 'GET /api/deadletters');
    expectNoSecret(await (await gw.fetch('/status', { auth: adminAuth })).text(), 'the status page');
    expectNoSecret(JSON.stringify((await gw.json('/readyz', { auth: null })).body), '/readyz');
    await gw.gateway.store.commit();
    const files = await outboxFilesText(gw.dataDir);
    expect(files).toContain(hook.redacted);
    expectNoSecret(files, 'the outbox files');
    expect(gw.logs.join('')).toContain(hook.redacted);
    expectNoSecret(gw.logs.join(''), 'the log');

    hook.status.code = 200;
    await eventually(async () => (await gw!.json('/api/outbox', { auth: adminAuth })).body.depth === 0, 'delivered');
    // The receiver was called at the configured URL: credentials and token intact.
    expect(hook.seen.at(-1)).toEqual({ url: `/hook?token=${TOKEN}`, authorization: `Basic ${Buffer.from(`hookuser:${USER_PW}`).toString('base64')}` });
  });

  it('loads outbox files written by earlier versions (full URL as the target) and rewrites them redacted', async () => {
    const hook = await hookReceiver();
    const webhooks = [{ url: hook.url, secret: 'a-long-enough-webhook-secret', retryCapMs: 50 }];
    gw = await startTestGateway({ webhooks });
    expect(
      (
        await gw.fetch('/invoice', {
          method: 'POST',
          body: JSON.stringify({ invoices: [invoice(202612030100002, [{ productId: '101', qty: 1, total: 2.2 }])] }),
        })
      ).status,
    ).toBe(200);
    await eventually(async () => hook.seen.length > 0, 'a first (refused) delivery');
    const { dir, dataDir } = gw;
    await gw.stop();
    gw = undefined;

    // What earlier versions wrote: the full URL as the target name, in state.json, in the chunk and as its folder's hash.
    const full = `webhook:${hook.url}`;
    const folder = (t: string) => `t-${createHash('sha256').update(t).digest('hex').slice(0, 16)}`;
    const root = join(dataDir, 'outbox');
    const state = await readFile(join(root, 'state.json'), 'utf8');
    await writeFile(join(root, 'state.json'), state.split(hook.redacted).join(full));
    await mkdir(join(root, folder(full)), { recursive: true });
    for (const file of await readdir(join(root, folder(hook.redacted)))) {
      const text = await readFile(join(root, folder(hook.redacted), file), 'utf8');
      await writeFile(join(root, folder(full), file), text.split(hook.redacted).join(full));
    }
    await rm(join(root, folder(hook.redacted)), { recursive: true });
    expect(await outboxFilesText(dataDir)).toContain(TOKEN);

    hook.status.code = 200;
    const seenBefore = hook.seen.length;
    gw = await startTestGateway({ webhooks }, dir);
    await eventually(
      async () => hook.seen.length > seenBefore && (await gw!.json('/api/outbox', { auth: adminAuth })).body.depth === 0,
      'the old item delivered',
    );
    expect(hook.seen.at(-1)!.url).toBe(`/hook?token=${TOKEN}`);
    await gw.gateway.store.commit();
    const files = await outboxFilesText(dataDir);
    expectNoSecret(files, 'the rewritten outbox files');
    expect(JSON.parse(await readFile(join(root, 'state.json'), 'utf8')).targets[hook.redacted]).toBeDefined();
  });
});

describe('legacy form passwords are stored as *** (issue 18, item 7)', () => {
  it('in the quarantine and the journal, whatever the letter case of the field', async () => {
    gw = await startTestGateway({ tabshop: { legacy: true } });
    const form = new URLSearchParams({
      UserName: DEVICE.username,
      PassWord: 'Pw-One-1',
      PWD: 'Pw-Two-2',
      Pass: 'Pw-Three-3',
      data: '{"invoices": [broken',
    }).toString();
    const res = await gw.fetch(`/invoice?pAsS=Pw-Four-4`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    expect(res.status).toBe(400);
    const quarantine = await gw.json('/api/quarantine', { auth: adminAuth });
    expect(quarantine.body.items).toHaveLength(1);
    const stored =
      JSON.stringify(quarantine.body) + JSON.stringify((await gw.json(`/api/quarantine/${quarantine.body.items[0].id}`, { auth: adminAuth })).body);
    expect(stored).toContain('PassWord=***');
    await gw.gateway.store.commit();
    const journal = (await Promise.all((await filesUnder(join(gw.dataDir, 'journal'))).map((f) => readFile(f, 'utf8')))).join('');
    expect(journal).toContain('PWD=***');
    expect(journal).toContain('pAsS=***');
    const onDisk = (await Promise.all((await filesUnder(gw.dataDir)).map((f) => readFile(f, 'utf8')))).join('');
    for (const pw of ['Pw-One-1', 'Pw-Two-2', 'Pw-Three-3', 'Pw-Four-4']) {
      expect(stored.includes(pw), `${pw} in the quarantine`).toBe(false);
      expect(onDisk.includes(pw), `${pw} on disk`).toBe(false);
    }
  });
});

describe('secrets in the config are warned about, never quoted (issue 18, item 8)', () => {
  it('names plaintext-password accounts once, short passwords and short webhook secrets', async () => {
    gw = await startTestGateway({
      devices: [
        { username: 'tablet-1', password: 'pw-tablet-1', cashRegister: 'TAB-1' },
        { username: 'shorty', password: 'Qz7!x', cashRegister: 'TAB-9' },
      ],
      admins: [{ username: 'admin', password: 'pw-admin' }],
      webhooks: [{ url: `http://u:${USER_PW}@127.0.0.1:9/hook?token=${TOKEN}`, secret: 'tiny-secret' }],
    });
    const lines = gw.logs
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: number; msg: string });
    const warnings = lines.filter((l) => l.level === 40).map((l) => l.msg);
    const plaintext = warnings.filter((m) => m.includes('plaintext passwords'));
    expect(plaintext).toEqual(['plaintext passwords in the config for tablet-1, shorty, admin: store a passwordHash instead (tabshop-gateway hash-password)']);
    expect(warnings).toContain('the password of shorty is shorter than 8 characters');
    expect(warnings.filter((m) => m.includes('shorter than 8'))).toHaveLength(1);
    expect(warnings).toContain('the secret of webhook http://***@127.0.0.1:9/hook?token=*** is shorter than 16 characters');
    const all = gw.logs.join('');
    for (const secret of ['Qz7!x', 'tiny-secret', 'pw-admin', ...SECRETS]) expect(all.includes(secret), secret).toBe(false);
  });
});
