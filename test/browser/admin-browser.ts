import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN, removeDir, type TestGateway } from '../helpers.js';
import { CHROMIUM_LAUNCH, readyForChromium } from './chromium.js';

export { ARTIFACTS, haveChromium, inCi } from './chromium.js';

/** One Chromium per test file; tests open contexts (a phone, a desktop) on it. */
export async function launchChromium(): Promise<Browser> {
  await readyForChromium();
  return chromium.launch(CHROMIUM_LAUNCH);
}

export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
export const DESKTOP = { viewport: { width: 1280, height: 900 } };

/** A page that records CSP violations and page errors (both must stay empty). */
export async function watchedPage(context: BrowserContext): Promise<{ page: Page; problems: string[] }> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  return { page, problems };
}

/** Types the admin's credentials into the sign-in form the page shows now, as a person would. */
export async function signIn(page: Page, username = ADMIN.username, password = ADMIN.password): Promise<void> {
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Sign in' }).click()]);
}

/** Clicks a submit button and waits for the page it leads to. */
export async function submit(page: Page, name: string): Promise<void> {
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name, exact: true }).click()]);
}

export const fitsWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

/** A desktop page signed in at `url` (the sign-in form shows first, then the page itself). */
export async function signedInPage(browser: Browser, url: string): Promise<{ page: Page; problems: string[] }> {
  const watched = await watchedPage(await browser.newContext(DESKTOP));
  await watched.page.goto(url);
  await signIn(watched.page);
  return watched;
}

/** afterAll of a browser test file: the browser, then the gateway and its data dir. */
export async function closeBrowserAndGateway(browser: Browser | undefined, gw: TestGateway | undefined): Promise<void> {
  await browser?.close();
  if (gw) {
    await gw.stop();
    await removeDir(gw.dir);
  }
}
