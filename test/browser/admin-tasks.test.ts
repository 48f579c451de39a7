import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, basic, deviceAuth, invoice, startTestGateway, type TestGateway } from '../helpers.js';
import { haveChromium, inCi, launchChromium, signIn, submit, closeBrowserAndGateway, signedInPage } from './admin-browser.js';

describe.skipIf(!haveChromium && !inCi)('back office tasks in a real browser (Chromium): stock, days, CSV import, devices', () => {
  let gw: TestGateway;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  const api = (path: string, init: { method?: string; body?: unknown } = {}) => gw.json(`/api${path}`, { ...init, auth: adminAuth });

  beforeAll(async () => {
    gw = await startTestGateway();
    await api('/products/7', { method: 'PUT', body: { name: 'Scone', price: 2.9 } });
    browser = await launchChromium();
    ({ page, problems } = await signedInPage(browser, `${gw.url}/admin/stock`));
  }, 60_000);

  afterAll(() => closeBrowserAndGateway(browser, gw));

  it('stock: set a level, record a delivery and a correction (reason required), highlight low stock', async () => {
    expect(new URL(page.url()).pathname).toBe('/admin/stock');
    expect(await page.locator('tr[data-product="7"] [data-field="quantity"]').textContent()).toBe('not tracked');
    await page.getByRole('link', { name: 'Scone' }).click();
    await page.getByLabel('Quantity', { exact: true }).fill('10');
    await submit(page, 'Set level');
    expect((await api('/stock/7')).body).toMatchObject({ quantity: 10, tracked: true });

    await page.getByLabel('Quantity change').fill('24');
    await submit(page, 'Record');
    expect((await api('/stock/7')).body.quantity).toBe(34);

    await page.getByLabel('Kind').selectOption('correction');
    await page.getByLabel('Quantity change').fill('-2,5');
    await submit(page, 'Record');
    expect(await page.locator('#f-reason-error').textContent()).toContain('Say why');
    expect(await page.getByLabel('Quantity change').inputValue()).toBe('-2,5');
    expect(await page.getByLabel('Kind').inputValue()).toBe('correction');
    expect((await api('/stock/7')).body.quantity).toBe(34);
    await page.getByLabel('Reason').fill('dropped');
    await submit(page, 'Record');
    expect((await api('/stock/7')).body.quantity).toBe(31.5);
    expect(await page.locator('#stock-adjustments tbody').textContent()).toContain('correction: dropped');

    await page.getByLabel('Low-stock threshold').fill('40');
    await submit(page, 'Save threshold');
    await page.getByRole('link', { name: '← All stock' }).click();
    expect(await page.locator('tr[data-product="7"]').getAttribute('class')).toBe('low');
    await page.getByRole('link', { name: 'Show low stock only' }).click();
    expect(await page.locator('#stock-table tbody tr[data-product]').count()).toBe(1);
    expect(problems).toEqual([]);
  }, 60_000);

  it('days: X report now, Close day after a confirmation gives the Z report, printable 80 mm and A4, CSV', async () => {
    await gw.fetch('/invoice', {
      method: 'POST',
      auth: deviceAuth,
      body: JSON.stringify({ invoices: [invoice(202612030100001, [{ productId: '7', qty: 2, total: 5.8 }], { date: String(Date.now()) })] }),
    });
    await page.getByRole('link', { name: 'Days' }).click();
    const row = page.locator('#open-days tr[data-register="TAB-1"]');
    expect(await row.locator('[data-field="sales"]').textContent()).toBe('1');
    await row.getByRole('link', { name: 'X report now' }).click();
    expect(await page.locator('h1').textContent()).toContain('X report');
    expect(await page.locator('#report-sales tr[data-item="Gross"] td.num').textContent()).toBe('5.80');

    await page.getByRole('link', { name: '← Days' }).click();
    await row.getByRole('link', { name: 'Close day' }).click();
    expect(await page.locator('h1').textContent()).toBe('Close day TAB-1:1?');
    expect((await api('/days/TAB-1:1')).body.status).toBe('open');
    await submit(page, 'Close day');
    expect(await page.locator('#notice').textContent()).toContain('Day TAB-1:1 closed');
    expect(await page.locator('h1').textContent()).toContain('Z report');
    const z = (await api('/days/TAB-1:1/report')).body;
    expect(z).toMatchObject({ type: 'Z', saleCount: 1, gross: 5.8 });

    await page.getByRole('link', { name: '80 mm receipt' }).click();
    expect(await page.locator('body').getAttribute('class')).toBe('print-80');
    expect(await page.locator('#report-text').textContent()).toContain('5.80');
    await page.getByRole('link', { name: 'A4 page' }).click();
    expect(await page.locator('body').getAttribute('class')).toBe('print-a4');
    const csvHref = await page.getByRole('link', { name: 'CSV' }).getAttribute('href');
    const csv = await (await page.request.get(new URL(csvHref!, page.url()).href)).text();
    expect(csv).toContain('dayId,TAB-1:1');
    expect(csv).toContain('type,Z');
    expect(problems).toEqual([]);
  }, 60_000);

  it('CSV import: upload, preview of created/changed/refused rows, Confirm import; Export CSV imports back unchanged', async () => {
    await page.getByRole('link', { name: 'Products' }).first().click();
    await page.getByRole('link', { name: 'Import CSV' }).click();
    const file = Buffer.from('Barcode;Name;Price;Quantity\r\n7;Scone;3,10;\r\n500;Crème brûlée;4,50;12\r\n501;Broken;x;\r\n', 'latin1');
    await page.getByLabel('CSV file').setInputFiles({ name: 'products.csv', mimeType: 'text/csv', buffer: file });
    await submit(page, 'Import');
    expect(await page.locator('#import-summary').textContent()).toContain('1 to create, 1 to change, 0 unchanged, 1 refused');
    expect(await page.locator('#import-refused tr[data-row="4"]').textContent()).toContain('price "x" is not a number');
    expect(await page.locator('#import-changed tr[data-row="2"]').textContent()).toContain('price');
    expect((await api('/products/500')).status).toBe(404);
    await submit(page, 'Confirm import');
    expect(await page.locator('#notice').textContent()).toContain('1 created, 1 changed');
    expect((await api('/products/500')).body).toMatchObject({ name: 'Crème brûlée', price: 4.5 });
    expect((await api('/products/7')).body.price).toBe(3.1);
    expect((await api('/stock/500')).body.quantity).toBe(12);

    const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    const exported = await (await page.request.get(new URL(href!, page.url()).href)).body();
    await page.getByRole('link', { name: 'Import CSV' }).click();
    await page.getByLabel('CSV file').setInputFiles({ name: 'export.csv', mimeType: 'text/csv', buffer: exported });
    await submit(page, 'Import');
    expect(await page.locator('#import-summary').textContent()).toContain('0 to create, 0 to change, 2 unchanged, 0 refused');
    expect(await page.getByRole('button', { name: 'Confirm import' }).count()).toBe(0);
    expect(problems).toEqual([]);
  }, 60_000);

  // Last: it restarts the gateway.
  it('devices: create one (password shown once), usernames unique, change its password; it survives a restart', async () => {
    // Failed logins: how many (since the gateway started), not only the last one.
    for (let i = 0; i < 3; i++) expect((await gw.fetch('/home', { auth: basic('tablet-2', 'wrong') })).status).toBe(401);
    await page.getByRole('link', { name: 'Devices' }).click();
    expect(await page.locator('tr[data-device="tablet-1"]').textContent()).toContain('config file');
    expect(await page.locator('#devices-list th').allTextContents()).toContain('Failed logins since start');
    expect(await page.locator('tr[data-device="tablet-2"] [data-field="failed-logins"]').textContent()).toBe('3');
    expect(await page.locator('tr[data-device="tablet-1"] [data-field="failed-logins"]').textContent()).toBe('0');
    await page.getByLabel('Username').fill('tablet-1');
    await page.getByLabel('Register').fill('TAB-9');
    await submit(page, 'Create device');
    expect(await page.locator('#f-username-error').textContent()).toContain('tablet-1 is taken');
    expect(await page.getByLabel('Register').inputValue()).toBe('TAB-9');
    await page.getByLabel('Username').fill('tablet-9');
    await submit(page, 'Create device');
    const first = (await page.locator('#new-password').textContent())!;
    expect(first).toMatch(/^[A-Za-z0-9]{16}$/);
    const home = (password: string) => gw.fetch('/home', { auth: basic('tablet-9', password) });
    expect(await (await home(first)).text()).toBe('true');

    await page.getByRole('link', { name: 'Back to devices' }).click();
    expect(await page.locator('tr[data-device="tablet-9"] [data-field="last-seen"]').textContent()).not.toContain('never');
    await page.locator('tr[data-device="tablet-9"]').getByRole('link', { name: 'Change password' }).click();
    await submit(page, 'Generate new password');
    const second = (await page.locator('#new-password').textContent())!;
    expect(second).not.toBe(first);
    expect((await home(first)).status).toBe(401);
    expect(await (await home(second)).text()).toBe('true');
    expect(problems).toEqual([]);

    // Devices created in the back office are stored: a restarted gateway still knows them.
    await gw.stop();
    gw = await startTestGateway({}, gw.dir);
    expect(await (await home(second)).text()).toBe('true');
    // Last seen survives the restart too (from the stored presence).
    await page.goto(`${gw.url}/admin/devices`);
    await signIn(page);
    expect(await page.locator('tr[data-device="tablet-1"] [data-field="last-seen"]').textContent()).not.toContain('never');
    expect(await page.locator('tr[data-device="tablet-9"]').textContent()).toContain('back office');
  }, 60_000);
});
