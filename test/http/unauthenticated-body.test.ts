import { connect } from 'node:net';
import { request, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { adminAuth, DEVICE, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';

let gw: TestGateway | undefined;
afterEach(async () => {
  if (gw) {
    await gw.stop();
    await removeDir(gw.dir);
    gw = undefined;
  }
});

const DECLARED = 9.5 * 1024 * 1024;
const SENT = 128 * 1024;

/**
 * A form-encoded POST that declares 9.5 MB and sends only its first 128 KB, then waits: the
 * answer can only come if the server decides without reading the whole body. The wait is
 * bounded so that the old behaviour (reading up to bodyLimit first) fails instead of hanging.
 */
function partialPost(url: string, path: string, firstBytes: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(DECLARED) },
    });
    const guard = setTimeout(() => {
      req.destroy();
      reject(new Error('no answer while the body was still being sent: the server waits for the whole body before auth'));
    }, 10_000);
    req.on('response', (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => {
        clearTimeout(guard);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', (err) => {
      clearTimeout(guard);
      reject(err);
    });
    req.write(firstBytes.padEnd(SENT, 'x'));
  });
}

describe('no unauthenticated request is buffered past 64 KB (issue 18, item 2)', () => {
  for (const legacy of [false, true]) {
    it(`answers 401 to large unauthenticated form posts before their bodies arrive (legacy ${legacy ? 'on' : 'off'}); home still answers`, async () => {
      gw = await startTestGateway({ server: { host: '127.0.0.1', port: 0, bodyLimit: '10mb' }, tabshop: { legacy } });
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => partialPost(gw!.url, i % 2 ? '/invoice' : '/home', 'data=')));
      for (const a of answers) {
        expect(a.status).toBe(401);
        expect(JSON.parse(a.body).error.code).toBe('unauthorized');
      }
      // Credentials after the first 64 KB are never looked at: refused the same way.
      const late = await partialPost(gw.url, '/invoice', `data=${'x'.repeat(70 * 1024)}&username=${DEVICE.username}&pwd=${DEVICE.password}&`);
      expect(late.status).toBe(401);
      const home = await gw.fetch('/home');
      expect(home.status).toBe(200);
      expect(await home.text()).toBe('true');
    });
  }

  it('legacy mode still accepts a large form push whose credentials come first', async () => {
    gw = await startTestGateway({ tabshop: { legacy: true } });
    const invoices = Array.from({ length: 300 }, (_, i) => invoice(202612030100001 + i, [{ productId: '101', qty: 1, total: 2.2 }]));
    const form = new URLSearchParams({ username: DEVICE.username, pwd: DEVICE.password, data: JSON.stringify({ invoices }) }).toString();
    expect(form.length).toBeGreaterThan(128 * 1024);
    const res = await gw.fetch('/invoice', { method: 'POST', auth: null, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('true');
    expect((await gw.json('/api/sales', { auth: adminAuth })).body.total).toBe(300);
  });
});

/**
 * Declares `declared` bytes and writes until the server stops taking them (connection closed or
 * reset) or all are written; resolves with the bytes written and the status line seen, if any.
 */
function pushUntilRefused(url: string, path: string, contentType: string, declared: number): Promise<{ written: number; status: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let written = 0;
    let answer = '';
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ written, status: answer.split('\r\n')[0] });
    };
    socket.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
    });
    socket.on('error', settle);
    socket.on('close', settle);
    socket.write(`POST ${path} HTTP/1.1\r\nHost: gateway\r\nContent-Type: ${contentType}\r\nContent-Length: ${declared}\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const pump = () => {
      while (written < declared && !settled) {
        const n = Math.min(chunk.length, declared - written);
        written += n;
        if (!socket.write(chunk.subarray(0, n))) return void socket.once('drain', pump);
      }
      if (written >= declared) setTimeout(settle, 500);
    };
    pump();
  });
}

describe('the unread rest of a refused body is not read to its end (issue 18, item 2)', () => {
  it('stops reading an unauthenticated body soon after the 401, whatever its type and route', async () => {
    gw = await startTestGateway();
    const declared = 64 * 1024 * 1024;
    for (const [path, type] of [
      ['/invoice', 'application/json'],
      ['/home', 'text/plain'],
      ['/api/sales', 'application/json'],
      ['/no-such-route', 'application/octet-stream'],
      // The back office's sign-in form is read before anyone is authenticated: refused (413) from its declared length.
      ['/admin/sign-in', 'application/x-www-form-urlencoded'],
    ]) {
      const { written, status } = await pushUntilRefused(gw.url, path, type, declared);
      expect(status, path).toMatch(/^HTTP\/1\.1 (401|404|413) /);
      // Loopback socket buffers take a few MB; without the bound the server read all 64 MB.
      expect(written, path).toBeLessThan(declared / 2);
    }
    const home = await gw.fetch('/home');
    expect(await home.text()).toBe('true');
  });
});
