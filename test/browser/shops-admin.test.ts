import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir } from '../helpers.js';
import { BISTRO_ADMIN, CAFE_ADMIN, OPERATOR, TWO_SHOPS, type TestDeployment, auth, startTestDeployment } from '../shops/helpers.js';
import { ARTIFACTS, DESKTOP, haveChromium, inCi, launchChromium, signIn, submit, watchedPage } from './admin-browser.js';

describe.skipIf(!haveChromium && !inCi)("each shop's back office in a real browser (Chromium)", () => {
  let d: TestDeployment;
  let browser: Browser;

  beforeAll(async () => {
    d = await startTestDeployment(TWO_SHOPS);
    const put = await d.json('/api/products/77', { method: 'PUT', auth: auth(CAFE_ADMIN), body: { name: 'Café croissant', price: 1.9 } });
    expect(put.status).toBeLessThan(300);
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (d) {
      await d.stop();
      await removeDir(d.dir);
    }
  });

  it("shop B's admin signs in at /admin/login, lands on B's back office, adds a product and sees it; A's are not there; A's cookie is refused there", async () => {
    const { page, problems } = await watchedPage(await browser.newContext(DESKTOP));
    await page.goto(`${d.url}/admin/login`);
    await signIn(page, BISTRO_ADMIN.username, BISTRO_ADMIN.password);
    expect(new URL(page.url()).pathname).toBe('/shops/bistro/admin/');
    expect(await page.locator('[data-field="shop"]').textContent()).toBe('Bistro (bistro)');
    expect(await page.locator('[data-field="user"]').textContent()).toBe(BISTRO_ADMIN.username);

    await page.getByRole('link', { name: 'Products', exact: true }).first().click();
    await page.getByRole('link', { name: 'New product' }).click();
    await page.getByLabel('Identifier').fill('501');
    await page.getByLabel('Name').fill('Bistro tart');
    await page.getByLabel('Price', { exact: true }).fill('4,20');
    await submit(page, 'Save');
    expect(new URL(page.url()).pathname).toBe('/shops/bistro/admin/products');
    const names = await page.locator('#products-table tbody tr').allTextContents();
    expect(names.join('\n')).toContain('Bistro tart');
    expect(names.join('\n')).not.toContain('Café croissant');
    expect((await d.json('/api/products/501', { auth: auth(BISTRO_ADMIN) })).body).toMatchObject({ name: 'Bistro tart', price: 4.2 });
    expect((await d.json('/api/products/501', { auth: auth(CAFE_ADMIN) })).status).toBe(404);
    await page.screenshot({ path: join(ARTIFACTS, 'shops-admin-bistro-products.png'), fullPage: true });
    expect(problems).toEqual([]);

    // Shop A's admin, in their own browser, lands on A's back office and sees A's product only.
    const cafeContext = await browser.newContext(DESKTOP);
    const cafe = await watchedPage(cafeContext);
    await cafe.page.goto(`${d.url}/admin/`);
    await signIn(cafe.page, CAFE_ADMIN.username, CAFE_ADMIN.password);
    expect(new URL(cafe.page.url()).pathname).toBe('/shops/cafe/admin/');
    await cafe.page.getByRole('link', { name: 'Products', exact: true }).first().click();
    const cafeNames = (await cafe.page.locator('#products-table tbody tr').allTextContents()).join('\n');
    expect(cafeNames).toContain('Café croissant');
    expect(cafeNames).not.toContain('Bistro tart');
    const cafeCookies = await cafeContext.cookies();
    expect(cafeCookies.map((c) => [c.name, c.path])).toEqual([['tsg_admin', '/shops/cafe/admin']]);

    // A's session cookie carried over to B's back office path: refused (the sign-in page, nothing of B).
    const stolen = await browser.newContext(DESKTOP);
    await stolen.addCookies([{ ...cafeCookies[0], path: '/shops/bistro/admin' }]);
    const thief = await stolen.newPage();
    await thief.goto(`${d.url}/shops/bistro/admin/products`);
    expect(new URL(thief.url()).pathname).toBe('/shops/bistro/admin/sign-in');
    await thief.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await thief.content()).not.toContain('Bistro tart');
  }, 60_000);

  it("an operator opens a shop's back office from the overview at /status and signs in there", async () => {
    const context = await browser.newContext({ ...DESKTOP, httpCredentials: { username: OPERATOR.username, password: OPERATOR.password } });
    const { page, problems } = await watchedPage(context);
    await page.goto(`${d.url}/status`);
    await Promise.all([page.waitForURL(/\/shops\/bistro\/admin\/sign-in/), page.locator('tr[data-shop="bistro"] a[data-link="back-office"]').click()]);
    await signIn(page, OPERATOR.username, OPERATOR.password);
    expect(new URL(page.url()).pathname).toBe('/shops/bistro/admin/');
    await page.getByRole('link', { name: 'Products', exact: true }).first().click();
    expect((await page.locator('#products-table tbody tr').allTextContents()).join('\n')).toContain('Bistro tart');
    expect(problems).toEqual([]);
  }, 60_000);
});
