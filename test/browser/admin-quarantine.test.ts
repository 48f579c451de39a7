import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, deviceAuth, invoice, startTestGateway, type TestGateway } from '../helpers.js';
import { deadLetter, FakeForwarding, target } from '../ops/fake-forwarding.js';
import { haveChromium, inCi, launchChromium, submit, closeBrowserAndGateway, signedInPage } from './admin-browser.js';

const DEAD = ['TAB-1:202612030100097', 'TAB-1:202612030100098', 'TAB-1:202612030100099'];

describe.skipIf(!haveChromium && !inCi)('back office quarantine, dead letters and forwarding in a real browser (Chromium)', () => {
  let gw: TestGateway;
  let fwd: FakeForwarding;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  const api = (path: string) => gw.json(`/api${path}`, { auth: adminAuth });

  beforeAll(async () => {
    gw = await startTestGateway();
    fwd = new FakeForwarding();
    fwd.targetStates = [target('upstream', { depth: 2, attempts: 4, lastError: 'connect ECONNREFUSED 10.0.0.5:8080' })];
    fwd.dead = DEAD.map((id) => deadLetter(id, { lastError: '422 unknown product 999' }));
    gw.gateway.forwarding = fwd;
    browser = await launchChromium();
    ({ page, problems } = await signedInPage(browser, `${gw.url}/admin/quarantine`));
  }, 60_000);

  afterAll(() => closeBrowserAndGateway(browser, gw));

  it('quarantine: reason and payload; correct and release, release with the received date, dismiss with a reason', async () => {
    const date = String(Date.now());
    await gw.fetch('/invoice', {
      method: 'POST',
      auth: deviceAuth,
      body: JSON.stringify({
        invoices: [
          { ...invoice(202612030100001, [{ productId: '1', qty: 1, total: 2 }], { date }), total: 'lots' },
          invoice(202612030100002, [{ productId: '1', qty: 1, total: 3 }], { date: 'yesterday' }),
          { ...invoice(202612030100003, [{ productId: '1', qty: 1, total: 4 }], { date }), checkoutStatus: 'maybe' },
        ],
      }),
    });
    const items: { id: string; invoiceId: string; reason: string; payload: unknown; at: string }[] = (await api('/quarantine')).body.items;
    expect(items).toHaveLength(3);
    const [wrongTotal, wrongDate, unwanted] = ['202612030100001', '202612030100002', '202612030100003'].map((id) => items.find((i) => i.invoiceId === id)!);
    await page.reload();
    expect(await page.locator('#quarantine-table tbody tr').count()).toBe(3);

    // Correct and release: a typo in the JSON is shown next to the field and what was typed is kept.
    await page.locator(`tr[data-quarantine="${wrongTotal.id}"]`).getByRole('link', { name: 'Review' }).click();
    expect(await page.locator('#quarantine-reason').textContent()).toBe(wrongTotal.reason);
    expect(JSON.parse((await page.locator('#quarantine-payload').textContent())!)).toEqual(wrongTotal.payload);
    const box = page.getByLabel('Corrected invoice (JSON)');
    const fixed = (await box.inputValue()).replace('"total": "lots"', '"total": 2');
    await box.fill(fixed.replace('"id"', 'id'));
    await submit(page, 'Release corrected');
    expect(await page.locator('#f-invoice-error').textContent()).toContain('not valid JSON');
    expect(await box.inputValue()).toBe(fixed.replace('"id"', 'id'));
    await box.fill(fixed);
    await submit(page, 'Release corrected');
    expect(await page.locator('#notice').textContent()).toContain('Released: sale TAB-1:202612030100001 created');
    expect((await api(`/quarantine/${wrongTotal.id}`)).body).toMatchObject({ state: 'released', resolvedBy: 'admin', sale: 'TAB-1:202612030100001' });
    expect((await api('/sales/TAB-1:202612030100001')).body.total).toBe(2);

    // Release with the received date (the tablet's date was unusable).
    await page.getByRole('link', { name: '← Quarantine' }).click();
    await page.locator(`tr[data-quarantine="${wrongDate.id}"]`).getByRole('link', { name: 'Review' }).click();
    await submit(page, 'Release with the received date');
    expect(await page.locator('#notice').textContent()).toContain('Released: sale TAB-1:202612030100002 created');
    expect((await api('/sales/TAB-1:202612030100002')).body.createdAt).toBe(new Date(wrongDate.at).toISOString());

    // Dismiss: a reason is required.
    await page.getByRole('link', { name: '← Quarantine' }).click();
    await page.locator(`tr[data-quarantine="${unwanted.id}"]`).getByRole('link', { name: 'Review' }).click();
    await submit(page, 'Dismiss');
    expect(await page.locator('#f-reason-error').textContent()).toContain('Say why');
    await page.getByLabel('Reason').fill('test sale, voided on paper');
    await submit(page, 'Dismiss');
    expect(await page.locator('#notice').textContent()).toContain('dismissed');
    expect((await api(`/quarantine/${unwanted.id}`)).body).toMatchObject({ state: 'dismissed', resolution: 'test sale, voided on paper' });
    expect(await page.locator('#quarantine-table tbody').textContent()).toContain('Nothing to review');
    await page.getByRole('link', { name: 'All' }).click();
    expect(await page.locator('#quarantine-table tbody tr').count()).toBe(3);
    expect(problems).toEqual([]);
  }, 60_000);

  it('dead letters: retry, retry as PUT, dismiss with a reason; Forwarding shows the outbox', async () => {
    await page.goto(`${gw.url}/admin/quarantine`);
    await page.locator(`tr[data-dead-letter="${DEAD[0]}"]`).getByRole('button', { name: 'Retry', exact: true }).click();
    await page.waitForURL(/quarantine/);
    expect(await page.locator('#notice').textContent()).toContain(`Dead letter ${DEAD[0]} moved back to the outbox`);
    await Promise.all([page.waitForEvent('load'), page.locator(`tr[data-dead-letter="${DEAD[1]}"]`).getByRole('button', { name: 'Retry as PUT' }).click()]);
    // Each row's buttons name their target (a sale may have a dead letter per target).
    expect(fwd.retriedWith).toEqual([
      { identifier: DEAD[0], target: 'upstream' },
      { identifier: DEAD[1], method: 'PUT', target: 'upstream' },
    ]);
    const row = page.locator(`tr[data-dead-letter="${DEAD[2]}"]`);
    // A stale form (token of an older session) changes nothing and keeps the reason typed.
    await row.getByLabel('Reason').fill('sold twice by mistake');
    await row.locator('form.inline input[name=_csrf]').evaluate((input: HTMLInputElement) => {
      input.value = 'stale';
    });
    await Promise.all([page.waitForEvent('load'), row.getByRole('button', { name: 'Dismiss' }).click()]);
    expect(await page.locator('#notice').textContent()).toContain('This form had expired');
    expect(fwd.dismissed).toEqual([]);
    expect(await row.getByLabel('Reason').inputValue()).toBe('sold twice by mistake');
    // A blank reason is refused next to the field.
    await row.getByLabel('Reason').fill('   ');
    await Promise.all([page.waitForEvent('load'), row.getByRole('button', { name: 'Dismiss' }).click()]);
    expect(await row.locator('.field-error').textContent()).toContain('Say why');
    expect(fwd.dismissed).toEqual([]);
    // Still on the page the form's answer came from (the dismiss URL): live updates go on.
    await page.waitForSelector('body[data-live-connected]');
    await row.getByLabel('Reason').fill('sold twice by mistake');
    // A tablet pushing meanwhile refreshes the live regions, but not the one being typed into.
    const updated = await page.evaluate(() => document.body.getAttribute('data-updated'));
    await gw.fetch('/invoice', {
      method: 'POST',
      auth: deviceAuth,
      body: JSON.stringify({ invoices: [invoice(202612030100050, [{ productId: '101', qty: 1, total: 2.2 }], { date: String(Date.now()) })] }),
    });
    await page.waitForFunction((before) => document.body.getAttribute('data-updated') !== before, updated, { timeout: 5000 });
    expect(await row.getByLabel('Reason').inputValue()).toBe('sold twice by mistake');
    await Promise.all([page.waitForEvent('load'), row.getByRole('button', { name: 'Dismiss' }).click()]);
    expect(fwd.dismissed).toMatchObject([{ identifier: DEAD[2], resolution: 'sold twice by mistake', resolvedBy: 'admin' }]);
    expect(await page.locator('#no-dead-letters').count()).toBe(1);
    expect(await page.locator(`#dismissed-dead-letters tr[data-dismissed-dead-letter="${DEAD[2]}"]`).count()).toBe(1);

    await page.getByRole('link', { name: 'Forwarding' }).click();
    expect(await page.locator('tr[data-target="upstream"] [data-field="depth"]').textContent()).toBe('4');
    expect(problems).toEqual([]);
  }, 60_000);
});
