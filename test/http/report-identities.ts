import { Decimal } from 'decimal.js';
import { expect } from 'vitest';
import { adminAuth, type TestGateway } from '../helpers.js';

/** Shared by the report property test and the double-replay test: what a report must state, and a gateway's figures as a whole. */

const d = (x: number) => new Decimal(x);
const sum = (xs: number[]) => xs.reduce((s, x) => s.plus(x), new Decimal(0));

/** The identities every X and Z report states and keeps, recomputed here from its own figures (JSON). */
export function expectReportAddsUp(r: any, where: string): void {
  const ctx = `${where} (${r.type} ${r.dayId})`;
  expect(
    r.arithmetic.filter((c: any) => !c.holds),
    ctx,
  ).toEqual([]);
  expect(d(r.salesTotal).minus(r.refundTotal).minus(r.cancelTotal).plus(r.reinstatedTotal).plus(r.changedTotal).plus(r.grossRounding).toNumber(), ctx).toBe(
    r.gross,
  );
  expect(
    sum(Object.values(r.payments) as number[])
      .plus(r.unpaid)
      .toNumber(),
    ctx,
  ).toBe(r.gross);
  expect(sum(Object.values(r.vat) as number[]).toNumber(), ctx).toBe(r.vatTotal);
  expect(sum(r.vatRates.map((v: any) => v.vat)).toNumber(), ctx).toBe(r.vatTotal);
  const b = r.balance;
  expect(d(b.opening).plus(b.deposits).minus(b.withdrawals).plus(b.cashPayments).toNumber(), ctx).toBe(b.expectedCash);
}

/** The same on the printout: the lines above "Gross" add up to it, the payments to their total. */
export function expectTextAddsUp(text: string, r: any, where: string): void {
  const amount = (line: string) => Number(line.trim().split(/\s+/).at(-1));
  const lines = text.split('\n');
  const grossAt = lines.findIndex((l) => l.startsWith('Gross '));
  const first = lines.findIndex((l) => l.startsWith('Sales ('));
  const parts = lines.slice(first, grossAt - 1).map(amount);
  expect(sum(parts).toNumber(), `${where}: ${lines.slice(first, grossAt + 1).join(' | ')}`).toBe(amount(lines[grossAt]));
  expect(amount(lines[grossAt]), where).toBe(r.gross);
  const paymentsAt = lines.indexOf('Payments');
  const totalAt = lines.findIndex((l, i) => i > paymentsAt && l.startsWith('  Total '));
  const methods = lines
    .slice(paymentsAt + 1, totalAt)
    .filter((l) => !l.startsWith('  none'))
    .map(amount);
  expect(sum(methods).toNumber(), where).toBe(amount(lines[totalAt]));
}

export function expectCsvAddsUp(csv: string, where: string): void {
  const rows = new Map(
    csv
      .trim()
      .split('\r\n')
      .slice(1)
      .map((l) => {
        const i = l.indexOf(',');
        return [l.slice(0, i), l.slice(i + 1)] as const;
      }),
  );
  const holds = [...rows].filter(([k]) => /^arithmetic\.\d+\.holds$/.test(k));
  expect(holds.length, where).toBeGreaterThan(0);
  expect(
    holds.filter(([, v]) => v !== 'true'),
    where,
  ).toEqual([]);
}

/** Time stamps of receipt differ between two gateways fed the same pushes; everything else must not. */
function withoutTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimes);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !/^(openedAt|closedAt|at|receivedAt|lastPushAt|lastSeenAt|changedAt|setAt)$/.test(k))
        .map(([k, v]) => [k, withoutTimes(v)]),
    );
  }
  return value;
}

/** Every report, stat, stock level and the sales list of a gateway, as JSON. */
export async function figuresOf(gw: TestGateway): Promise<Record<string, unknown>> {
  const get = async (path: string) => {
    const res = await gw.json(`/api${path}`, { auth: adminAuth });
    expect(res.status, path).toBe(200);
    return res.body;
  };
  const days = (await get('/days')).items ?? (await get('/days'));
  const reports: Record<string, unknown> = {};
  for (const day of days as { dayId: string }[]) reports[day.dayId] = await get(`/days/${encodeURIComponent(day.dayId)}/report`);
  return withoutTimes({
    days,
    reports,
    registrations: await get('/registrations/stats'),
    products: await get('/products/stats'),
    categories: await get('/categories/stats'),
    saleStats: await get('/sales/stats?maxResults=1000'),
    stock: await get('/stock?maxResults=1000'),
    sales: await get('/sales?maxResults=1000'),
  }) as Record<string, unknown>;
}
