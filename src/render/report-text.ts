import type { DayReport, Money } from '../domain/reports.js';
import { ShopTimeZone } from '../domain/time-zone.js';
import { center, columns, lines, rule, wrap } from './text.js';

/** A 40-column printable X or Z report; its times in the shop's time zone, with the offset. */
export function reportText(r: DayReport, money: Money, zone = new ShopTimeZone()): string {
  const m = (x: number) => money.text(x);
  const out: string[] = [
    rule('='),
    center(`${r.type === 'Z' ? 'Z REPORT (day closed)' : 'X REPORT (day open)'}`),
    ...wrap(r.dayId).map((s) => center(s)),
    rule('='),
    columns('Register', r.cashRegisterName),
    columns('Day', String(r.dayNo)),
    columns('Opened', zone.short(r.openedAt)),
    columns('Closed', r.closedAt ? zone.short(r.closedAt) : 'open'),
    columns('Currency', r.currency),
    rule(),
    ...grossLines(r, m),
    rule(),
    columns('Gross', m(r.gross)),
  ];
  for (const v of r.vatRates) out.push(columns(`  VAT ${v.rate}% of ${m(v.net)}`, m(v.vat)));
  out.push(
    columns('VAT total', m(r.vatTotal)),
    columns('Net', m(r.net)),
    columns('Discounts', m(r.discounts)),
    columns('Cost', m(r.costPrice)),
    columns('Margin', m(r.margin)),
    rule(),
    'Payments',
  );
  const methods = Object.entries(r.payments);
  if (methods.length === 0) out.push(columns('  none', m(0)));
  for (const [method, amount] of methods) out.push(columns(`  ${method}`, m(amount)));
  if (r.paymentsTotal !== undefined) {
    out.push(columns('  Total', m(r.paymentsTotal)));
    if (r.unpaid !== 0) out.push(columns('  Unpaid (gross - payments)', m(r.unpaid)));
  }
  out.push(
    rule(),
    'Cash drawer',
    columns('  Opening', m(r.balance.opening)),
    columns('  Deposits', m(r.balance.deposits)),
    columns('  Withdrawals', r.balance.withdrawals ? `-${m(r.balance.withdrawals)}` : m(0)),
    columns('  Cash payments', m(r.balance.cashPayments)),
    columns('  Expected cash', m(r.balance.expectedCash)),
  );
  for (const mv of r.balance.movements) {
    out.push(columns(`  ${zone.short(mv.at).slice(11, 16)} ${mv.action} ${mv.note}`, `${mv.action === 'withdraw' ? '-' : ''}${m(mv.amount)}`));
  }
  out.push(rule(), columns('Grand total', m(r.grandTotal)), rule('='));
  return lines(out);
}

/**
 * Sales less refunds and cancels (plus reinstated sales and changed amounts when there are any):
 * the lines add up to Gross. Z reports closed before these figures existed show the counts only.
 */
function grossLines(r: DayReport, m: (x: number) => string): string[] {
  if (r.salesTotal === undefined) {
    return [
      columns('Sales', String(r.saleCount)),
      columns(`Refunds (${r.refundCount})`, m(r.refundTotal)),
      columns(`Cancels (${r.cancelCount})`, m(r.cancelTotal)),
    ];
  }
  const minus = (x: number) => (x === 0 ? m(0) : `-${m(x)}`);
  const out = [
    columns(`Sales (${r.saleCount})`, m(r.salesTotal)),
    columns(`Refunds (${r.refundCount})`, minus(r.refundTotal)),
    columns(`Cancels (${r.cancelCount})`, minus(r.cancelTotal)),
  ];
  if (r.reinstatedCount !== 0 || r.reinstatedTotal !== 0) out.push(columns(`Reinstated (${r.reinstatedCount})`, m(r.reinstatedTotal)));
  if (r.changedTotal !== 0) out.push(columns('Changed amounts', m(r.changedTotal)));
  if (r.grossRounding !== 0) out.push(columns('Rounding', m(r.grossRounding)));
  return out;
}
