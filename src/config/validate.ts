import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { isPasswordHash } from './password.js';
import { allowListProblem } from '../kitchen/allow-list.js';
import { isTimeZone } from '../domain/time-zone.js';

const addFormats = addFormatsPlugin.default;

export const CONFIG_SCHEMA_URL = new URL('../../schemas/config.schema.json', import.meta.url);

const HASH_MESSAGE = 'must be a scrypt hash as printed by "tabshop-gateway hash-password"';

// Readable messages for the schema's patterns and formats, keyed by ajv's schemaPath.
const MESSAGES_BY_SCHEMA_PATH: Record<string, string> = {
  '#/definitions/passwordHash/pattern': HASH_MESSAGE,
  '#/definitions/username/pattern': 'must be non-empty, without ":" or whitespace',
  '#/definitions/httpUrl/pattern': 'must be an http:// or https:// URL',
  '#/definitions/httpUrl/format': 'must be an http:// or https:// URL',
  '#/properties/server/properties/bodyLimit/pattern': 'must be a size like "512kb" or "10mb"',
  '#/properties/tabshop/properties/basePath/pattern': 'must start with "/" and contain no whitespace, "?" or "#"',
  '#/properties/api/properties/basePath/pattern': 'must start with "/" and contain no whitespace, "?" or "#"',
  '#/properties/currency/pattern': 'must be an ISO 4217 code (three uppercase letters, e.g. "EUR")',
  '#/properties/devices/items/oneOf': 'give exactly one of password or passwordHash',
  '#/properties/admins/items/oneOf': 'give exactly one of password or passwordHash',
  '#/properties/kitchen/properties/accounts/items/oneOf': 'give exactly one of password or passwordHash',
  '#/definitions/shopId/pattern': 'must be 1 to 40 of a-z, 0-9 and "-"',
  '#/properties/shops/items/properties/currency/pattern': 'must be an ISO 4217 code (three uppercase letters, e.g. "EUR")',
  '#/properties/server/properties/trustProxy/anyOf': 'must be true, false, a number of proxy hops, or addresses/subnets such as "loopback"',
};

let compiled: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  if (!compiled) {
    // strictRequired stays off: it rejects `required` inside oneOf branches, which is exactly how
    // "password or passwordHash" is expressed.
    const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, useDefaults: true });
    addFormats(ajv);
    compiled = ajv.compile(JSON.parse(readFileSync(CONFIG_SCHEMA_URL, 'utf8')));
  }
  return compiled;
}

const pointerSegment = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

function describe(error: ErrorObject): string {
  const at = error.instancePath;
  const custom = MESSAGES_BY_SCHEMA_PATH[error.schemaPath];
  if (error.keyword === 'additionalProperties') {
    return `${at}/${pointerSegment(String(error.params.additionalProperty))}: unknown key`;
  }
  if (error.keyword === 'required') {
    return `${at}/${pointerSegment(String(error.params.missingProperty))}: is required`;
  }
  const message =
    custom
    ?? (error.keyword === 'enum'
      ? `must be one of: ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`
      : (error.message ?? 'is invalid'));
  return `${at || '(root)'}: ${message}`;
}

function schemaProblems(errors: ErrorObject[]): string[] {
  // A failed oneOf/anyOf also reports why each branch failed; its own message says it all.
  const oneOfPaths = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf').map((e) => `${e.schemaPath}/`);
  return errors.filter((e) => !oneOfPaths.some((p) => e.schemaPath.startsWith(p))).map(describe);
}

interface CredentialLike {
  username?: unknown;
  passwordHash?: unknown;
}

function credentialLists(data: unknown): Array<[string, CredentialLike[]]> {
  if (typeof data !== 'object' || data === null) return [];
  const record = data as Record<string, unknown>;
  const kitchen = record.kitchen as Record<string, unknown> | undefined;
  const lists: Array<[string, unknown]> = [
    ['devices', record.devices],
    ['admins', record.admins],
    ['kitchen/accounts', kitchen?.accounts],
    ['operators', record.operators],
  ];
  // Usernames are unique across the deployment: a device's username names its shop.
  if (Array.isArray(record.shops)) {
    record.shops.forEach((shop: unknown, i) => {
      const s = (typeof shop === 'object' && shop !== null ? shop : {}) as Record<string, unknown>;
      lists.push([`shops/${i}/devices`, s.devices], [`shops/${i}/admins`, s.admins]);
    });
  }
  return lists
    .filter((entry): entry is [string, unknown[]] => Array.isArray(entry[1]))
    .map(([key, list]) => [key, list.map((c) => (typeof c === 'object' && c !== null ? c : {}))]);
}

/** What JSON Schema cannot say: usernames unique across devices, admins and kitchen accounts, hash parameters in range, kitchen.allow entries. */
function crossFieldProblems(data: unknown): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [listName, credentials] of credentialLists(data)) {
    credentials.forEach((credential, index) => {
      const { username, passwordHash } = credential;
      if (typeof username === 'string') {
        if (seen.has(username)) problems.push(`/${listName}/${index}/username: duplicate username ${JSON.stringify(username)}`);
        seen.add(username);
      }
      if (typeof passwordHash === 'string' && !isPasswordHash(passwordHash)) {
        problems.push(`/${listName}/${index}/passwordHash: ${HASH_MESSAGE}`);
      }
    });
  }
  return [...problems, ...kitchenAllowProblems(data), ...shopProblems(data), ...timeZoneProblems(data)];
}

/** devices is required unless shops lists the shops; shop ids are unique, and "default" is the top-level keys' shop. */
function shopProblems(data: unknown): string[] {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return [];
  const record = data as { devices?: unknown; shops?: unknown };
  if (record.devices === undefined && record.shops === undefined) return ['/devices: is required'];
  if (!Array.isArray(record.shops)) return [];
  const problems: string[] = [];
  const ids = new Set<string>();
  record.shops.forEach((shop: unknown, i) => {
    const id = (shop as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return;
    if (id === 'default') problems.push(`/shops/${i}/id: "default" is the shop of the top-level keys (devices, admins, currency...); give this one another id`);
    else if (ids.has(id)) problems.push(`/shops/${i}/id: duplicate shop id ${JSON.stringify(id)}`);
    ids.add(id);
  });
  return problems;
}

/**
 * Validates parsed config JSON in place (ajv fills in the defaults) and returns one line per problem,
 * each naming the JSON path. An empty list means `data` is now a complete, valid file config.
 */
export function validateConfigData(data: unknown): string[] {
  const validate = schemaValidator();
  const schemaErrors = validate(data) ? [] : schemaProblems(validate.errors ?? []);
  return [...new Set([...schemaErrors, ...crossFieldProblems(data)])];
}

/** The top-level `timeZone` and each shop's must name a zone the runtime knows (the schema checks the type only). */
function timeZoneProblems(data: unknown): string[] {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return [];
  const record = data as { timeZone?: unknown; shops?: unknown };
  const shops: unknown[] = Array.isArray(record.shops) ? record.shops : [];
  const zones: [string, unknown][] = [
    ['/timeZone', record.timeZone],
    ...shops.map((shop, i): [string, unknown] => [`/shops/${i}/timeZone`, (shop as { timeZone?: unknown } | null)?.timeZone]),
  ];
  return zones
    .filter(([, zone]) => typeof zone === 'string' && zone.length > 0 && zone.length <= 64 && !isTimeZone(zone))
    .map(([path, zone]) => `${path}: must be an IANA time zone such as "Europe/Paris" or "UTC", got ${JSON.stringify(zone)}`);
}

function kitchenAllowProblems(data: unknown): string[] {
  const allow = (data as { kitchen?: { allow?: unknown } } | null)?.kitchen?.allow;
  if (!Array.isArray(allow)) return [];
  return allow.flatMap((entry, i) => {
    const problem = typeof entry === 'string' ? allowListProblem(entry) : null;
    return problem ? [`/kitchen/allow/${i}: ${problem}`] : [];
  });
}
