// Writes a screenshot of every back-office page to docs/screenshots/ (README shows them):
//   npx tsx scripts/admin-screenshots.ts
// A demo gateway with the demo café catalogue, a few pushed sales, a quarantined push and a
// closed day, on a temp data dir; Chromium from /usr/bin/chromium (or CHROMIUM=...).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { chromium, type Page } from 'playwright-core';
import { loadConfig } from '../src/config/load.js';
import { openGateway } from '../src/gateway.js';
import { createLogger } from '../src/logger.js';
import { startServer } from '../src/server.js';

const OUT = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'tsg-screens-'));
await writeFile(
  join(dir, 'config.json'),
  JSON.stringify({
    server: { host: '127.0.0.1', port: 0 },
    store: { dataDir: './data', seedDemo: true },
    devices: [
      { username: 'tablet-1', password: 'pw-1', cashRegister: 'TAB-1' },
      { username: 'tablet-2', password: 'pw-2', cashRegister: 'TAB-2' },
    ],
    admins: [{ username: 'admin', password: 'pw-admin' }],
  }),
);
const { config } = loadConfig({ file: join(dir, 'config.json'), cwd: dir, env: {} });
const gateway = await openGateway(config, createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })));
const running = await startServer(gateway, '127.0.0.1', 0);
const auth = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
const now = Date.now();
const line = (productId: string, productName: string, qty: number, total: number) => ({
  productId,
  productName,
  posTitle: productName,
  qty,
  subtotal: total,
  total,
  tax: 0,
  discount: 0,
  costPrice: 0,
});
const sale = (id: number, minutesAgo: number, lines: ReturnType<typeof line>[], extra: Record<string, unknown> = {}) => ({
  id,
  date: String(now - minutesAgo * 60_000),
  checkoutType: '0',
  checkoutStatus: '10',
  total: lines.reduce((s, l) => s + l.total, 0),
  tax: 0,
  discount: 0,
  costPrice: 0,
  givenCash: 0,
  returnedCash: 0,
  customer: { name: '', address: '', email: '' },
  positions: lines,
  ...extra,
});
const push = (who: Record<string, string>, invoices: unknown[]) =>
  fetch(`${running.url}/invoice`, { method: 'POST', headers: who, body: JSON.stringify({ invoices }) });
await fetch(`${running.url}/api/stock/101`, {
  method: 'PUT',
  headers: { ...auth('admin', 'pw-admin'), 'content-type': 'application/json' },
  body: '{"quantity": 40}',
});
await push(auth('tablet-1', 'pw-1'), [
  sale(202612030100001, 95, [line('101', 'Espresso', 2, 4.4)]),
  sale(202612030100002, 60, [line('102', 'Cappuccino', 1, 3.2), line('101', 'Espresso', 1, 2.2)]),
]);
await push(auth('tablet-2', 'pw-2'), [
  sale(202612030200001, 40, [line('201', 'English Breakfast', 2, 5)]),
  sale(202612030200002, 20, [line('102', 'Cappuccino', 1, 3.2)], { checkoutStatus: '11' }),
  { id: 202612030200003, date: String(now), total: 'lots', positions: [] },
]);

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
await mkdir(OUT, { recursive: true });
try {
  const shoot = async (page: Page, path: string, name: string) => {
    await page.goto(`${running.url}/admin/${path}`);
    await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
    process.stdout.write(`docs/screenshots/${name}.png\n`);
  };
  const desktop = await (await browser.newContext({ viewport: { width: 1200, height: 800 } })).newPage();
  await shoot(desktop, 'sign-in', 'sign-in');
  await desktop.getByLabel('Username').fill('admin');
  await desktop.getByLabel('Password').fill('pw-admin');
  await Promise.all([desktop.waitForEvent('load'), desktop.getByRole('button', { name: 'Sign in' }).click()]);
  const pages: [string, string][] = [
    ['', 'dashboard'],
    ['sales', 'sales'],
    ['sales/TAB-1%3A202612030100002', 'sale'],
    ['sales/TAB-1%3A202612030100002/receipt', 'receipt'],
    ['products', 'products'],
    ['products/101', 'product-edit'],
    ['taxes', 'taxes'],
    ['categories', 'categories'],
    ['products/import', 'import'],
    ['stock', 'stock'],
    ['stock/101', 'stock-product'],
    ['days', 'days'],
    ['days/TAB-1%3A1', 'x-report'],
    ['days/close?register=TAB-1', 'close-day'],
    ['quarantine', 'quarantine'],
    ['devices', 'devices'],
  ];
  for (const [path, name] of pages) await shoot(desktop, path, name);
  const quarantined = (await gateway.ledger.quarantineSummaries('open'))[0];
  if (quarantined) await shoot(desktop, `quarantine/${encodeURIComponent(quarantined.id)}`, 'quarantine-item');
  await desktop.goto(`${running.url}/admin/days/close?register=TAB-1`);
  await Promise.all([desktop.waitForEvent('load'), desktop.getByRole('button', { name: 'Close day' }).click()]);
  await shoot(desktop, 'days/TAB-1%3A1?view=80mm', 'z-report-80mm');
  await shoot(desktop, 'days/TAB-1%3A1?view=a4', 'z-report-a4');
  const phoneContext = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  await phoneContext.addCookies(await desktop.context().cookies());
  const phone = await phoneContext.newPage();
  await shoot(phone, '', 'phone-dashboard');
  await shoot(phone, 'products/new', 'phone-product-new');
} finally {
  await browser.close();
  await running.stop(1000);
  await rm(dir, { recursive: true, force: true });
}
