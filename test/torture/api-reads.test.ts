import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, invoice, removeDir, seedInvoices, startTestGateway, type TestGateway } from '../helpers.js';

/**
 * Every read route of the srv4pos-style API with hostile query values, ids and Accept types:
 * no 5xx, and every refusal the JSON error shape. (Found: ids such as "__proto__" reaching
 * Object.prototype.)
 */
const VALUES = [
  '',
  '-1',
  '0',
  '1e400',
  'NaN',
  'abc',
  '99999999999999999999',
  '2026-13-45',
  '2026-11-23T25:00:00Z',
  '%00',
  '%E0%A4%A',
  '[]',
  "x'--",
  'a'.repeat(3000),
  '1.5',
  'Infinity',
  '__proto__',
  'constructor',
  'TAB-1',
  '9007199254740993',
];
const PARAMS = ['from', 'to', 'maxResults', 'firstResult', 'cashRegisterName', 'status'];
const LISTS = [
  '/sales',
  '/days',
  '/modifications',
  '/quarantine',
  '/registrations',
  '/products/stats',
  '/categories/stats',
  '/registrations/stats',
  '/sales/stats',
  '/stock',
  '/version',
  '/taxes',
  '/categories',
  '/products',
  '/commodities',
  '/discounts',
];
const IDS = ['x', '%2F', '..%2F..', 'TAB-1:1', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'a'.repeat(2000), '%E0%A4%A', '-1'];
const BY_ID = [
  '/sales/ID',
  '/sales/ID/receipt',
  '/days/ID',
  '/days/ID/report',
  '/registrations/ID',
  '/registrations/ID/balance',
  '/registrations/ID/version',
  '/quarantine/ID',
  '/stock/ID',
  '/products/ID',
  '/taxes/ID',
  '/categories/ID',
  '/commodities/ID',
  '/discounts/ID',
  '/sales-diff/ID/ID',
  '/sales-diff/0/ID',
];
const ACCEPTS = ['application/json', 'text/plain', 'text/csv', '*/*'];

function requests(): { path: string; accept: string }[] {
  const out: { path: string; accept: string }[] = [];
  let i = 0;
  for (const list of LISTS) for (const p of PARAMS) for (const v of VALUES) out.push({ path: `${list}?${p}=${v}`, accept: ACCEPTS[i++ % ACCEPTS.length] });
  for (const route of BY_ID) for (const id of IDS) for (const accept of ACCEPTS) out.push({ path: route.replaceAll('ID', id), accept });
  return out;
}

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ store: { dataDir: './data', seedDemo: true } });
  const res = await gw.fetch('/invoice', {
    method: 'POST',
    body: JSON.stringify({ invoices: [...seedInvoices.invoices, invoice(1, [{ productId: '101', qty: 1, total: 2.2 }])] }),
  });
  expect(res.status).toBe(200);
});
afterAll(async () => {
  await gw.stop();
  await removeDir(gw.dir);
});

describe('hostile reads of the API', () => {
  it('never answer 5xx, and every refusal is a JSON error', async () => {
    const all = requests();
    const problems: string[] = [];
    for (let i = 0; i < all.length; i += 25) {
      await Promise.all(
        all.slice(i, i + 25).map(async ({ path, accept }) => {
          const res = await gw.fetch(`/api${path}`, { auth: adminAuth, headers: { accept } });
          const text = await res.text();
          if (res.status >= 500) problems.push(`${res.status} ${path} [${accept}]`);
          else if (res.status >= 400 && !/^\{"error":\{"code":"[a-z_]+","message":/.test(text)) problems.push(`non-JSON ${res.status} ${path} [${accept}]`);
        }),
      );
    }
    expect(all.length).toBeGreaterThan(2500);
    expect(problems).toEqual([]);
  });
});
