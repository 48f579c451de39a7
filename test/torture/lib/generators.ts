/**
 * Generators of malformed and hostile requests, shared by the fuzz test in `npm test`
 * (test/torture/fuzz.test.ts) and the full `npm run torture` (test/torture/run.ts).
 * Everything is derived from an index and a seeded generator, so a failing request can be
 * reproduced from its number.
 */
import { gzipSync } from 'node:zlib';
import { head, type RawRequest } from './raw-http.js';

/** A small deterministic generator (LCG), so a failing body can be reproduced from its index. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

export const pick = <T>(rnd: () => number, items: readonly T[]): T => items[Math.floor(rnd() * items.length)];

/** A valid one-invoice push (same shape as test/helpers.ts `invoice`). */
export const VALID_PUSH = JSON.stringify({
  invoices: [
    {
      id: 202611230100001,
      date: '1763900000000',
      checkoutType: '0',
      checkoutStatus: '10',
      total: 2.2,
      tax: 0,
      discount: 0,
      costPrice: 0,
      givenCash: 0,
      returnedCash: 0,
      customer: { name: '', address: '', email: '' },
      positions: [{ productName: '101', posTitle: '101', subtotal: 2.2, tax: 0, discount: 0, costPrice: 0, productId: '101', qty: 1, total: 2.2 }],
    },
  ],
});

/** Eight kinds of broken invoice bodies: none of them holds a storable invoice. */
export function malformedBody(i: number, rnd: () => number): string | Uint8Array {
  switch (i % 8) {
    case 0:
      return VALID_PUSH.slice(0, Math.floor(rnd() * (VALID_PUSH.length - 1))); // truncated JSON
    case 1:
      return `{"invoices":[{"id":1,"date":"1763900000000","positions":[{"productId":"1","qty":1e${400 + i},"total":${'9'.repeat(400)}}]}]}`; // huge numbers
    case 2:
      return `${'['.repeat(2000 + i)}${']'.repeat(2000 + i)}`; // deep nesting
    case 3:
      return JSON.stringify({ invoices: [[], null, 7, 'x', true, { id: {}, positions: 'no' }] }); // wrong types (quarantined, 200)
    case 4:
      return Buffer.from(Array.from({ length: 64 + (i % 200) }, () => Math.floor(rnd() * 256))); // binary garbage
    case 5:
      return JSON.stringify({ invoices: { 0: 'not an array' } });
    case 6:
      return Buffer.concat([Buffer.from('{"invoices":["'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"]}')]); // invalid UTF-8: read as Windows-1252, a batch of one invalid invoice (quarantined, 200)
    default:
      return `{"invoices":[${'{"id":'.repeat(50)}`;
  }
}

/** Cases 1, 3 and 6 of malformedBody are valid batches of invalid invoices (200, everything quarantined); the rest are refused whole. */
const refusedWhole = (i: number) => ![1, 3, 6].includes(i % 8);

/** Bodies that parse as JSON but are hostile further in: deep values inside invoices, odd keys, odd numbers. */
export function hostileJsonBody(i: number, rnd: () => number): string {
  const depth = 500 + Math.floor(rnd() * 4500);
  const id = 990000000000000 + i;
  switch (i % 10) {
    case 0:
      return `{"invoices":[{"id":${id},"date":"1763900000000","customer":${'['.repeat(depth)}${']'.repeat(depth)},"positions":[]}]}`;
    case 1:
      return `{"invoices":[{"id":${id},"x":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}]}`;
    case 2:
      return `{"invoices":[${'['.repeat(depth)}${']'.repeat(depth)}]}`;
    case 3:
      return `{"invoices":[{"__proto__":{"id":${id},"checkoutStatus":"11"},"constructor":{"prototype":{"polluted":true}}}]}`;
    case 4:
      return `{"__proto__":{"invoices":[]},"invoices":[{"id":"${id}","date":"1e400","positions":[{"productId":"P1","qty":"NaN","total":"Infinity"}]}]}`;
    case 5:
      return `{"invoices":[{"id":${'9'.repeat(30 + (i % 300))},"date":-1,"positions":[{"productId":"P1","qty":-1e308,"total":1e-400}]}]}`;
    case 6:
      return pick(rnd, [
        '[]',
        '"invoices"',
        'null',
        '123',
        'true',
        '{"INVOICES":[]}',
        '{"invoices":null}',
        '{"invoices":"x"}',
        '{"invoices":{}}',
        '{"invoices":[],"invoices":5}',
        '{}',
      ]);
    case 7:
      return `{"invoices":[{"id":${id},"date":"1763900000000","positions":[{"productId":"${'\\u0000'.repeat(50)}","qty":1,"total":1}],"checkoutStatus":"${'\\ud800'}"}]}`;
    case 8:
      return `{"invoices":[${Array.from({ length: 200 }, (_, k) => `{"id":${k % 3 ? '{}' : 'null'}}`).join(',')}]}`;
    default:
      return `{"invoices":[{"id":${id},"date":"1763900000000","positions":[{"productId":"P1","qty":"1","total":"x${'1'.repeat(1000)}"}]}]}`;
  }
}

/** Broken bodies for the srv4pos-style API's write routes: none of them may change anything. */
export function malformedApiBody(i: number, rnd: () => number): string {
  const depth = 200 + Math.floor(rnd() * 3000);
  return pick(rnd, [
    '{"quantity":',
    '{"quantity":"abc"}',
    '{"quantity":[]}',
    '{"quantity":null}',
    '{"quantity":1e400}',
    '{"quantity":-1e400}',
    '{"name":5,"price":"x"}',
    '{"name":"","price":"0"}',
    `{"name":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    '{"delta":{}}',
    '[]',
    'null',
    `{"identifier":"${'x'.repeat(5000)}","name":"a"}`,
    '{"__proto__":{"name":"x","vat":10}}',
    '\u0000\u0001\u0002',
    `{"a":${'{"a":'.repeat(depth)}0${'}'.repeat(depth)}}`,
    '{"cashRegisterName":"TAB-1","lines":"no"}',
    '{"action":"deposit","amount":"1e999"}',
    `${i}`,
  ]);
}

/** What the fuzz run may accept as an answer to a generated request. */
export type Expectation =
  /** Express must answer (a JSON error if 4xx), never Node's own parser. */
  | 'app'
  /** Node's HTTP parser may answer (400/431/505 without a body) or close the connection. */
  | 'any'
  /** The client gives up half way: no answer is expected. */
  | 'aborted';

export interface FuzzCase {
  kind: string;
  req: RawRequest;
  expect: Expectation;
  /** Must be refused (4xx); a 2xx would mean garbage was accepted. */
  refuse: boolean;
  /** A push on the invoice route with a device's valid credentials (may quarantine; answers a summary). */
  authedPush: boolean;
}

export interface FuzzEnv {
  /** Host header value. */
  host: string;
  /** Basic credentials of a device and of an admin. */
  deviceAuth: string;
  adminAuth: string;
  /** Source addresses for requests with bad credentials (failed logins are throttled per address). */
  badAuthAddresses: string[];
  /** A product id that exists in the catalogue. */
  product: string;
  /**
   * The gateway runs with `tabshop.legacy: true`: half the bad-credential family then carries
   * credentials the pre-146 way (query string, form fields) and form-encoded pushes.
   */
  legacy?: { username: string; password: string };
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  'multipart/form-data; boundary=x',
  '',
];
const READ_PATHS = ['/home', '/stock', '/tax', '/discount'];
const ODD_PATHS = [
  '/../../etc/passwd',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/invoice%00',
  '/%ff%fe',
  '/%',
  '/home%',
  '/api/sales/%E0%A4%A',
  '/api/sales/TAB-1%3A%zz',
  '/api/quarantine/..%2f..%2fconfig.json',
  '/api/products/%00',
  '/api/stock/%C0%AE%C0%AE',
  '///home///',
  '/home/',
  '/HOME',
  '/Invoice',
  '/invoice/extra',
  '/api',
  '/api/',
  '/api/sales?maxResults=-1',
  '/api/sales?maxResults=1e3',
  '/api/sales?firstResult=abc',
  '/api/sales?firstResult=99999999999999999999',
  '/api/sales?from=notadate&to=%ff',
  '/api/sales?status=weird',
  '/api/sales?cashRegisterName=a&cashRegisterName=b',
  '/api/sales?maxResults[]=1',
  '/api/sales?__proto__[x]=1',
  '/api/modifications?from=-5',
  '/api/days?from=2026-13-45',
  '/api/products/stats?from=x&to=y',
  '/api/sales-diff/9/1',
  '/api/sales-diff/x/latest',
  '/api/days/%2e%2e/report',
  '/stock?' + 'a=1&'.repeat(2000),
  '/' + 'x'.repeat(8000),
  '/api/' + 'a/'.repeat(2000),
  '/status/../api/sales',
  '/metrics/../../',
  '/healthz?%',
  '/readyz#frag',
  '/api/registrations/%F0%9F%98%80/version',
  '/*',
  '/~',
  '/.git/config',
];
const METHODS = ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'PURGE', 'SEARCH', 'LOCK', 'MKCOL', 'HEAD', 'FOO', 'get', 'CONNECT', 'GETT'];

/**
 * The i-th hostile request. Twenty families: broken invoice bodies (the `malformedBody` kinds),
 * hostile JSON, content types and encodings, bad credentials, wrong methods, odd paths, huge and
 * broken headers, slow bodies, bodies that lie about their length, protocol oddities, and
 * broken bodies for the API's write routes.
 */
export function fuzzCase(i: number, rnd: () => number, env: FuzzEnv): FuzzCase {
  const base: [string, string][] = [
    ['Host', env.host],
    ['Connection', 'close'],
  ];
  const push = (body: string | Uint8Array, extra: [string, string][] = [], opts: Partial<FuzzCase> & { gapMs?: number; parts?: number } = {}): FuzzCase => {
    const buf = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
    const ct = pick(rnd, CONTENT_TYPES);
    const headers: [string, string][] = [
      ...base,
      ['Authorization', env.deviceAuth],
      ['Accept', 'application/json'],
      ['Content-Length', String(buf.length)],
      ...extra,
    ];
    if (ct) headers.push(['Content-Type', ct]);
    const parts = opts.parts ?? 1;
    const size = Math.ceil(buf.length / parts);
    return {
      kind: opts.kind ?? 'push',
      expect: opts.expect ?? 'app',
      refuse: opts.refuse ?? false,
      authedPush: true,
      req: {
        head: head('POST', pick(rnd, ['/invoice', '/invoice/', '//invoice']), headers),
        body: Array.from({ length: parts }, (_, k) => buf.subarray(k * size, (k + 1) * size)),
        gapMs: opts.gapMs,
      },
    };
  };
  const get = (
    kind: string,
    method: string,
    path: string,
    extra: [string, string][],
    expect: Expectation = 'app',
    refuse = true,
    localAddress?: string,
  ): FuzzCase => ({
    kind,
    expect,
    refuse,
    authedPush: false,
    req: { head: head(method, path, [...base, ...extra]), localAddress },
  });

  // Variants within a family go by k, the family's own counter, so every variant comes up.
  const k = Math.floor(i / 20);
  switch (i % 20) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 7: {
      const body = malformedBody(i, rnd);
      return push(body, [], { kind: `malformed-${i % 8}`, refuse: refusedWhole(i) });
    }
    case 8:
    case 9:
      return push(hostileJsonBody(2 * k + (i % 2), rnd), [], { kind: `hostile-json-${(2 * k + (i % 2)) % 10}` });
    case 10: {
      // Content encodings: gzip of garbage, a gzip bomb above the body limit, unknown encodings.
      const v = k % 4;
      if (v === 0) return push(Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7]), [['Content-Encoding', 'gzip']], { kind: 'gzip-garbage', refuse: true });
      if (v === 1) return push(GZIP_BOMB, [['Content-Encoding', 'gzip']], { kind: 'gzip-bomb', refuse: true });
      if (v === 2) return push(gzipSync(malformedBody(k, rnd) as Buffer), [['Content-Encoding', 'gzip']], { kind: 'gzip-malformed', refuse: refusedWhole(k) });
      return push(VALID_PUSH, [['Content-Encoding', pick(rnd, ['br', 'x-unknown', 'compress', 'gzip, gzip', 'identity, x'])]], {
        kind: 'bad-encoding',
        refuse: true,
      });
    }
    case 11: {
      if (env.legacy && k % 2 === 1) return legacyCase(k, rnd, env, base);
      // Bad credentials, from addresses other than the tablets' (each failed login counts there).
      const addr = pick(rnd, env.badAuthAddresses);
      const auth = pick(rnd, [
        'Basic',
        'Basic ',
        'Basic !!!',
        'Basic ====',
        `Basic ${Buffer.from('tablet-1').toString('base64')}`,
        `Basic ${Buffer.from('tablet-1:wrong').toString('base64')}`,
        `Basic ${Buffer.from(':').toString('base64')}`,
        'Bearer abc.def.ghi',
        'Digest username="tablet-1"',
        `basic ${env.deviceAuth.slice(6)}x`,
        `Basic ${'A'.repeat(8000)}`,
        `Basic ${Buffer.from('tablet-1:\u00e9\u00e8').toString('base64')}`,
        'Basic \u00ff\u00fe',
        env.adminAuth,
        `${env.deviceAuth}, ${env.adminAuth}`,
      ]);
      const path = pick(rnd, [...READ_PATHS, '/invoice', '/api/sales', '/api/stock', '/status']);
      const adminRoute = path.startsWith('/api') || path === '/status';
      return get(
        'bad-auth',
        path === '/invoice' ? 'POST' : 'GET',
        path,
        [
          ['Authorization', auth],
          ['Content-Length', '0'],
        ],
        'app',
        !(adminRoute && auth === env.adminAuth),
        addr,
      );
    }
    case 12: {
      const method = pick(rnd, METHODS);
      const path = pick(rnd, [...READ_PATHS, '/invoice', '/api/sales', '/api/products', '/api/stock/' + env.product, '/healthz']);
      const known = !['FOO', 'get', 'GETT', 'CONNECT'].includes(method);
      // Devices are read-only on the API: no method here may write anything.
      return get(
        `method-${method}`,
        method,
        path,
        [
          ['Authorization', env.deviceAuth],
          ['Content-Length', '0'],
        ],
        known ? 'app' : 'any',
        !['OPTIONS', 'HEAD'].includes(method),
      );
    }
    case 13:
    case 14: {
      const path = pick(rnd, ODD_PATHS);
      return get(
        'odd-path',
        pick(rnd, ['GET', 'POST']),
        path,
        [
          ['Authorization', pick(rnd, [env.deviceAuth, env.adminAuth])],
          ['Content-Length', '0'],
        ],
        'app',
        false,
      );
    }
    case 15: {
      const v = k % 4;
      if (v === 0)
        return get(
          'huge-header',
          'GET',
          '/home',
          [
            ['Authorization', env.deviceAuth],
            ['X-Pad', 'x'.repeat(17_000 + Math.floor(rnd() * 50_000))],
          ],
          'any',
        );
      if (v === 1)
        return get(
          'many-headers',
          'GET',
          '/stock',
          [['Authorization', env.deviceAuth], ...Array.from({ length: 3000 }, (_, k): [string, string] => [`X-H${k}`, 'v'])],
          'any',
        );
      if (v === 2)
        return get(
          'big-header-under-limit',
          'GET',
          '/tax',
          [
            ['Authorization', env.deviceAuth],
            ['X-Pad', 'y'.repeat(12_000)],
          ],
          'app',
          false,
        );
      return get(
        'long-cookie',
        'GET',
        '/discount',
        [
          ['Authorization', env.deviceAuth],
          ['Cookie', 'a=b; '.repeat(2500)],
        ],
        'app',
        false,
      );
    }
    case 16:
      // A slow body: the push arrives in a few pieces with pauses between them.
      return push(k % 3 ? malformedBody(k, rnd) : hostileJsonBody(k, rnd), [], {
        kind: 'slow-body',
        refuse: false,
        gapMs: 20 + Math.floor(rnd() * 150),
        parts: 2 + Math.floor(rnd() * 4),
      });
    case 17: {
      const v = k % 4;
      const body = Buffer.from(malformedBody(k, rnd));
      if (v === 0) {
        // Promises more than it sends, then hangs up.
        const c = push(body.subarray(0, Math.floor(body.length / 2)), [], { kind: 'short-body-abort', expect: 'aborted' });
        c.req.head = String(c.req.head).replace(/Content-Length: \d+/, `Content-Length: ${body.length + 1000}`);
        c.req.abortAfterSend = true;
        return c;
      }
      if (v === 1) {
        // Sends more than it promised: the rest is read as a (broken) next request.
        const c = push(body, [], { kind: 'long-body', expect: 'any' });
        c.req.head = String(c.req.head).replace(/Content-Length: \d+/, `Content-Length: ${Math.max(1, Math.floor(body.length / 3))}`);
        return c;
      }
      if (v === 2) return { ...push(body, [['Transfer-Encoding', 'chunked']], { kind: 'cl-and-te', expect: 'any', refuse: true }) };
      // Broken chunked encoding.
      return {
        kind: 'bad-chunked',
        expect: 'any',
        refuse: true,
        authedPush: true,
        req: {
          head: head('POST', '/invoice', [...base, ['Authorization', env.deviceAuth], ['Accept', 'application/json'], ['Transfer-Encoding', 'chunked']]),
          body: [Buffer.from(`5\r\n{"inv\r\nZZ\r\noices\r\n0\r\n\r\n`)],
        },
      };
    }
    case 18: {
      const v = k % 6;
      if (v === 0)
        return {
          kind: 'no-host',
          expect: 'any',
          refuse: true,
          authedPush: false,
          req: { head: `GET /home HTTP/1.1\r\nAuthorization: ${env.deviceAuth}\r\nConnection: close\r\n\r\n` },
        };
      if (v === 1)
        return {
          kind: 'bad-version',
          expect: 'any',
          refuse: true,
          authedPush: false,
          req: { head: `GET /home HTTP/${pick(rnd, ['9.9', '2.0', '0.9', '1.x'])}\r\nHost: ${env.host}\r\n\r\n` },
        };
      if (v === 2)
        return {
          kind: 'garbage-line',
          expect: 'any',
          refuse: true,
          authedPush: false,
          req: { head: Buffer.from(Array.from({ length: 40 + (k % 500) }, () => Math.floor(rnd() * 256))) },
        };
      if (v === 3)
        return get(
          'ctl-in-header',
          'GET',
          '/home',
          [
            ['Authorization', env.deviceAuth],
            ['X-Bad', 'a\u0000b\u0007c'],
          ],
          'any',
        );
      if (v === 4)
        return get(
          'negative-length',
          'POST',
          '/invoice',
          [
            ['Authorization', env.deviceAuth],
            ['Content-Length', pick(rnd, ['-1', '1e3', 'abc', '99999999999999999999'])],
          ],
          'any',
        );
      return get(
        'http10',
        'GET',
        pick(rnd, READ_PATHS),
        [
          ['Authorization', env.deviceAuth],
          ['Accept-Encoding', 'gzip;q=1000, *;q=-1'],
          ['If-None-Match', pick(rnd, ['*', '"x", W/"y"', ',,,,'])],
        ],
        'app',
        false,
      );
    }
    default: {
      // Broken bodies for the API's write routes, with admin credentials: every one must be refused.
      const path = pick(rnd, [
        `/api/stock/${env.product}`,
        `/api/stock/${env.product}/adjustments`,
        '/api/products',
        '/api/products/P-fuzz',
        '/api/taxes/77',
        '/api/sales',
        '/api/sales/TAB-1:1',
        '/api/registrations/TAB-1/balance',
        '/api/categories/c1',
        `/api/commodities/${env.product}.c`,
      ]);
      const method = path.endsWith('/adjustments') || path === '/api/products' || path === '/api/sales' || path.endsWith('/balance') ? 'POST' : 'PUT';
      const body = Buffer.from(malformedApiBody(k, rnd));
      return {
        kind: 'api-write',
        expect: 'app',
        refuse: true,
        authedPush: false,
        req: {
          head: head(method, path, [
            ...base,
            ['Authorization', env.adminAuth],
            ['Content-Type', pick(rnd, ['application/json', 'application/json; charset=utf-8'])],
            ['Content-Length', String(body.length)],
          ]),
          body: [body],
        },
      };
    }
  }
}

/** Pre-146 clients (legacy mode): credentials in the query or the form, form-encoded pushes, all of it broken somehow. */
function legacyCase(k: number, rnd: () => number, env: FuzzEnv, base: [string, string][]): FuzzCase {
  const { username, password } = env.legacy!;
  const enc = encodeURIComponent;
  const garbage = String(malformedBody(k >> 1, rnd));
  const form = 'application/x-www-form-urlencoded';
  const post = (path: string, body: string, authedPush: boolean, refuse: boolean, localAddress?: string, extra: [string, string][] = []): FuzzCase => {
    const buf = Buffer.from(body);
    return {
      kind: `legacy-${(k >> 1) % 6}`,
      expect: 'app',
      refuse,
      authedPush,
      req: {
        head: head('POST', path, [...base, ...extra, ['Accept', 'application/json'], ['Content-Type', form], ['Content-Length', String(buf.length)]]),
        body: [buf],
        localAddress,
      },
    };
  };
  switch ((k >> 1) % 6) {
    // Good credentials in the query, a broken form push.
    case 0:
      return post(`/invoice?user=${enc(username)}&password=${enc(password)}`, `invoice=${enc(garbage)}`, true, false);
    // Good credentials in the form, the invoice field truncated or missing.
    case 1:
      return post(
        '/invoice',
        `username=${enc(username)}&pwd=${enc(password)}&${pick(rnd, ['invoice=%7B%22invoices%22%3A%5B', 'invoices=', 'data=%FF%FE', 'invoice', '&&&=&='])}`,
        true,
        false,
      );
    // Wrong credentials the legacy way (throttled: from the bad-credential addresses).
    case 2:
      return post(`/invoice?login=${enc(username)}&pass=wrong${k}`, `invoice=${enc(VALID_PUSH)}`, false, true, pick(rnd, env.badAuthAddresses));
    case 3:
      return {
        kind: 'legacy-3',
        expect: 'app',
        refuse: true,
        authedPush: false,
        req: {
          head: head(
            'GET',
            pick(rnd, [
              '/stock?user=%ff&password=%00',
              `/tax?user=x&user=${enc(username)}&password=${enc(password)}`,
              '/home?user[]=a&password[x]=b',
              `/discount?user=${'a'.repeat(3000)}&password=`,
              '/stock?%=%&user',
            ]),
            base,
          ),
          localAddress: pick(rnd, env.badAuthAddresses),
        },
      };
    // Good credentials in the query of a read (the user given twice, the good one first: served as that user).
    case 4:
      return {
        kind: 'legacy-4',
        expect: 'app',
        refuse: false,
        authedPush: false,
        req: {
          head: head(pick(rnd, ['GET', 'POST']), `${pick(rnd, READ_PATHS)}?user=${enc(username)}${pick(rnd, ['', '&user=x'])}&password=${enc(password)}`, [
            ...base,
            ['Content-Length', '0'],
          ]),
        },
      };
    // A Basic header and legacy fields at once (Basic wins), with a form body that is not JSON.
    default:
      return post(`/invoice?user=nobody&password=x`, `user=nobody&password=x&invoice=${enc(garbage.slice(0, 40))}%ZZ`, true, false, undefined, [
        ['Authorization', env.deviceAuth],
      ]);
  }
}

/** 40 MB of zeros, gzipped (~40 KB): inflates far past the 10 MB body limit. */
const GZIP_BOMB = gzipSync(Buffer.alloc(40 * 2 ** 20));
