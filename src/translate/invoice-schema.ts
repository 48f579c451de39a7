import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { AMOUNT_LIMIT_MESSAGE, isAmount } from './amount-limit.js';
import { decimalKey, isNumeric, toDecimal } from './decimal.js';
import type { TabShopInvoice } from './tabshop-types.js';

export interface SchemaProblem {
  path: string;
  message: string;
}

export type InvoiceCheck = { ok: true; invoice: TabShopInvoice } | { ok: false; reason: string; problems: SchemaProblem[] };

export type BatchCheck = { ok: true; invoices: unknown[] } | { ok: false; reason: string; problems: SchemaProblem[] };

export const CHECKOUT_STATUSES: readonly string[] = ['10', '11', '12'];

// A date outside these bounds is a tablet sending seconds, or garbage, rather than epoch ms.
const EARLIEST_DATE_MS = Date.UTC(2000, 0, 1);
const LATEST_DATE_MS = Date.UTC(2100, 0, 1);

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
ajv.addKeyword({
  keyword: 'x-numeric',
  schemaType: 'boolean',
  errors: false,
  error: { message: 'must be number or numeric string' },
  validate: (wanted: boolean, data: unknown) => !wanted || isNumeric(data),
});
// An amount or quantity (not a date or a code): also bounded, so that sums stay in a double's range.
ajv.addKeyword({
  keyword: 'x-amount',
  schemaType: 'boolean',
  errors: false,
  error: { message: AMOUNT_LIMIT_MESSAGE },
  validate: (wanted: boolean, data: unknown) => !wanted || !isNumeric(data) || isAmount(data),
});

const validateInvoiceSchema = compile('tabshop-invoice.schema.json');
const validateBatchSchema = compile('tabshop-batch.schema.json');

export function validateInvoice(item: unknown): InvoiceCheck {
  if (!isPlainObject(item)) return invalid('invoice', [{ path: '', message: 'not an object' }]);
  const problems = validateInvoiceSchema(item) ? [] : problemsOf(validateInvoiceSchema.errors);
  problems.push(...checkDate(item.date), ...checkStatus(item.checkoutStatus));
  if (problems.length > 0) return invalid('invoice', problems);
  return { ok: true, invoice: item as TabShopInvoice };
}

/** The push body: `{"invoices": [...]}`; its items are checked one by one with validateInvoice. */
export function validateBatch(body: unknown): BatchCheck {
  if (!isPlainObject(body)) return invalid('invoice batch', [{ path: '', message: 'not an object' }]);
  if (!validateBatchSchema(body)) return invalid('invoice batch', problemsOf(validateBatchSchema.errors));
  return { ok: true, invoices: body.invoices as unknown[] };
}

// Epoch ms as tablets send them: an integer (number or plain digits) that a double holds exactly.
const PLAIN_DIGITS = /^[1-9]\d{0,15}$/;

function checkDate(date: unknown): SchemaProblem[] {
  if (!isNumeric(date)) return []; // already reported by the schema
  const n = Number(date);
  const exact = Number.isSafeInteger(n) && (typeof date === 'number' || PLAIN_DIGITS.test(date));
  const ms = exact ? null : toDecimal(date);
  const plausible = exact ? n >= EARLIEST_DATE_MS && n < LATEST_DATE_MS : ms!.isInteger() && ms!.gte(EARLIEST_DATE_MS) && ms!.lt(LATEST_DATE_MS);
  return plausible ? [] : [{ path: '/date', message: `must be epoch milliseconds between 2000 and 2100, got ${String(date)}` }];
}

function checkStatus(status: unknown): SchemaProblem[] {
  if (!isNumeric(status) || CHECKOUT_STATUSES.includes(decimalKey(status))) return [];
  return [{ path: '/checkoutStatus', message: `must be 10, 11 or 12, got ${String(status)}` }];
}

function invalid(what: string, problems: SchemaProblem[]): { ok: false; reason: string; problems: SchemaProblem[] } {
  const summary = problems.map((p) => `${p.path} ${p.message}`.trim()).join('; ');
  return { ok: false, reason: `invalid ${what}: ${summary}`, problems };
}

function problemsOf(errors: ErrorObject[] | null | undefined): SchemaProblem[] {
  return (errors ?? []).map((e) => ({ path: e.instancePath, message: e.message ?? e.keyword }));
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function compile(file: string): ValidateFunction {
  const url = new URL(`../../schemas/${file}`, import.meta.url);
  return ajv.compile(JSON.parse(readFileSync(url, 'utf8')) as object);
}
