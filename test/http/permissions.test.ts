import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, deviceAuth, removeDir, startTestGateway, type TestGateway } from '../helpers.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
  // TAB-2's figures, which TAB-1's device must never see.
  const push = await gw.fetch('/invoice', {
    method: 'POST',
    auth: `Basic ${Buffer.from('tablet-2:pw-tablet-2').toString('base64')}`,
    body: JSON.stringify({
      invoices: [
        {
          id: 1,
          date: String(Date.now()),
          checkoutType: '0',
          checkoutStatus: '10',
          total: 4.4,
          tax: 0.4,
          discount: 0,
          costPrice: 1,
          positions: [{ productId: '101', productName: 'Coffee', qty: 2, subtotal: 4.4, discount: 0, total: 4.4, tax: 0.4, costPrice: 1 }],
        },
      ],
    }),
  });
  expect(push.status).toBe(200);
});

afterAll(async () => {
  await gw.stop();
  await removeDir(gw.dir);
});

/** Every admin-only route of the API, with a concrete path. */
const ADMIN_ONLY: [string, string][] = [
  ['GET', '/products/stats'],
  ['GET', '/categories/stats'],
  ['GET', '/registrations/stats'],
  ['GET', '/sales/stats'],
  ['GET', '/registrations'],
  ['GET', '/registrations/TAB-2'],
  ['GET', '/registrations/TAB-2/version'],
  ['GET', '/registrations/TAB-2/balance'],
  ['POST', '/registrations/TAB-2/balance'],
  ['POST', '/days/current'],
  ['GET', '/days'],
  ['GET', '/days/d1'],
  ['GET', '/days/d1/report'],
  ['GET', '/sales/TAB-2:1/receipt'],
  ['POST', '/sales/TAB-2:1/receipt'],
  ['GET', '/sales-diff/0/latest'],
  ['GET', '/sales'],
  ['GET', '/sales/TAB-2:1'],
  ['GET', '/quarantine'],
  ['GET', '/quarantine/q1'],
  ['POST', '/products'],
  ['PUT', '/products/101'],
  ['DELETE', '/products/101'],
  ['POST', '/categories'],
  ['PUT', '/taxes/1'],
  ['DELETE', '/commodities/x'],
  ['PUT', '/stock/101'],
  ['POST', '/stock/101/adjustments'],
  ['GET', '/outbox'],
  ['GET', '/deadletters'],
  ['POST', '/deadletters/TAB-2:1/retry'],
];

const mixedCase = (p: string) => p.replace(/\/([a-z])/g, (_m, c: string) => `/${c.toUpperCase()}`);
/** The last letter of the first segment percent-encoded (what a router that decodes would read as the plain path). */
const encodedLetter = (p: string) =>
  p.replace(/^(\/[a-z-]*?)([a-z])(\/|$)/, (_m, head: string, c: string, tail: string) => `${head}%${c.charCodeAt(0).toString(16)}${tail}`);

function variants(path: string): string[] {
  return [
    ...new Set([
      path,
      path.toUpperCase(),
      mixedCase(path),
      `${path}/`,
      `${mixedCase(path)}/`,
      encodedLetter(path),
      path.replace(/stats$/, 'Stats'),
      path.replace(/stats$/, 'STATS'),
      path.replace(/stats$/, '%73tats'),
      path.replace(/stats$/, 'st%61ts'),
    ]),
  ];
}

describe('device permissions (issue 18, item 5)', () => {
  it('refuses every admin-only route to a device, whatever the letter case, encoding or trailing slash', async () => {
    const leaks: string[] = [];
    for (const [method, path] of ADMIN_ONLY) {
      for (const variant of variants(path)) {
        const body = method === 'GET' || method === 'DELETE' ? undefined : {};
        const res = await gw.json(`/api${variant}`, { method, auth: deviceAuth, body });
        // 403 where the router would run an admin route; 404 where no route (or only a device route
        // that finds nothing, e.g. product "%73tats") matches. Never an answer with data.
        const code = res.body?.error?.code;
        if (!(res.status === 403 && code === 'forbidden') && !(res.status === 404 && code === 'not_found')) {
          leaks.push(`${method} ${variant} -> ${res.status} ${JSON.stringify(res.body).slice(0, 80)}`);
        }
      }
    }
    expect(leaks).toEqual([]);
  });

  it('answers the stats paths of any case with 403 to a device and with figures to an admin', async () => {
    for (const path of ['/products/Stats?cashRegisterName=TAB-2', '/categories/STATS', '/products/stats/']) {
      expect((await gw.json(`/api${path}`, { auth: deviceAuth })).status, path).toBe(403);
      const admin = await gw.json(`/api${path}`, { auth: adminAuth });
      expect(admin.status, path).toBe(200);
      expect(Array.isArray(admin.body.items)).toBe(true);
    }
  });

  it('still lets a device read articles and post sales, in any letter case the router accepts', async () => {
    for (const path of ['/version', '/Products', '/PRODUCTS/', '/taxes', '/Stock', '/modifications']) {
      expect((await gw.json(`/api${path}`, { auth: deviceAuth })).status, path).toBe(200);
    }
  });
});
