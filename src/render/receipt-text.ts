import type { Money } from '../domain/reports.js';
import type { Receipt } from '../domain/receipt.js';
import { ShopTimeZone } from '../domain/time-zone.js';
import { center, columns, lines, rule, wrap } from './text.js';

const STATUS_BANNER: Record<string, string> = { refunded: '*** REFUNDED ***', cancelled: '*** CANCELLED ***' };

/** A 40-column printable receipt; its time in the shop's time zone, with the offset. */
export function receiptText(r: Receipt, money: Money, zone = new ShopTimeZone()): string {
  const m = (x: number) => money.text(x);
  const out: string[] = [center(r.cashRegisterName), center(`Receipt ${r.receiptNumber}`), center(r.createdAt ? zone.short(r.createdAt) : '-')];
  if (r.copy) out.push(center('*** COPY ***'));
  if (STATUS_BANNER[r.status]) out.push(center(STATUS_BANNER[r.status]));
  out.push(rule());
  for (const l of r.lines) {
    out.push(columns(l.name, m(l.total)));
    const detail = `${l.quantity} x ${m(l.unitPrice)}${l.discount ? `, discount -${m(l.discount)}` : ''}, VAT ${l.vatRate}%`;
    out.push(...wrap(detail, 38).map((s) => `  ${s}`));
  }
  out.push(rule());
  if (r.discount) out.push(columns('Discounts', `-${m(r.discount)}`));
  out.push(columns('TOTAL', `${r.currency} ${m(r.total)}`));
  for (const v of r.vat) out.push(columns(`  VAT ${v.rate}% of ${m(v.net)}`, m(v.vat)));
  out.push(rule());
  for (const p of r.payments) {
    out.push(columns(p.method, m(p.amount)));
    if (p.given !== undefined) out.push(columns('  Given', m(p.given)));
    if (p.returned !== undefined) out.push(columns('  Change', m(p.returned)));
  }
  if (r.customer.name) out.push(rule(), ...wrap(r.customer.name));
  out.push(rule());
  out.push(...wrap(`Sale ${r.identifier}`));
  if (r.dayId) out.push(`Day ${r.dayId}`);
  return lines(out);
}
