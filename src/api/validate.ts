import { readdirSync, readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { AppError } from '../errors.js';
import { AMOUNT_LIMIT_MESSAGE, isAmount } from '../translate/amount-limit.js';

const addFormats = addFormatsPlugin.default;
const SCHEMA_DIR = new URL('../../schemas/srv4pos/', import.meta.url);

const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv);
// RFC 3339 allows a leap second (23:59:60), which no JS Date holds: such a time is refused here
// (400) rather than failing later as "Invalid time value" (a 500).
const rfc3339 = ajv.formats['date-time'] as { validate: (s: string) => boolean } | ((s: string) => boolean);
const isRfc3339 = typeof rfc3339 === 'function' ? rfc3339 : rfc3339.validate;
ajv.addFormat('date-time', { type: 'string', validate: (s: string) => isRfc3339(s) && !Number.isNaN(Date.parse(s)) });
ajv.addKeyword({
  keyword: 'x-amount',
  schemaType: 'boolean',
  errors: false,
  error: { message: AMOUNT_LIMIT_MESSAGE },
  validate: (wanted: boolean, data: unknown) => !wanted || typeof data !== 'number' || isAmount(data),
});

const validators = new Map<string, ValidateFunction>();
for (const file of readdirSync(SCHEMA_DIR)) {
  if (!file.endsWith('.schema.json')) continue;
  validators.set(file.replace('.schema.json', ''), ajv.compile(JSON.parse(readFileSync(new URL(file, SCHEMA_DIR), 'utf8'))));
}

export interface Problem {
  field: string;
  message: string;
}

/** Validates a srv4pos-style request body against schemas/srv4pos/<name>.schema.json; 400 validation_failed listing every problem. */
export function validateBody<T>(name: string, body: unknown): T {
  if (body === undefined) throw new AppError('invalid_body', 'a JSON request body is required');
  const details = problemsOf(name, body);
  if (details.length === 0) return body as T;
  if (details.some((d) => d.message === AMOUNT_LIMIT_MESSAGE)) {
    throw new AppError('invalid_value', `request body has values out of range: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}`, details);
  }
  throw new AppError('validation_failed', `request body is invalid: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}`, details);
}

/** Every way `value` breaks schemas/srv4pos/<name>.schema.json (none: it is valid). */
export function problemsOf(name: string, value: unknown): Problem[] {
  const validate = validators.get(name);
  if (!validate) throw new Error(`no schema ${name}`);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => ({
    field:
      e.keyword === 'additionalProperties'
        ? `${e.instancePath}/${(e.params as { additionalProperty: string }).additionalProperty}`
        : e.keyword === 'required'
          ? `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}`
          : e.instancePath || '/',
    message: e.keyword === 'additionalProperties' ? 'unknown key' : (e.message ?? 'invalid'),
  }));
}
