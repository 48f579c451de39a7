import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, removeDir, startTestGateway, type TestGateway } from '../helpers.js';

let gw: TestGateway;
const admin = (path: string, method = 'GET', body?: unknown) => gw.json(`/api${path}`, { method, body, auth: adminAuth });

beforeAll(async () => {
  gw = await startTestGateway();
});

afterAll(async () => {
  await gw.stop();
  await removeDir(gw.dir);
});

const LEAP = '2026-12-03T23:59:60Z';

describe('a leap-second timestamp is a 400, not a 500 (issue 18, item 8)', () => {
  it('in a sale body', async () => {
    const sale = {
      identifier: 'TAB-1:leap',
      cashRegisterName: 'TAB-1',
      createdAt: LEAP,
      lines: [{ product: '72', name: 'Latte', quantity: 1, total: 3.5, vat: 0.32 }],
      payments: [{ method: 'card', code: '2', amount: 3.5 }],
      total: 3.5,
      vat: 0.32,
    };
    for (const [method, path] of [
      ['POST', '/sales'],
      ['PUT', '/sales/TAB-1:leap'],
    ]) {
      const res = await admin(path, method, sale);
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(JSON.stringify(res.body.error.details)).toContain('createdAt');
    }
    expect((await admin('/sales/TAB-1:leap')).status).toBe(404);
  });

  it('in a query', async () => {
    for (const path of [`/sales?from=${LEAP}`, `/sales?to=${LEAP}`, `/products/stats?from=${LEAP}`, `/sales/stats?to=${LEAP}`]) {
      const res = await admin(path);
      expect(res.status, path).toBe(400);
      expect(res.body.error.code).toBe('bad_request');
    }
  });

  it('a day the calendar lacks (30 February) in a query, as in a body (Date would read it as 2 March)', async () => {
    for (const path of [
      '/sales?from=2026-02-30T00:00:00Z',
      '/days?to=2026-02-30T12:00:00%2B01:00',
      '/products/stats?from=2026-02-30',
      '/sales/stats?to=2026-04-31',
    ]) {
      const res = await admin(path);
      expect(res.status, path).toBe(400);
      expect(res.body.error.code).toBe('bad_request');
    }
    expect((await admin('/sales?from=2028-02-29T00:00:00Z')).status).toBe(200);
    expect((await admin('/products/stats?from=2028-02-29')).status).toBe(200);
  });
});

describe('CSV exports neutralise formula cells (issue 18, item 8)', () => {
  it('prefixes text cells that a spreadsheet would run, in a real export, and leaves numbers alone', async () => {
    const names = ['  =1+1', '@SUM(A1)', '\tTab', ';=cmd', '-2+3'];
    const positions = names.map((name, i) => {
      expect(name).toBeTruthy();
      return { productId: `90${i}`, productName: `p${i}`, qty: 1, subtotal: 1, discount: 0, total: 1, tax: 0, costPrice: 0 };
    });
    for (const [i, name] of names.entries()) {
      expect((await admin(`/products/90${i}`, 'PUT', { name, price: 1 })).status).toBe(201);
    }
    // Sold, then refunded: the figures are numbers and must never get the prefix.
    const inv = { id: 1, date: String(Date.now()), checkoutType: '0', checkoutStatus: '10', total: 5, tax: 0, discount: 0, costPrice: 0, positions };
    for (const status of ['10', '11']) {
      expect((await gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: [{ ...inv, checkoutStatus: status }] }) })).status).toBe(200);
    }
    const csv = await (await gw.fetch('/api/products/stats?format=csv', { auth: adminAuth })).text();
    for (const name of names) {
      const quoted = /[",\r\n]/.test(name) ? `"'${name.replace(/"/g, '""')}"` : `'${name}`;
      expect(csv, JSON.stringify(name)).toContain(`,${quoted},`);
    }
    expect(csv).not.toMatch(/,'-?[0-9]+(\.[0-9]+)?(,|\r\n)/);
  });
});
