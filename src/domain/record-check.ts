import type { ClosedDay } from './ports/back-office-store.js';
import type { StockLevel } from './ports/records.js';
import { AMOUNT_LIMIT_MESSAGE, isAmount, isStoredAmount, MAX_FIGURE } from '../translate/amount-limit.js';
import { isNumeric } from '../translate/decimal.js';
import type { SaleFootprint } from './reports.js';
import { describeProblems, saleAmountProblems, saleAmountsValid } from './sale-check.js';
import type { Sale } from './types.js';

/**
 * Start-up checks of stored records (issue 18: loading never fails on a record). Each returns why
 * a record cannot be loaded, or null. They check what loading and the figures built from it rely
 * on, so a record that passes loads without throwing and never puts null or Infinity into a report.
 */

/** A stored record that start-up could not load (what kind, its id if it has one, why): it goes to the quarantine. */
export interface UnloadableRecord {
  what: string;
  id?: string;
  cashRegisterName?: string;
  raw: unknown;
  reason: string;
}

const STATUSES: ReadonlySet<unknown> = new Set(['completed', 'refunded', 'cancelled']);

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isText = (x: unknown): x is string => typeof x === 'string';
const isNonEmptyText = (x: unknown): x is string => typeof x === 'string' && x.length > 0;
// What loading needs of a time: an ISO string (indexes compare them as text, stats cut the date off).
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
const isTime = (x: unknown) => isText(x) && ISO_TIME.test(x);

export function saleRecordProblem(record: unknown): string | null {
  if (!isObject(record) || !isObject(record.sale)) return 'not a sale record (no "sale" object)';
  const sale = record.sale;
  if (!isNonEmptyText(sale.identifier) || !isNonEmptyText(sale.cashRegisterName)) return 'the sale has no identifier or cash register';
  if (!isTime(sale.createdAt)) return `createdAt is not a time: ${String(sale.createdAt)}`;
  if (!STATUSES.has(sale.status)) return `unknown status ${String(sale.status)}`;
  if (!Array.isArray(sale.lines) || !Array.isArray(sale.payments)) return 'the lines or payments are not lists';
  for (const l of sale.lines) if (!isObject(l) || !isText(l.product)) return 'a line has no product';
  for (const p of sale.payments) if (!isObject(p) || !isText(p.method)) return 'a payment has no method';
  if (sale.source !== undefined && sale.source !== null && !isObject(sale.source)) return 'the source is not an object';
  if (sale.dayId !== undefined && sale.dayId !== null && !isText(sale.dayId)) return 'dayId is not a string';
  if (!saleAmountsValid(sale as unknown as Sale)) return describeProblems(saleAmountProblems(sale as unknown as Sale));
  if (!isText(record.identity) || !isText(record.content)) return 'the record has no identity or content key';
  if (record.lineFacts !== undefined) {
    if (!isObject(record.lineFacts)) return 'lineFacts is not an object';
    for (const key in record.lineFacts) {
      const f = record.lineFacts[key];
      if (!isObject(f) || !isText(f.vatRate) || !isNumeric(f.vatRate) || !isText(f.category)) return 'lineFacts are not {vatRate, category} entries';
    }
  }
  const history = record.history;
  if (!Array.isArray(history) || history.length === 0) return 'the record has no history';
  for (let i = 0; i < history.length; i++) {
    const change = history[i] as unknown;
    if (!isObject(change) || !Number.isSafeInteger(change.seq) || (change.seq as number) < 0) return `history/${i} has no sequence number`;
    if (!STATUSES.has(change.status) || !isTime(change.at)) return `history/${i} has no valid status or time`;
    if (change.dayId !== undefined && !isText(change.dayId)) return `history/${i}/dayId is not a string`;
    if (change.prior !== undefined) {
      const problem = footprintProblem(change.prior);
      if (problem) return `history/${i}/prior: ${problem}`;
    }
  }
  return null;
}

function footprintProblem(f: unknown): string | null {
  if (!isObject(f) || !Array.isArray(f.lines) || !Array.isArray(f.payments)) return 'not a sale footprint';
  const bad: string[] = [];
  const check = (path: string, x: unknown) => {
    if (!isStoredAmount(x)) bad.push(`${path} ${AMOUNT_LIMIT_MESSAGE}, got ${String(x)}`);
  };
  const footprint = f as unknown as SaleFootprint;
  for (const k of ['total', 'vat', 'discount', 'costPrice'] as const) check(`/${k}`, footprint[k]);
  footprint.lines.forEach((l, i) => {
    if (!isObject(l) || !isText(l.product)) {
      bad.push(`/lines/${i} has no product`);
      return;
    }
    for (const k of ['quantity', 'total', 'vat', 'discount', 'costPrice'] as const) check(`/lines/${i}/${k}`, l[k]);
  });
  footprint.payments.forEach((p, i) => {
    if (!isObject(p) || !isText(p.method)) {
      bad.push(`/payments/${i} has no method`);
      return;
    }
    check(`/payments/${i}/amount`, p.amount);
  });
  return bad.length > 0 ? bad.join('; ') : null;
}

export function movementProblem(m: unknown): string | null {
  if (!isObject(m) || !isNonEmptyText(m.cashRegisterName) || !isNonEmptyText(m.dayId) || !isNonEmptyText(m.id))
    return 'not a cash movement (no id, register or day)';
  if (m.action !== 'deposit' && m.action !== 'withdraw') return `unknown action ${String(m.action)}`;
  if (!isTime(m.at)) return `at is not a time: ${String(m.at)}`;
  if (!isStoredAmount(m.amount)) return `/amount ${AMOUNT_LIMIT_MESSAGE}, got ${String(m.amount)}`;
  return null;
}

/** A closed day's Z report is shown as stored: every figure in it must be a number a sum of valid amounts can reach. */
export function closedDayProblem(day: unknown): string | null {
  if (!isObject(day) || !isNonEmptyText(day.cashRegisterName) || !isNonEmptyText(day.dayId) || !Number.isSafeInteger(day.dayNo)) {
    return 'not a closed day (no register, day id or number)';
  }
  if (!isText(day.openedAt) || !isText(day.closedAt) || !isObject(day.report) || !isObject(day.report.balance))
    return 'the closed day has no times or Z report';
  const bad = badFigures(day.report as ClosedDay['report'] & Record<string, unknown>, '/report');
  return bad.length > 0 ? `figures that are not numbers: ${bad.slice(0, 5).join(', ')}` : null;
}

/** Paths of report values that should be numbers and are not (null is what JSON made of an overflow). */
function badFigures(value: Record<string, unknown>, path: string): string[] {
  const bad: string[] = [];
  const NOT_NUMBERS = new Set(['closedAt']);
  for (const [key, x] of Object.entries(value)) {
    const at = `${path}/${key}`;
    if (x === null && !NOT_NUMBERS.has(key)) bad.push(at);
    else if (typeof x === 'number' && !(Number.isFinite(x) && Math.abs(x) <= MAX_FIGURE)) bad.push(at);
    else if (isObject(x) || Array.isArray(x)) bad.push(...badFigures(x as Record<string, unknown>, at));
  }
  return bad;
}

export function stockLevelProblem(level: unknown): string | null {
  if (!isObject(level)) return 'not a stock level';
  const l = level as unknown as StockLevel;
  if (!isAmount(l.level)) return `/level ${AMOUNT_LIMIT_MESSAGE}, got ${String(l.level)}`;
  if (!isNumeric(l.adjustmentsTotal) || Math.abs(Number(l.adjustmentsTotal)) > MAX_FIGURE) {
    return `/adjustmentsTotal is not a number a sum of valid deltas can reach: ${String(l.adjustmentsTotal)}`;
  }
  if (!Array.isArray(l.adjustments) || !l.adjustments.every((a) => isObject(a) && isAmount(a.delta)))
    return `/adjustments hold a delta that ${AMOUNT_LIMIT_MESSAGE}`;
  return null;
}

/** A quarantine item or feed entry too damaged to index is skipped (it is on disk still; nothing else depends on it). */
export function quarantineItemProblem(item: unknown): string | null {
  return isObject(item) && isNonEmptyText(item.id) && isText(item.at) && isText(item.code) && isText(item.reason)
    ? null
    : 'not a quarantine item (no id, time, code or reason)';
}

export function modificationProblem(m: unknown): string | null {
  return isObject(m) && Number.isSafeInteger(m.version) && isText(m.entity) && isText(m.identifier)
    ? null
    : 'not an articles change (no version, entity or identifier)';
}
