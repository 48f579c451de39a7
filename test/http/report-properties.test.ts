import { Decimal } from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { adminAuth, device2Auth, deviceAuth, removeDir, startTestGateway, type TestGateway } from '../helpers.js';
import { pick, prng } from '../torture/lib/generators.js';
import { expectCsvAddsUp, expectReportAddsUp, expectTextAddsUp, figuresOf } from './report-identities.js';

/**
 * Property test: random histories of two tablets (sales, refunds, cancels, refunds that become
 * cancels, payment changes, re-pushes of old versions in random order, duplicates in a batch, day
 * closes, late refunds) pushed into a real gateway. Every X report after every step and every Z
 * report states its arithmetic and keeps it; counts follow state changes, not pushes; and a second
 * gateway fed the same pushes twice ends with exactly the same reports, stats, stock and sales.
 */

type Status = 'completed' | 'refunded' | 'cancelled';
type Step = { push: { device: 0 | 1; invoices: object[] } } | { close: string };

const REGISTERS = ['TAB-1', 'TAB-2'];
const AUTH = [deviceAuth, device2Auth];
const PRODUCTS = [
  { id: '101', price: '2.20' },
  { id: '201', price: '2.35' },
  { id: '301', price: '0.99' },
  { id: '302', price: '1.10' },
];
const CODE: Record<Status, string> = { completed: '10', refunded: '11', cancelled: '12' };
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
const STEPS = 28;

interface ModelSale {
  register: number;
  versions: object[];
  status: Status;
  total: Decimal;
  current: string;
  earlier: Set<string>;
}

/** A history and what it must add up to: per register, sales received, state changes into refunded / cancelled, and the gross of what stays sold. */
function history(seed: number) {
  const rnd = prng(seed);
  const sales: ModelSale[] = [];
  const steps: Step[] = [];
  const counts = REGISTERS.map(() => ({ sales: 0, refunds: 0, cancels: 0 }));
  let nextId = 1;

  const newInvoice = (status: Status) => {
    const lines = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => {
      const p = pick(rnd, PRODUCTS);
      const qty = 1 + Math.floor(rnd() * 3);
      const total = new Decimal(p.price).times(qty);
      return {
        productId: p.id,
        productName: p.id,
        posTitle: p.id,
        qty,
        subtotal: total.toNumber(),
        total: total.toNumber(),
        tax: total.dividedBy(11).toDecimalPlaces(2).toNumber(),
        discount: 0,
        costPrice: 0,
      };
    });
    const total = lines.reduce((s, l) => s.plus(l.total), new Decimal(0));
    return {
      id: 202611230000000 + nextId++,
      date: String(Date.parse('2026-11-23T08:00:00Z') + nextId * 60_000),
      checkoutType: pick(rnd, ['0', '0', '2']),
      checkoutStatus: CODE[status],
      total: total.toNumber(),
      tax: lines.reduce((s, l) => s.plus(l.tax), new Decimal(0)).toNumber(),
      discount: 0,
      costPrice: 0,
      givenCash: 0,
      returnedCash: 0,
      customer: { name: '', address: '', email: '' },
      positions: lines,
    };
  };

  /** What the gateway does with one pushed version (DESIGN §4.1), on the model. */
  const apply = (sale: ModelSale, inv: { checkoutStatus: string }) => {
    const status = (Object.keys(CODE) as Status[]).find((s) => CODE[s] === inv.checkoutStatus)!;
    const key = JSON.stringify(inv);
    if (key === sale.current) return; // unchanged
    if (sale.earlier.has(key)) return; // an older version again
    if (sale.status !== 'completed' && status === 'completed') return; // never reinstated by a push
    const c = counts[sale.register];
    if (sale.status === 'completed' && status === 'refunded') c.refunds++;
    if (sale.status === 'completed' && status === 'cancelled') c.cancels++;
    sale.earlier.add(sale.current);
    sale.current = key;
    sale.status = status;
  };

  for (let i = 0; i < STEPS; i++) {
    const r = rnd();
    const device = (rnd() < 0.6 ? 0 : 1) as 0 | 1;
    const mine = sales.filter((s) => s.register === device);
    const invoices: object[] = [];
    if (r < 0.35 || mine.length === 0) {
      for (let n = 1 + Math.floor(rnd() * 3); n > 0; n--) {
        const status: Status = rnd() < 0.85 ? 'completed' : pick(rnd, ['refunded', 'cancelled'] as const);
        const inv = newInvoice(status);
        const sale: ModelSale = { register: device, versions: [inv], status, total: new Decimal(inv.total), current: JSON.stringify(inv), earlier: new Set() };
        sales.push(sale);
        counts[device].sales++;
        if (status === 'refunded') counts[device].refunds++;
        if (status === 'cancelled') counts[device].cancels++;
        invoices.push(inv);
        if (rnd() < 0.1) invoices.push(inv); // the same invoice twice in one batch
      }
    } else if (r < 0.55) {
      const sale = pick(rnd, mine);
      const inv = { ...(sale.versions.at(-1) as object), checkoutStatus: CODE[pick(rnd, ['refunded', 'cancelled'] as const)] };
      sale.versions.push(inv);
      apply(sale, inv);
      invoices.push(inv);
    } else if (r < 0.62) {
      const sale = pick(rnd, mine);
      const inv = { ...(sale.versions.at(-1) as object), checkoutType: pick(rnd, ['0', '1', '2', '3']) };
      sale.versions.push(inv);
      apply(sale, inv as unknown as { checkoutStatus: string });
      invoices.push(inv);
    } else if (r < 0.88) {
      // Old versions again, in random order: a tablet re-sending, or a capture replayed.
      for (let n = 1 + Math.floor(rnd() * 4); n > 0; n--) {
        const sale = pick(rnd, mine);
        const inv = pick(rnd, sale.versions);
        apply(sale, inv as { checkoutStatus: string });
        invoices.push(inv);
      }
    } else {
      steps.push({ close: REGISTERS[device] });
      continue;
    }
    steps.push({ push: { device, invoices } });
  }
  const gross = REGISTERS.map((_, reg) =>
    sales
      .filter((s) => s.register === reg && s.status === 'completed')
      .reduce((t, s) => t.plus(s.total), new Decimal(0))
      .toNumber(),
  );
  const sold = (product: string) =>
    sales
      .filter((s) => s.status === 'completed')
      .reduce(
        (q, s) =>
          q
          + (s.versions[0] as { positions: { productId: string; qty: number }[] }).positions
            .filter((p) => p.productId === product)
            .reduce((a, p) => a + p.qty, 0),
        0,
      );
  return { steps, counts, gross, stock: Object.fromEntries(PRODUCTS.map((p) => [p.id, 100 - sold(p.id)])) };
}

async function startShop(): Promise<TestGateway> {
  const gw = await startTestGateway({ store: { dataDir: './data', seedDemo: true } });
  for (const p of PRODUCTS) expect((await gw.json(`/api/stock/${p.id}`, { method: 'PUT', body: { quantity: 100 }, auth: adminAuth })).status).toBe(200);
  return gw;
}

const pushTo = async (gw: TestGateway, device: 0 | 1, invoices: object[]) => {
  const res = await gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }), auth: AUTH[device], headers: { accept: 'application/json' } });
  expect(res.status).toBe(200);
  const summary = await res.json();
  expect(summary.quarantined).toBe(0);
  return summary;
};

async function reportOf(gw: TestGateway, dayId: string, where: string, printouts: boolean) {
  const path = `/api/days/${encodeURIComponent(dayId)}/report`;
  const r = (await gw.json(path, { auth: adminAuth })).body;
  expectReportAddsUp(r, where);
  if (printouts) {
    expectTextAddsUp(await (await gw.fetch(`${path}?format=text`, { auth: adminAuth })).text(), r, where);
    expectCsvAddsUp(await (await gw.fetch(`${path}?format=csv`, { auth: adminAuth })).text(), where);
  }
  return r;
}

describe('every report adds up; re-pushes change nothing (random histories)', { timeout: 120_000 }, () => {
  it.each(SEEDS)('seed %i', async (seed) => {
    const h = history(seed);
    const once = await startShop();
    const twice = await startShop();
    try {
      for (const [i, step] of h.steps.entries()) {
        const where = `seed ${seed} step ${i}`;
        if ('close' in step) {
          const z = await once.json(`/api/days/current?cashRegisterName=${step.close}`, { method: 'POST', auth: adminAuth });
          if (z.status === 422) continue; // no open day
          expect(z.status).toBe(201);
          expectReportAddsUp(z.body, where);
          await reportOf(once, z.body.dayId, where, true);
          expect((await twice.json(`/api/days/current?cashRegisterName=${step.close}`, { method: 'POST', auth: adminAuth })).status).toBe(201);
          continue;
        }
        await pushTo(once, step.push.device, step.push.invoices);
        await pushTo(twice, step.push.device, step.push.invoices);
        for (const register of REGISTERS) {
          const current = await once.json(`/api/days/current?cashRegisterName=${register}`, { auth: adminAuth });
          if (current.status === 200) await reportOf(once, current.body.dayId, `${where} ${register}`, i % 5 === 0);
        }
      }
      // Counts are state changes, not pushes; gross is what stays sold; stock follows.
      const days = (await once.json('/api/days', { auth: adminAuth })).body;
      const list: any[] = days.items ?? days;
      for (const [reg, register] of REGISTERS.entries()) {
        const reports = await Promise.all(
          list.filter((day) => day.cashRegisterName === register).map((day) => reportOf(once, day.dayId, `seed ${seed} end`, true)),
        );
        const total = (f: string) => reports.reduce((s, r) => s.plus(r[f]), new Decimal(0)).toNumber();
        expect({
          sales: total('saleCount'),
          refunds: total('refundCount'),
          cancels: total('cancelCount'),
          gross: total('gross'),
          reinstated: total('reinstatedCount'),
        }).toEqual({ ...h.counts[reg], gross: h.gross[reg], reinstated: 0 });
      }
      const stock = (await once.json('/api/stock?maxResults=100', { auth: adminAuth })).body;
      const levels = Object.fromEntries(
        (stock.items as { product: string; quantity: number }[]).filter((s) => s.product in h.stock).map((s) => [s.product, s.quantity]),
      );
      expect(levels).toEqual(h.stock);

      // The same pushes again into the second gateway: nothing changes.
      const before = await figuresOf(twice);
      expect(await figuresOf(once)).toEqual(before);
      for (const step of h.steps) {
        if ('push' in step) {
          const again = await pushTo(twice, step.push.device, step.push.invoices);
          expect(again.created + again.updated).toBe(0);
        }
      }
      expect(await figuresOf(twice)).toEqual(before);
    } finally {
      for (const gw of [once, twice]) {
        await gw.stop();
        await removeDir(gw.dir);
      }
    }
  });
});
