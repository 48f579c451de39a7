import { AMOUNT_LIMIT_MESSAGE, isStoredAmount } from '../translate/amount-limit.js';
import type { Sale } from './types.js';

export interface AmountProblem {
  path: string;
  message: string;
}

const SALE_AMOUNTS = ['total', 'vat', 'discount', 'costPrice'] as const;
const LINE_AMOUNTS = ['quantity', 'subtotal', 'discount', 'vat', 'total', 'costPrice'] as const;
const PAYMENT_AMOUNTS = ['amount', 'given', 'returned'] as const;

/** The same as saleAmountProblems(sale).length === 0, without building anything (start-up checks every stored sale). */
export function saleAmountsValid(sale: Sale): boolean {
  for (const k of SALE_AMOUNTS) if (!isStoredAmount(sale[k])) return false;
  if (!Array.isArray(sale.lines) || !Array.isArray(sale.payments)) return false;
  for (const line of sale.lines) {
    if (typeof line !== 'object' || line === null) return false;
    for (const k of LINE_AMOUNTS) if (!isStoredAmount(line[k])) return false;
  }
  for (const p of sale.payments) {
    if (typeof p !== 'object' || p === null || !isStoredAmount(p.amount)) return false;
    if ((p.given !== undefined && !isStoredAmount(p.given)) || (p.returned !== undefined && !isStoredAmount(p.returned))) return false;
  }
  return true;
}

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
