import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adminAuth, ADMIN, DEVICE, deviceAuth, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';

let gw: TestGateway | undefined;
afterEach(async () => {
  if (gw) {
    await gw.stop();
    await removeDir(gw.dir);
    gw = undefined;
  }
});

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const q = (params: Record<string, string>) => new URLSearchParams(params).toString();
const batch = (id: number) => JSON.stringify({ invoices: [invoice(id, [{ productId: '101', qty: 1, total: 2.2 }])] });

async function journalLines(dataDir: string): Promise<any[]> {
  const dir = join(dataDir, 'journal');
  const lines: any[] = [];
  for (const file of (await readdir(dir)).sort()) {
    for (const line of (await readFile(join(dir, file), 'utf8')).split('\n')) if (line) lines.push(JSON.parse(line));
  }
  return lines;
}

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('legacy clients, legacy mode off (the default)', () => {
  it('refuses credentials in URL parameters with a 401 that names legacy mode', async () => {
    gw = await startTestGateway();
    const res = await gw.fetch(`/stock?${q({ user: DEVICE.username, password: DEVICE.password })}`, { auth: null });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="tabshop-gateway"');
    const body = await res.json();
    expect(body.error.code).toBe('unauthorized');
    expect(body.error.message).toMatch(/URL parameters.*"legacy": true/);
  });

  it('refuses credentials in form fields with a 401 that names legacy mode, and stores nothing', async () => {
    gw = await startTestGateway();
    const res = await gw.fetch('/invoice', {
      method: 'POST',
      auth: null,
      headers: FORM,
      body: q({ username: DEVICE.username, pwd: DEVICE.password, data: batch(202611230100001) }),
    });
    expect(res.status).toBe(401);
    expect((await res.json()).error.message).toMatch(/form fields.*legacy/);
    expect((await gw.json('/api/sales', { auth: adminAuth })).body.total).toBe(0);
  });

  it('without any credentials the 401 is the plain Basic-auth one', async () => {
    gw = await startTestGateway();
    const res = await gw.fetch('/home', { auth: null });
    expect(res.status).toBe(401);
    expect((await res.json()).error.message).not.toMatch(/legacy/);
  });

  it('a form-encoded invoice body with Basic auth is a 400 that names legacy mode', async () => {
    gw = await startTestGateway();
    const res = await gw.fetch('/invoice', { method: 'POST', headers: FORM, body: q({ json: batch(202611230100001) }) });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/pre-146 form-encoded push.*"legacy": true/);
  });
});

describe('legacy clients, legacy mode on', () => {
  const legacyOn = { tabshop: { basePath: '/', legacy: true } };

  it.each([
    ['user', 'password'],
    ['username', 'pwd'],
    ['login', 'pass'],
  ])('accepts credentials as URL parameters %s/%s on GET and POST reads', async (userField, passField) => {
    gw = await startTestGateway(legacyOn);
    for (const method of ['GET', 'POST']) {
      const res = await gw.fetch(`/home?${q({ [userField]: DEVICE.username, [passField]: DEVICE.password })}`, { method, auth: null });
      expect(res.status, method).toBe(200);
      expect(await res.text()).toBe('true');
    }
  });

  it('accepts credentials and the invoice JSON as form fields and stores the sale', async () => {
    gw = await startTestGateway(legacyOn);
    const res = await gw.fetch('/invoice', {
      method: 'POST',
      auth: null,
      headers: { ...FORM, accept: 'application/json' },
      body: q({ user: DEVICE.username, password: DEVICE.password, data: batch(202611230100007) }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: 1, created: 1, updated: 0, unchanged: 0, quarantined: 0 });
    const sale = await gw.json('/api/sales/TAB-1:202611230100007', { auth: adminAuth });
    expect(sale.body).toMatchObject({ cashRegisterName: 'TAB-1', total: 2.2 });
  });

  it('accepts a form-encoded invoice body with Basic auth and a plain JSON push as before', async () => {
    gw = await startTestGateway(legacyOn);
    const form = await gw.fetch('/invoice', { method: 'POST', headers: FORM, body: q({ invoices: batch(202611230100001) }) });
    expect(await form.text()).toBe('true');
    const json = await gw.fetch('/invoice', { method: 'POST', headers: FORM, body: batch(202611230100002) });
    expect(await json.text()).toBe('true');
    expect((await gw.json('/api/sales', { auth: adminAuth })).body.total).toBe(2);
  });

  it('reads a form field percent-escaped in Latin-1 (%E4) as Windows-1252, and journals its bytes unchanged', async () => {
    gw = await startTestGateway(legacyOn);
    const json = JSON.stringify({ invoices: [invoice(202611230100009, [{ productId: '101', qty: 1, total: 2.2 }])] }).replace(
      '"productName":"101"',
      '"productName":"KAESE"',
    );
    // An old client escapes each byte of its Latin-1 text: ä is %E4 (UTF-8 would be %C3%A4).
    const data = encodeURIComponent(json).replace('KAESE', 'K%E4sekuchen');
    const body = `user=${DEVICE.username}&password=${DEVICE.password}&data=${data}`;
    const res = await gw.fetch('/invoice', { method: 'POST', auth: null, headers: FORM, body });
    expect(await res.text()).toBe('true');
    const sale = (await gw.json('/api/sales/TAB-1:202611230100009', { auth: adminAuth })).body;
    expect(sale.source.invoice.positions[0].productName).toBe('Käsekuchen');
    expect(sale.lines[0].name).toBe('Käsekuchen');
    expect(sale.source.encoding).toBe('windows-1252');
    const lines = await eventually(
      () => journalLines(gw!.dataDir),
      (l) => l.length >= 1,
    );
    expect(lines.find((l) => l.path === '/invoice').body).toBe(`user=***&password=***&data=${data}`);
  });

  it('journals legacy requests in full, with credential values redacted and their names kept', async () => {
    gw = await startTestGateway(legacyOn);
    await gw.fetch(`/tax?${q({ login: DEVICE.username, pass: DEVICE.password })}`, { auth: null, headers: { 'user-agent': 'TabShop/140' } });
    const push = await gw.fetch(`/invoice?${q({ user: DEVICE.username })}`, {
      method: 'POST',
      auth: null,
      headers: { ...FORM, 'user-agent': 'TabShop/140' },
      body: q({ password: DEVICE.password, invoices: batch(202611230100003) }),
    });
    expect(push.status).toBe(200);
    const lines = await eventually(
      () => journalLines(gw!.dataDir),
      (l) => l.length >= 2,
    );
    const text = JSON.stringify(lines);
    expect(text).not.toContain(DEVICE.password);
    const read = lines.find((l) => l.path === '/tax');
    expect(read).toMatchObject({ legacy: true, method: 'GET', device: DEVICE.username, cashRegisterName: 'TAB-1', query: 'login=***&pass=***' });
    expect(read.headers['user-agent']).toBe('TabShop/140');
    const pushed = lines.find((l) => l.path === '/invoice');
    expect(pushed).toMatchObject({ legacy: true, method: 'POST', query: 'user=***', contentType: FORM['content-type'] });
    const form = new URLSearchParams(pushed.body);
    expect(form.get('password')).toBe('***');
    expect(JSON.parse(form.get('invoices')!).invoices[0].id).toBe(202611230100003);
    expect(pushed.headers.authorization).toBeUndefined();
  });

  it('refuses wrong legacy credentials and admins, and throttles repeated failures', async () => {
    gw = await startTestGateway(legacyOn);
    const admin = await gw.fetch(`/home?${q({ user: ADMIN.username, password: ADMIN.password })}`, { auth: null });
    expect(admin.status).toBe(401);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push((await gw.fetch(`/home?${q({ user: DEVICE.username, password: `guess-${i}` })}`, { auth: null })).status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.at(-1)).toBe(429);
    const locked = await gw.fetch(`/home?${q({ user: DEVICE.username, password: DEVICE.password })}`, { auth: null });
    expect(locked.status).toBe(429);
  });

  it('Basic auth still wins over URL parameters', async () => {
    gw = await startTestGateway(legacyOn);
    const res = await gw.fetch(`/home?${q({ user: DEVICE.username, password: 'wrong' })}`, { auth: deviceAuth });
    expect(res.status).toBe(200);
  });
});
