import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Decimal } from 'decimal.js';
import { afterEach, describe, expect, it } from 'vitest';
import { generateLargeBatch } from '../../scripts/generate-large-batch.js';
import type { Sale } from '../../src/domain/types.js';
import { checkPushes } from '../../src/integrate/check.js';
import { listFixtureFiles, readFixtures } from '../../src/integrate/fixtures.js';
import { invoiceUrl, replay } from '../../src/integrate/replayer.js';
import { ReplayStats } from '../../src/integrate/stats.js';
import { adminAuth, DEVICE, deviceAuth, removeDir, startTestGateway, type TestGateway } from '../helpers.js';

interface Expected {
  description: string;
  register: string;
  outcomes: { received: number; created: number; updated: number; unchanged: number; quarantined: number };
  sales?: Sale[];
  aggregate?: Aggregate;
}
interface Aggregate {
  sales: number;
  lines: number;
  total: string;
  byStatus: Record<string, number>;
  byMethod: Record<string, number>;
}

const PUSHES = fileURLToPath(new URL('../../fixtures/pushes/', import.meta.url));
const fixtureFiles = await listFixtureFiles([PUSHES]);
const expectedOf = (file: string): Expected => JSON.parse(readFileSync(file.replace(/\.(json|ndjson|jsonl)$/, '.expected.json'), 'utf8'));
const name = (file: string) => file.slice(PUSHES.length);

function aggregate(sales: Sale[]): Aggregate {
  const count = (key: (s: Sale) => string) => {
    const out: Record<string, number> = {};
    for (const s of sales) out[key(s)] = (out[key(s)] ?? 0) + 1;
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
  };
  return {
    sales: sales.length,
    lines: sales.reduce((n, s) => n + s.lines.length, 0),
    total: sales.reduce((sum, s) => sum.plus(String(s.total)), new Decimal(0)).toFixed(2),
    byStatus: count((s) => s.status),
    byMethod: count((s) => s.payments[0].method),
  };
}

const byId = (a: Sale, b: Sale) => (a.identifier < b.identifier ? -1 : 1);

describe('fixture corpus (fixtures/pushes)', () => {
  it('covers every case the translation supports', async () => {
    const set = await readFixtures([PUSHES]);
    const { sales } = checkPushes(set.pushes);
    const methods = new Set(sales.map((s) => s.payments[0].method));
    for (const m of [
      'cash',
      'credit_card',
      'card',
      'paypal',
      'check',
      'paypal_here',
      'invoice',
      'bitcoin',
      'authorize_net',
      'payleven',
      'yodo',
      'stripe',
      'custom',
    ]) {
      expect(methods, m).toContain(m);
    }
    expect(new Set(sales.map((s) => s.status))).toEqual(new Set(['completed', 'refunded', 'cancelled']));
    expect(sales.some((s) => s.lines.some((l) => !Number.isInteger(l.quantity)))).toBe(true);
    expect(set.pushes.filter((p) => (p.invoices?.length ?? 0) >= 1000)).toHaveLength(1);
    expect(set.pushes.some((p) => p.kind === 'capture')).toBe(true);
  });

  it('large-batch.json is what scripts/generate-large-batch.ts generates', () => {
    const generated = generateLargeBatch();
    expect(readFileSync(`${PUSHES}large-batch.json`, 'utf8')).toBe(generated.body);
    expect(expectedOf(`${PUSHES}large-batch.json`)).toEqual(generated.expected);
  });

  for (const file of fixtureFiles) {
    describe(name(file), () => {
      const expected = expectedOf(file);

      it(`validates and translates to the expected sales: ${expected.description}`, async () => {
        const set = await readFixtures([file]);
        expect(set.problems).toEqual([]);
        // The tests push as tablet-1 (register TAB-1), whoever made the capture.
        const result = checkPushes(
          set.pushes.map((p) => ({ ...p, device: DEVICE.username })),
          { register: expected.register },
        );
        expect(result.problems).toEqual([]);
        expect({ received: result.invoices, ...result.outcomes }).toEqual(expected.outcomes);
        if (expected.sales) expect(result.sales).toStrictEqual(expected.sales);
        if (expected.aggregate) expect(aggregate(result.sales)).toEqual(expected.aggregate);
      });

      let gw: TestGateway | undefined;
      afterEach(async () => {
        if (gw) {
          await gw.stop();
          await removeDir(gw.dir);
          gw = undefined;
        }
      });

      it('replayed into a gateway, is stored as the expected sales', async () => {
        gw = await startTestGateway({ store: { dataDir: './data', seedDemo: true } });
        const set = await readFixtures([file]);
        const items = set.pushes.map((p) => ({
          source: p.source,
          body: p.body,
          contentType: p.contentType,
          invoiceCount: p.invoices?.length ?? 0,
          keys: (p.invoices ?? []).map((inv) => String((inv as { id: unknown }).id)),
        }));
        const stats = new ReplayStats(gw.url, items.length);
        const run = await replay(items, {
          url: invoiceUrl(gw.url),
          authorization: deviceAuth,
          concurrency: 4,
          retries: 0,
          backoffMs: 10,
          backoffCapMs: 10,
          timeoutMs: 20_000,
          onResult: (item, outcome) => stats.record(outcome, item.invoiceCount),
        });
        expect(run.interrupted).toBe(false);
        const summary = stats.summary(1, { interrupted: false });
        expect(summary.byStatus).toEqual({ 200: items.length });
        const { sent: _sent, summaries, ...outcomes } = summary.invoices;
        expect(summaries).toBe(items.length);
        expect(outcomes).toEqual(expected.outcomes);
        const list = await gw.json(`/api/sales?cashRegisterName=${expected.register}&maxResults=1000`, { auth: adminAuth });
        const stored: Sale[] = list.body.items;
        if (expected.sales) expect([...stored].sort(byId)).toMatchObject([...expected.sales].sort(byId));
        if (expected.aggregate) expect(aggregate(stored)).toEqual(expected.aggregate);
      });
    });
  }
});
