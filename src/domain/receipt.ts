import { Decimal, toDecimal } from '../translate/decimal.js';
import { compareRates, type FootprintLine, type LineFacts, type Money, type VatRateTotals } from './reports.js';
import type { Sale, SaleStatus } from './types.js';

export interface ReceiptLine {
  lineNo: number;
  name: string;
  quantity: number;
  unitPrice: number;
  subtotal: number;
  discount: number;
  total: number;
  vatRate: string;
}

/** What a printed receipt shows (srv4pos GET /sales/{id}/receipt). */
export interface Receipt {
  identifier: string;
  cashRegisterName: string;
  receiptNumber: string;
  dayId: string | null;
  createdAt: string;
  status: SaleStatus;
  printedAt: string | null;
  /** True when the receipt was printed before: this one is a copy. */
  copy: boolean;
  currency: string;
  lines: ReceiptLine[];
  discount: number;
  total: number;
  vatTotal: number;
  vat: VatRateTotals[];
  payments: { method: string; amount: number; given?: number; returned?: number }[];
  customer: Sale['customer'];
}

export function receiptOf(sale: Sale, factsOf: (line: FootprintLine) => LineFacts, money: Money, copy: boolean): Receipt {
  const byRate = new Map<string, { gross: Decimal; vat: Decimal }>();
  const lines = sale.lines.map((l) => {
    const vatRate = factsOf(l).vatRate;
    const r = byRate.get(vatRate) ?? { gross: new Decimal(0), vat: new Decimal(0) };
    byRate.set(vatRate, { gross: r.gross.plus(toDecimal(l.total)), vat: r.vat.plus(toDecimal(l.vat)) });
    const qty = toDecimal(l.quantity);
    return {
      lineNo: l.lineNo,
      name: l.title ?? l.name ?? l.product,
      quantity: l.quantity,
      unitPrice: money.num(qty.isZero() ? toDecimal(l.subtotal) : toDecimal(l.subtotal).dividedBy(qty)),
      subtotal: l.subtotal,
      discount: l.discount,
      total: l.total,
      vatRate,
    };
  });
  const vat = [...byRate.keys()].sort(compareRates).map((rate) => {
    const gross = money.round(byRate.get(rate)!.gross);
    const v = money.round(byRate.get(rate)!.vat);
    return { rate, gross: money.num(gross), net: money.num(gross.minus(v)), vat: money.num(v) };
  });
  return {
    identifier: sale.identifier,
    cashRegisterName: sale.cashRegisterName,
    receiptNumber: sale.source?.invoiceId ?? sale.identifier.slice(sale.cashRegisterName.length + 1),
    dayId: sale.dayId ?? null,
    createdAt: sale.createdAt,
    status: sale.status,
    printedAt: sale.receiptPrintedAt,
    copy,
    currency: money.currency,
    lines,
    discount: sale.discount,
    total: sale.total,
    vatTotal: money.num(vat.reduce((s, r) => s.plus(r.vat), new Decimal(0))),
    vat,
    payments: sale.payments.map((p) => ({
      method: p.method,
      amount: p.amount,
      ...(p.given !== undefined && { given: p.given }),
      ...(p.returned !== undefined && { returned: p.returned }),
    })),
    customer: sale.customer,
  };
}
