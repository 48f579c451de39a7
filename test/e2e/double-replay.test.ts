import { afterEach, describe, expect, it } from 'vitest';
import { adminAuth, DEVICE, removeDir, startTestGateway, type TestGateway } from '../helpers.js';
import { expectReportAddsUp, expectTextAddsUp, figuresOf } from '../http/report-identities.js';
import { cli } from './run-cli.js';

const started: TestGateway[] = [];
afterEach(async () => {
  for (const gw of started.splice(0)) {
    await gw.stop();
    await removeDir(gw.dir);
  }
});

async function shop(): Promise<TestGateway> {
  const gw = await startTestGateway({ store: { dataDir: './data', seedDemo: true } });
  started.push(gw);
  return gw;
}

const FIXTURES = ['fixtures/pushes/refund.ndjson', 'fixtures/pushes/cancel.ndjson', 'fixtures/pushes/payment-methods.json'];

async function replay(gw: TestGateway) {
  const run = await cli(['replay', ...FIXTURES, '--url', gw.url, '--user', DEVICE.username, '--password', DEVICE.password, '--json']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

describe('replaying the same capture twice into one gateway (tabshop-gateway replay)', { timeout: 60_000 }, () => {
  it('leaves every report, stat, stock level and the sales list exactly as replaying it once', async () => {
    const once = await shop();
    const twice = await shop();
    const first = await replay(once);
    expect(first.invoices.quarantined).toBe(0);
    await replay(twice);
    const second = await replay(twice);
    // Everything the second run sent was seen before: old versions (status 10 of a refunded sale) change nothing.
    expect(second.invoices).toMatchObject({ created: 0, updated: 0, quarantined: 0, unchanged: second.invoices.received });

    const figures = await figuresOf(once);
    expect(await figuresOf(twice)).toEqual(figures);

    const x = (await twice.json('/api/days/TAB-1:1/report', { auth: adminAuth })).body;
    expect(x).toMatchObject({ refundCount: 1, refundTotal: 9.7, cancelCount: 2, cancelTotal: 19.4, reinstatedCount: 0 });
    expectReportAddsUp(x, 'after two replays');
    const text = await (await twice.fetch('/api/days/TAB-1:1/report?format=text', { auth: adminAuth })).text();
    expect(text).toMatch(/Refunds \(1\) +-9\.70\n/);
    expect(text).toMatch(/Cancels \(2\) +-19\.40\n/);
    expectTextAddsUp(text, x, 'after two replays');
  });
});
