import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, CHROMIUM_LAUNCH, haveChromium, inCi, readyForChromium } from './chromium.js';
import { ADMIN, device2Auth, deviceAuth, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';
import { deadLetter, FakeForwarding, target } from '../ops/fake-forwarding.js';

const DEAD = 'TAB-1:202611230100099';
const DEAD2 = 'TAB-2:202611230200099';

describe.skipIf(!haveChromium && !inCi)('status page in a real browser (Chromium)', () => {
  let gw: TestGateway;
  let fwd: FakeForwarding;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    await readyForChromium();
    gw = await startTestGateway();
    fwd = new FakeForwarding();
    fwd.targetStates = [target('upstream', { depth: 2, oldestAgeMs: 30_000, attempts: 4, lastError: 'connect ECONNREFUSED 10.0.0.5:8080' })];
    fwd.dead = [deadLetter(DEAD, { lastError: '422 unknown product 999' }), deadLetter(DEAD2, { lastError: '409 sale_collision', status: 409 })];
    gw.gateway.forwarding = fwd;
    profile = await mkdtemp(join(tmpdir(), 'tsg-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      ...CHROMIUM_LAUNCH,
      httpCredentials: { username: ADMIN.username, password: ADMIN.password },
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (gw) {
      await gw.stop();
      await removeDir(gw.dir);
    }
    if (profile) await removeDir(profile);
  });

  it('shows the figures after pushes, retries and dismisses a dead letter, and fits a phone screen', async () => {
    const date = String(Date.now());
    const pushes: [string, unknown[]][] = [
      [
        deviceAuth,
        [
          invoice(202611230100001, [{ productId: '101', qty: 1, total: 6.38 }], { date }),
          invoice(202611230100002, [{ productId: '102', qty: 2, total: 4.98 }], { date }),
        ],
      ],
      [
        device2Auth,
        [
          invoice(202611230200001, [{ productId: '101', qty: 1, total: 0.1 }], { date }),
          invoice(202611230200002, [{ productId: '101', qty: 1, total: 0.2 }], { date }),
        ],
      ],
      [device2Auth, [invoice(202611230200003, [{ productId: '103', qty: 1, total: 5 }], { date, checkoutStatus: '11' }), { id: 'broken' }]],
    ];
    for (const [auth, invoices] of pushes) {
      const res = await gw.fetch('/invoice', { method: 'POST', auth, body: JSON.stringify({ invoices }) });
      expect(await res.text()).toBe('true');
    }

    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    const response = await page.goto(`${gw.url}/status`);
    expect(response?.status()).toBe(200);

    const cell = (register: string, field: string) => page.locator(`#sales-table tr[data-register="${register}"] [data-field="${field}"]`).textContent();
    expect(await cell('TAB-1', 'sales')).toBe('2');
    expect(await cell('TAB-1', 'total')).toBe('11.36');
    expect(await cell('TAB-2', 'sales')).toBe('2');
    expect(await cell('TAB-2', 'total')).toBe('0.30');
    expect(await cell('TAB-2', 'reversed')).toBe('1');
    expect(await cell('TAB-2', 'reversed-total')).toBe('5.00');
    expect(await cell('(all)', 'total')).toBe('11.66');
    expect(await page.locator('tr[data-device="tablet-1"] [data-field="last-push"]').textContent()).toContain('2 received: 2 new');
    expect(await page.locator('tr[data-device="tablet-2"] [data-field="last-push"]').textContent()).toContain('1 quarantined');
    expect(await page.locator('#quarantine-table tbody tr').count()).toBe(1);
    expect(await page.locator('#quarantine-link').textContent()).toBe('1 open');
    expect(await page.locator('tr[data-check="outbox"]').textContent()).toContain('dead letter');
    expect(await page.locator('tr[data-target="upstream"] [data-field="depth"]').textContent()).toBe('2');

    // Usable on a phone: styles applied (the inline CSS passes the CSP), nothing wider than the screen.
    const badgeColour = await page
      .locator('.badge')
      .first()
      .evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(badgeColour).not.toBe('rgba(0, 0, 0, 0)');
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'status-page-phone.png'), fullPage: true });

    await Promise.all([page.waitForURL(/\/status\?retried=/), page.locator(`tr[data-dead-letter="${DEAD}"]`).getByRole('button', { name: 'Retry' }).click()]);
    expect(fwd.retried).toEqual([DEAD]);
    expect(await page.locator('#notice').textContent()).toContain(`Dead letter ${DEAD} moved back to the outbox`);
    expect(await page.locator(`tr[data-dead-letter="${DEAD}"]`).count()).toBe(0);

    // Dismiss asks for the reason: the browser does not send the form without one.
    const row = page.locator(`tr[data-dead-letter="${DEAD2}"]`);
    await row.getByRole('button', { name: 'Dismiss' }).click();
    expect(await row.locator('input[name="reason"]').evaluate((el) => (el as HTMLInputElement).validity.valueMissing)).toBe(true);
    expect(fwd.dismissed).toEqual([]);
    await row.locator('input[name="reason"]').fill('upstream keeps the other sale');
    await Promise.all([page.waitForURL(/\/status\?dismissed=/), row.getByRole('button', { name: 'Dismiss' }).click()]);
    expect(fwd.dismissed).toMatchObject([{ identifier: DEAD2, resolution: 'upstream keeps the other sale' }]);
    expect(await page.locator('#notice').textContent()).toContain(`Dead letter ${DEAD2} dismissed`);
    expect(await page.locator('#no-dead-letters').count()).toBe(1);
    expect(await page.locator('[data-field="dismissed-dead-letters"]').textContent()).toContain('1 dismissed');
    expect(await page.locator('tr[data-target="upstream"] [data-field="depth"]').textContent()).toBe('3');
    await page.screenshot({ path: join(ARTIFACTS, 'status-page-after-retry.png'), fullPage: true });
    expect(cspViolations).toEqual([]);
  }, 60_000);
});
