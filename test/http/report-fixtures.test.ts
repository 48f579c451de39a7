import { describe, expect, it } from 'vitest';
import { adminAuth, removeDir, startTestGateway, type TestGateway } from '../helpers.js';
import { applyChange, fixtureDays, invoiceOf, isStaleRePush, type FixtureEvent, type FixtureSale } from '../reports/fixture-day.js';

/** The same fixture days as test/reports, pushed by a tablet into a real gateway: same hand-computed figures, before and after a restart. */
describe('fixture days through the gateway', () => {
  it.each(fixtureDays())('%s', async (_name, fx) => {
    let gw: TestGateway = await startTestGateway();
    const admin = (path: string, method = 'GET', body?: unknown) => gw.json(`/api${path}`, { method, body, auth: adminAuth });
    try {
      for (const [id, vat] of Object.entries(fx.taxes)) expect((await admin(`/taxes/${id}`, 'PUT', { name: `VAT ${vat}`, vat })).status).toBe(201);
      for (const [id, p] of Object.entries(fx.products))
        expect((await admin(`/products/${id}`, 'PUT', { name: p.name, price: 1, tax: p.tax })).status).toBe(201);
      const pushed = new Map<string, { id: string; date: number; sale: FixtureSale }>();
      const push = async (invoice: unknown) => {
        const res = await gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: [invoice] }), headers: { accept: 'application/json' } });
        expect(res.status).toBe(200);
        const summary = await res.json();
        expect(summary.quarantined).toBe(0);
      };
      const run = async (events: FixtureEvent[]) => {
        for (const e of events) {
          if ('sale' in e) {
            const p = {
              id: `2026112301${String(pushed.size + 1).padStart(5, '0')}`,
              date: Date.parse('2026-11-23T08:00:00Z') + pushed.size * 60_000,
              sale: e.sale,
            };
            pushed.set(e.sale.id, p);
            await push(invoiceOf(e.sale, p.id, p.date));
          } else if ('change' in e) {
            const p = pushed.get(e.change)!;
            const stale = isStaleRePush(p.sale, e);
            const changed = applyChange(p.sale, e);
            if (!stale) p.sale = changed;
            if (e.via === 'api') {
              const { body: current } = await admin(`/sales/TAB-1:${p.id}`);
              expect((await admin(`/sales/TAB-1:${p.id}`, 'PUT', { ...current, status: changed.status ?? 'completed' })).status).toBe(200);
            } else {
              await push(invoiceOf(changed, p.id, p.date));
            }
          } else {
            const body = 'deposit' in e ? { action: 'deposit', amount: e.deposit, note: e.note } : { action: 'withdraw', amount: e.withdraw, note: e.note };
            expect((await admin('/registrations/TAB-1/balance', 'POST', body)).status).toBe(201);
          }
        }
      };
      let dayId = 'TAB-1:1';
      if (fx.earlier.length) {
        await run(fx.earlier);
        const z1 = await admin('/days/current?cashRegisterName=TAB-1', 'POST');
        expect(z1.status).toBe(201);
        expect(z1.body).toMatchObject(fx.earlierExpected!);
        dayId = 'TAB-1:2';
      }
      await run(fx.events);
      const x = await admin(`/days/${dayId}/report`);
      expect(x.body).toMatchObject({ type: 'X', ...fx.expected });

      await gw.stop();
      gw = await startTestGateway({}, gw.dir);
      expect((await admin(`/days/${dayId}/report`)).body).toEqual(x.body);

      const z = await admin('/days/current?cashRegisterName=TAB-1', 'POST');
      expect(z.status).toBe(201);
      expect(z.body).toMatchObject({ type: 'Z', dayId, ...fx.expected });
      await gw.stop();
      gw = await startTestGateway({}, gw.dir);
      expect((await admin(`/days/${dayId}/report`)).body).toEqual(z.body);
      expect(gw.logs.join('')).not.toMatch(/no longer add up/);
    } finally {
      await gw.stop();
      await removeDir(gw.dir);
    }
  });
});
