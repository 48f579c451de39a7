import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoice, removeDir } from '../helpers.js';
import { deadLetter, FakeForwarding, target } from '../ops/fake-forwarding.js';
import { BISTRO_DEVICE, CAFE_DEVICE, OPERATOR, TWO_SHOPS, type TestDeployment, auth, startTestDeployment } from '../shops/helpers.js';
import { ARTIFACTS, CHROMIUM_LAUNCH, haveChromium, inCi, readyForChromium } from './chromium.js';

const DEAD = 'CAFE-1:9001';

describe.skipIf(!haveChromium && !inCi)("an operator's status pages in a real browser (Chromium)", () => {
  let d: TestDeployment;
  let fwd: FakeForwarding;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    await readyForChromium();
    d = await startTestDeployment(TWO_SHOPS);
    const date = String(Date.now());
    for (const [device, total] of [
      [CAFE_DEVICE, '3.40'],
      [BISTRO_DEVICE, '7.00'],
    ] as const) {
      const res = await d.json('/invoice', {
        method: 'POST',
        auth: auth(device),
        body: { invoices: [invoice(1, [{ productId: 'p', qty: 1, total }], { date })] },
      });
      expect(res.status).toBe(200);
    }
    fwd = new FakeForwarding();
    fwd.targetStates = [target('upstream', { depth: 0 })];
    fwd.dead = [deadLetter(DEAD, { lastError: '422 unknown product p' })];
    (await d.directory.gateway('cafe')).gateway.forwarding = fwd;
    profile = await mkdtemp(join(tmpdir(), 'tsg-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      ...CHROMIUM_LAUNCH,
      httpCredentials: { username: OPERATOR.username, password: OPERATOR.password },
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (d) {
      await d.stop();
      await removeDir(d.dir);
    }
    if (profile) await removeDir(profile);
  });

  it("goes from the overview of every shop to one shop's page, and retries a dead letter there", async () => {
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    expect((await page.goto(`${d.url}/status`))?.status()).toBe(200);
    const row = (id: string) => page.locator(`#shops-table tr[data-shop="${id}"]`);
    expect(await row('cafe').locator('[data-field="total"]').textContent()).toBe('3.40 EUR');
    expect(await row('bistro').locator('[data-field="total"]').textContent()).toBe('7.00 CHF');
    expect(await row('cafe').locator('[data-field="dead-letters"]').textContent()).toBe('1');
    // The same stylesheet as a shop's page, allowed by the CSP; nothing wider than a phone.
    expect(
      await page
        .locator('.badge')
        .first()
        .evaluate((el) => getComputedStyle(el).backgroundColor),
    ).not.toBe('rgba(0, 0, 0, 0)');
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'shops-status-phone.png'), fullPage: true });

    await Promise.all([page.waitForURL(`${d.url}/shops/cafe/status`), row('cafe').locator('a[data-link="shop"]').click()]);
    expect(await page.locator('tr[data-device="cafe-tablet"]').count()).toBe(1);
    expect(await page.locator('tr[data-device="bistro-tablet"]').count()).toBe(0);
    expect(await page.locator('#sales-table tr[data-register="(all)"] [data-field="total"]').textContent()).toBe('3.40');

    await Promise.all([
      page.waitForURL(/\/shops\/cafe\/status\?retried=/),
      page.locator(`tr[data-dead-letter="${DEAD}"]`).getByRole('button', { name: 'Retry' }).click(),
    ]);
    expect(fwd.retried).toEqual([DEAD]);
    expect(await page.locator('#notice').textContent()).toContain(`Dead letter ${DEAD} moved back to the outbox`);
    expect(await page.locator('[data-field="shop-name"]').textContent()).toBe('Café');
    await page.screenshot({ path: join(ARTIFACTS, 'shops-status-cafe-phone.png'), fullPage: true });

    // And back to every shop.
    await Promise.all([page.waitForURL(`${d.url}/status`), page.locator('#all-shops').click()]);
    expect(await page.locator('#shops-table tr[data-shop]').count()).toBe(3);
    expect(cspViolations).toEqual([]);
  }, 60_000);
});
