import { AMOUNT_LIMIT_MESSAGE, isStoredAmount } from '../translate/amount-limit.js';
import type { Sale } from './types.js';

export interface AmountProblem { path: string; message: string }

const SALE_AMOUNTS = ['total', 'vat', 'discount', 'costPrice'] as const;
const LINE_AMOUNTS = ['quantity', 'subtotal', 'discount', 'vat', 'total', 'costPrice'] as const;
const PAYMENT_AMOUNTS = ['amount', 'given', 'returned'] as const;

/**
 * Every amount of a sale that is not a finite number within ±MAX_AMOUNT, by path. Covers what a
 * translation computed (an invoice total summed from its positions) as well as what was sent.
 */
export function saleAmountProblems(sale: Sale): AmountProblem[] {
  const problems: AmountProblem[] = [];
  const check = (path: string, x: unknown, optional = false) => {
    if (optional && x === undefined) return;
    if (!isStoredAmount(x)) problems.push({ path, message: `${AMOUNT_LIMIT_MESSAGE}, got ${String(x)}` });
  };
  for (const k of SALE_AMOUNTS) check(`/${k}`, sale[k]);
  (Array.isArray(sale.lines) ? sale.lines : []).forEach((line, i) => {
    for (const k of LINE_AMOUNTS) check(`/lines/${i}/${k}`, line?.[k]);
  });
  (Array.isArray(sale.payments) ? sale.payments : []).forEach((p, i) => {
    for (const k of PAYMENT_AMOUNTS) check(`/payments/${i}/${k}`, p?.[k], k !== 'amount');
  });
  return problems;
}

export const describeProblems = (problems: AmountProblem[]) => problems.map((p) => `${p.path} ${p.message}`).join('; ');
