import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, deviceAuth, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';
import { deadLetter, FakeForwarding, target } from '../ops/fake-forwarding.js';
import { DESKTOP, haveChromium, inCi, launchChromium, signIn, submit, watchedPage } from './admin-browser.js';

const DEAD = 'TAB-1:202612030100099';

describe.skipIf(!haveChromium && !inCi)('back office quarantine, dead letters and forwarding in a real browser (Chromium)', () => {
  let gw: TestGateway;
  let fwd: FakeForwarding;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    gw = await startTestGateway();
    fwd = new FakeForwarding();
    fwd.targetStates = [target('upstream', { depth: 2, attempts: 4, lastError: 'connect ECONNREFUSED 10.0.0.5:8080' })];
    fwd.dead = [deadLetter(DEAD, { lastError: '422 unknown product 999' })];
    gw.gateway.forwarding = fwd;
    browser = await launchChromium();
    ({ page, problems } = await watchedPage(await browser.newContext(DESKTOP)));
    await page.goto(`${gw.url}/admin/quarantine`);
    await signIn(page);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (gw) {
      await gw.stop();
      await removeDir(gw.dir);
    }
  });

  it('lists quarantined pushes with the reason, shows the payload, retries a dead letter; Forwarding shows the outbox', async () => {
    const date = String(Date.now());
    await gw.fetch('/invoice', { method: 'POST', auth: deviceAuth, body: JSON.stringify({ invoices: [invoice(202612030100001, [{ productId: '1', qty: 1, total: 2 }], { date }), { id: 202612030100002, date, total: 'lots', positions: [] }] }) });
    const items = (await gw.json('/api/quarantine', { auth: adminAuth })).body.items;
    expect(items).toHaveLength(1);
    await page.reload();
    const row = page.locator(`#quarantine-table tr[data-quarantine="${items[0].id}"]`);
    expect(await row.textContent()).toContain(items[0].reason);
    await row.getByRole('link', { name: 'Details and payload' }).click();
    expect(await page.locator('#quarantine-reason').textContent()).toBe(items[0].reason);
    expect(JSON.parse((await page.locator('#quarantine-payload').textContent())!)).toEqual(items[0].payload);

    await page.getByRole('link', { name: '← Quarantine' }).click();
    await submit(page, 'Retry');
    expect(fwd.retried).toEqual([DEAD]);
    expect(await page.locator('#notice').textContent()).toContain(`Dead letter ${DEAD} moved back to the outbox`);
    expect(await page.locator('#no-dead-letters').count()).toBe(1);

    await page.getByRole('link', { name: 'Forwarding' }).click();
    expect(await page.locator('tr[data-target="upstream"] [data-field="depth"]').textContent()).toBe('3');
    expect(problems).toEqual([]);
  }, 60_000);
});
