import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, adminAuth, device2Auth, deviceAuth, invoice, startTestGateway, type TestGateway } from '../helpers.js';
import {
  ARTIFACTS,
  DESKTOP,
  fitsWidth,
  haveChromium,
  inCi,
  launchChromium,
  PHONE,
  signIn,
  submit,
  watchedPage,
  closeBrowserAndGateway,
} from './admin-browser.js';

const MINUTE = 60_000;

// Locally without Chromium the tests are skipped; in CI (CI=true) a missing browser is a failure.
describe.skipIf(!haveChromium && !inCi)('back office in a real browser (Chromium)', () => {
  let gw: TestGateway;
  let browser: Browser;
  let phone: BrowserContext;
  let desktop: BrowserContext;
  let page: Page;
  let problems: string[];
  let skew = 0;
  const api = (path: string, init: { method?: string; body?: unknown } = {}) => gw.json(`/api${path}`, { ...init, auth: adminAuth });

  beforeAll(async () => {
    gw = await startTestGateway({ admin: { sessionIdleMinutes: 30 } }, undefined, { now: () => new Date(Date.now() + skew) });
    browser = await launchChromium();
    phone = await browser.newContext(PHONE);
    desktop = await browser.newContext(DESKTOP);
    ({ page, problems } = await watchedPage(desktop));
    await page.goto(`${gw.url}/admin/`);
    await signIn(page);
  }, 60_000);

  afterAll(() => closeBrowserAndGateway(browser, gw));

  it('dashboard: today per register and the devices, updated live when a tablet pushes', async () => {
    await page.goto(`${gw.url}/admin/`);
    await expect.poll(() => page.locator('body').getAttribute('data-live-connected')).toBe('true');
    const cell = (register: string, name: string) => page.locator(`#sales-table tr[data-register="${register}"] [data-field="${name}"]`).textContent();
    expect(await cell('TAB-1', 'sales')).toBe('0');
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

    const date = String(Date.now());
    const push = (auth: string, invoices: unknown[]) => gw.fetch('/invoice', { method: 'POST', auth, body: JSON.stringify({ invoices }) });
    await push(deviceAuth, [
      invoice(202612030100001, [{ productId: '101', qty: 1, total: 6.38 }], { date }),
      invoice(202612030100002, [{ productId: '102', qty: 2, total: 4.98 }], { date }),
    ]);
    const pushed = Date.now();
    await page.locator('#sales-table tr[data-register="TAB-1"] [data-field="sales"]', { hasText: '2' }).waitFor({ timeout: 10_000 });
    // Reported, not asserted (no wall-clock assertions): the issue asks for under 2 s.
    console.log(`dashboard updated ${Date.now() - pushed} ms after the push was answered`);
    await push(device2Auth, [invoice(202612030200001, [{ productId: '101', qty: 1, total: 5 }], { date, checkoutStatus: '11' }), { id: 'broken' }]);

    await expect.poll(() => cell('TAB-1', 'sales'), { timeout: 10_000 }).toBe('2');
    expect(await cell('TAB-1', 'total')).toBe('11.36');
    await expect.poll(() => cell('TAB-2', 'refunds'), { timeout: 10_000 }).toBe('1');
    expect(await cell('TAB-2', 'refunds-total')).toBe('5.00');
    expect(await page.locator('[data-field="quarantine"]').textContent()).toBe('1');
    expect(await page.locator('tr[data-device="tablet-1"] [data-field="last-push"]').textContent()).not.toContain('never');
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(problems).toEqual([]);
  }, 60_000);

  it('products: create with errors shown per field, edit, delete refused with the reason; taxes and categories', async () => {
    await page.goto(`${gw.url}/admin/taxes`);
    await page.getByRole('link', { name: 'New tax' }).click();
    await page.getByLabel('Name').fill('Reduced');
    await page.getByLabel('VAT %').fill('10');
    await submit(page, 'Save');
    await page.getByRole('link', { name: 'Discounts' }).click();
    await page.getByRole('link', { name: 'New discount' }).click();
    await page.getByLabel('Name').fill('Staff');
    await page.getByLabel('Percentage').fill('12,5');
    await submit(page, 'Save');
    expect((await api('/discounts/1')).body).toEqual({ identifier: '1', name: 'Staff', percentage: 12.5 });
    await page.getByRole('link', { name: 'Categories' }).click();
    await page.getByRole('link', { name: 'New category' }).click();
    await page.getByLabel('Identifier').fill('coffee');
    await page.getByLabel('Name').fill('Coffee');
    await submit(page, 'Save');
    expect((await api('/taxes/1')).body).toEqual({ identifier: '1', name: 'Reduced', vat: 10 });
    expect((await api('/categories/coffee')).body).toMatchObject({ name: 'Coffee' });

    await page.getByRole('link', { name: 'Products', exact: true }).first().click();
    await page.getByRole('link', { name: 'New product' }).click();
    await page.getByLabel('Identifier').fill('72');
    await page.getByLabel('Name').fill('Latte <b>');
    await page.getByLabel('Price', { exact: true }).fill('three fifty');
    await page.getByLabel('Tax').selectOption({ label: 'Reduced (10 %)' });
    await page.getByLabel('Category').selectOption({ label: 'Coffee' });
    await page.getByLabel('Cost price').fill('0.9');
    await page.getByLabel('Description').fill('Milk & espresso');
    await submit(page, 'Save');
    expect(await page.locator('#f-price-error').textContent()).toContain('is not a number');
    expect(await page.getByLabel('Price', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Name').inputValue()).toBe('Latte <b>');
    expect(await page.getByLabel('Description').inputValue()).toBe('Milk & espresso');
    expect(await page.getByLabel('Category').inputValue()).toBe('coffee');
    expect((await api('/products/72')).status).toBe(404);
    await page.getByLabel('Price', { exact: true }).fill('3,50');
    await submit(page, 'Save');
    expect((await api('/products/72')).body).toMatchObject({
      identifier: '72',
      name: 'Latte <b>',
      price: 3.5,
      tax: '1',
      costPrice: 0.9,
      description: 'Milk & espresso',
    });
    expect((await api('/commodities')).body.items).toMatchObject([{ product: '72', category: 'coffee' }]);

    await page.getByLabel('Search').fill('latte');
    await submit(page, 'Search');
    expect(await page.locator('#products-table tbody tr').count()).toBe(1);
    await page.getByRole('link', { name: 'Latte <b>' }).click();
    await page.getByLabel('Price', { exact: true }).fill('3.80');
    await submit(page, 'Save');
    expect((await api('/products/72')).body.price).toBe(3.8);

    await page.getByRole('link', { name: 'Latte <b>' }).click();
    await page.getByRole('link', { name: /Delete this product/ }).click();
    await submit(page, 'Delete');
    expect(await page.locator('#notice').textContent()).toContain('product 72 is still referenced by commodity 72.coffee');
    expect((await api('/products/72')).status).toBe(200);
    expect(problems).toEqual([]);
  }, 60_000);

  it('sales: filter by register and status, a sale with lines, payments, VAT, history, the original invoice, and its receipt', async () => {
    await page.goto(`${gw.url}/admin/sales`);
    await page.getByLabel('Register').selectOption('TAB-1');
    await submit(page, 'Filter');
    expect(await page.locator('#sales-list tbody tr').count()).toBe(2);
    await page.getByLabel('Register').selectOption('');
    await page.getByLabel('Status').selectOption('refunded');
    await submit(page, 'Filter');
    expect(await page.locator('#sales-list tbody tr').count()).toBe(1);
    expect(await page.locator('#sales-list tbody tr').getAttribute('data-sale')).toBe('TAB-2:202612030200001');

    // Date range (the server's local days, inclusive).
    const day = (offset: number) => {
      const d = new Date();
      d.setDate(d.getDate() + offset);
      return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    };
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('From').fill(day(1));
    await submit(page, 'Filter');
    expect(await page.locator('#sales-list tbody').textContent()).toContain('No sales match.');
    await page.getByLabel('From').fill(day(0));
    await page.getByLabel('To').fill(day(0));
    await submit(page, 'Filter');
    expect(await page.locator('#sales-list tbody tr').count()).toBe(3);
    expect((await api(`/sales?from=${new Date(`${day(0)}T00:00:00`).toISOString()}`)).body.total).toBe(3);

    await page.getByLabel('Register').selectOption('TAB-1');
    await submit(page, 'Filter');
    await page.getByRole('link', { name: '202612030100002' }).click();
    const sale = (await api('/sales/TAB-1:202612030100002')).body;
    expect(await page.locator('[data-field="total"]').first().textContent()).toBe('4.98');
    expect(await page.locator('#sale-lines tbody tr').count()).toBe(sale.lines.length);
    expect(await page.locator('#sale-payments tbody').textContent()).toContain('cash');
    expect(await page.locator('#sale-vat tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('#sale-history tbody tr').count()).toBe(1);
    expect(JSON.parse((await page.locator('#original-invoice').textContent())!)).toEqual(sale.source.invoice);
    await page.getByRole('link', { name: 'Receipt print view' }).click();
    expect(await page.locator('#receipt').textContent()).toContain('4.98');
    expect(await page.locator('body').getAttribute('class')).toBe('print-80');
    expect(problems).toEqual([]);
  }, 60_000);

  // Last: it moves the clock past the idle limit, which ends every session.
  it('signs in on a phone, keeps a stale form, and returns to the page after an expired session', async () => {
    const { page: p, problems: phoneProblems } = await watchedPage(phone);
    await p.goto(`${gw.url}/admin/products/new`);
    expect(p.url()).toContain('/admin/sign-in?next=products%2Fnew');
    await signIn(p, 'admin', 'wrong');
    expect(await p.locator('#notice').textContent()).toContain('Wrong username or password');
    expect(await p.getByLabel('Username').inputValue()).toBe('admin');
    // Keyboard only: the skip link, then Username, Password, Enter.
    await p.keyboard.press('Tab');
    await p.keyboard.press('Tab');
    await p.keyboard.press('Control+A');
    await p.keyboard.type('admin');
    await p.keyboard.press('Tab');
    await p.keyboard.type(ADMIN.password);
    await Promise.all([p.waitForURL(/products\/new/), p.keyboard.press('Enter')]);
    expect(new URL(p.url()).pathname).toBe('/admin/products/new');
    expect(await fitsWidth(p)).toBe(true);
    const cookie = (await phone.cookies()).find((c) => c.name === 'tsg_admin')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/admin' });

    // A stale form (its token no longer valid): nothing saved, what was typed is still there.
    await p.getByLabel('Name').fill('Stale scone');
    await p.getByLabel('Price', { exact: true }).fill('2,90');
    await p.locator('#main input[name=_csrf]').evaluate((el) => ((el as HTMLInputElement).value = 'forged'));
    await submit(p, 'Save');
    expect(await p.locator('#notice').textContent()).toContain('This form had expired');
    expect(await p.getByLabel('Name').inputValue()).toBe('Stale scone');
    expect(await p.getByLabel('Price', { exact: true }).inputValue()).toBe('2,90');
    expect((await api('/products')).body.items.map((i: { name: string }) => i.name)).not.toContain('Stale scone');
    await submit(p, 'Save');
    expect(await p.locator('#notice').textContent()).toContain('saved');
    expect((await api('/products')).body.items).toContainEqual(expect.objectContaining({ name: 'Stale scone', price: 2.9 }));

    // The session ends after 30 idle minutes: sign in again, and land on the page it was on.
    await p.goto(`${gw.url}/admin/sales?status=refunded`);
    skew += 31 * MINUTE;
    await p.getByRole('link', { name: 'Products' }).first().click();
    await p.waitForURL(/sign-in/);
    expect(await p.locator('#notice').textContent()).toContain('Your session has ended');
    await signIn(p);
    expect(new URL(p.url()).pathname).toBe('/admin/products');
    await p.screenshot({ path: join(ARTIFACTS, 'admin-phone-products.png'), fullPage: true });

    // A form sent after the session ended: sign in, and it comes back as typed, not saved yet.
    await p.getByRole('link', { name: 'New product' }).click();
    await p.getByLabel('Name').fill('Late scone');
    await p.getByLabel('Price', { exact: true }).fill('3,10');
    skew += 31 * MINUTE;
    await submit(p, 'Save');
    expect(await p.locator('#notice').textContent()).toContain('Your session has ended');
    await Promise.all([p.waitForURL(/products\/new/), signIn(p)]);
    expect(await p.locator('#notice').textContent()).toContain('This form had expired');
    expect(await p.getByLabel('Name').inputValue()).toBe('Late scone');
    expect(await p.getByLabel('Price', { exact: true }).inputValue()).toBe('3,10');
    expect((await api('/products')).body.items.map((i: { name: string }) => i.name)).not.toContain('Late scone');
    await submit(p, 'Save');
    expect((await api('/products')).body.items).toContainEqual(expect.objectContaining({ name: 'Late scone', price: 3.1 }));

    await submit(p, 'Sign out');
    await p.goto(`${gw.url}/admin/`);
    expect(p.url()).toContain('/admin/sign-in');
    expect(phoneProblems).toEqual([]);
  }, 60_000);
});
