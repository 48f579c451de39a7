import { createServer } from 'node:net';
import nock from 'nock';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { authorizationHeader, classifyStatus, errorCodeOf, HttpClient, normaliseBaseUrl, UpstreamError } from '../../src/forward/upstream-client.js';

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterEach(() => {
  nock.cleanAll();
  nock.abortPendingRequests();
});
afterAll(() => nock.enableNetConnect());

const clients: HttpClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
function client(opts: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}): HttpClient {
  const c = new HttpClient({ baseUrl: 'http://up.test/api', timeoutMs: 1_000, ...opts });
  clients.push(c);
  return c;
}

describe('base URL', () => {
  it.each([
    ['http://up.test/api', 'http://up.test/api'],
    ['http://up.test/api/', 'http://up.test/api'],
    ['http://up.test/api//', 'http://up.test/api'],
    ['http://up.test', 'http://up.test'],
    ['http://up.test/', 'http://up.test'],
    ['https://srv4pos.test/v22/1042/', 'https://srv4pos.test/v22/1042'],
    ['HTTP://Up.Test:8080/x#frag', 'http://up.test:8080/x'],
  ])('%s → %s', (raw, normal) => {
    expect(normaliseBaseUrl(raw)).toBe(normal);
  });

  it('appends paths to the base as given, sellerId segment included, with or without a trailing slash', async () => {
    const scope = nock('https://srv4pos.test').get('/v22/1042/sales').reply(200, { items: [] }).get('/v22/1042/version').reply(200, { version: 1 });
    const c = client({ baseUrl: 'https://srv4pos.test/v22/1042/' });
    expect((await c.request('GET', '/sales')).status).toBe(200);
    expect((await c.request('GET', '/version')).data).toEqual({ version: 1 });
    scope.done();
  });

  it('never follows an absolute URL away from the base (allowAbsoluteUrls: false)', async () => {
    const evil = nock('http://evil.test').get(/.*/).reply(200, 'stolen');
    const base = nock('http://up.test')
      .get(/\/api\/.*evil\.test.*/)
      .reply(404, {});
    const res = await client({ username: 'u', password: 'p' }).request('GET', 'http://evil.test/x');
    expect(res.status).toBe(404);
    expect(evil.isDone()).toBe(false);
    base.done();
  });
});

describe('authentication', () => {
  it.each([
    [{ username: 'u', password: 'p' }, `Basic ${Buffer.from('u:p').toString('base64')}`],
    [{ apiKey: 'KEY-123' }, `Basic ${Buffer.from('KEY-123').toString('base64')}`],
    [{ username: 'u', password: 'p', apiKey: 'KEY-123' }, `Basic ${Buffer.from('KEY-123').toString('base64')}`],
    [{}, undefined],
  ])('%j → %s', (creds, header) => {
    expect(authorizationHeader(creds)).toBe(header);
  });

  it('takes credentials out of the URL and sends them as the Basic header', async () => {
    const scope = nock('http://up.test', { reqheaders: { authorization: `Basic ${Buffer.from('gw:s3cret').toString('base64')}` } })
      .get('/api/version')
      .reply(200, { version: 3 });
    const c = client({ baseUrl: 'http://gw:s3cret@up.test/api/' });
    expect(c.baseUrl).toBe('http://up.test/api');
    await c.request('GET', '/version');
    scope.done();
  });

  it('sends the header on every request', async () => {
    const scope = nock('http://up.test', { reqheaders: { authorization: `Basic ${Buffer.from('KEY').toString('base64')}` } })
      .get('/api/version')
      .reply(200, { version: 3 });
    await client({ apiKey: 'KEY' }).request('GET', '/version');
    scope.done();
  });
});

describe('answers and failures', () => {
  it.each([
    [200, {}, 'delivered'],
    [201, { create: true }, 'delivered'],
    [409, { create: true }, 'delivered'],
    [409, { create: true, errorCode: 'already_exists' }, 'delivered'],
    [409, { create: true, errorCode: 'sale_collision' }, 'permanent'],
    [409, { create: false }, 'permanent'],
    [400, {}, 'permanent'],
    [401, {}, 'permanent'],
    [404, {}, 'permanent'],
    [422, {}, 'permanent'],
    [302, {}, 'permanent'],
    [408, {}, 'retry'],
    [429, {}, 'retry'],
    [500, {}, 'retry'],
    [503, {}, 'retry'],
    [504, {}, 'retry'],
  ])('HTTP %i %j → %s', (status, opts, verdict) => {
    expect(classifyStatus(status, opts)).toBe(verdict);
  });

  it.each([
    [{ error: { code: 'already_exists', message: 'x' } }, 'already_exists'],
    [{ error: 'DayIsClosedJsonException', details: [] }, 'DayIsClosedJsonException'],
    ['plain text', null],
    [null, null],
  ])('error code of %j is %j', (body, code) => {
    expect(errorCodeOf(body)).toBe(code);
  });

  it('returns every HTTP status to the caller', async () => {
    nock('http://up.test')
      .post('/api/sales')
      .reply(503, { error: { code: 'x', message: 'down' } });
    const res = await client().request('POST', '/sales', { data: { a: 1 } });
    expect(res.status).toBe(503);
    expect(res.data).toEqual({ error: { code: 'x', message: 'down' } });
  });

  it('a slow upstream is a timeout (upstream_timeout, 504)', async () => {
    nock('http://up.test').get('/api/version').delay(500).reply(200, { version: 1 });
    const err = await client({ timeoutMs: 100 })
      .request('GET', '/version')
      .catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ kind: 'timeout', code: 'upstream_timeout', status: 504 });
  });

  it('a refused connection is upstream_unavailable (503)', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const c = client({ baseUrl: `http://127.0.0.1:${port}/api` });
    const err = await c.request('GET', '/version').catch((e) => e);
    expect(err).toMatchObject({ kind: 'network', code: 'upstream_unavailable', status: 503 });
    expect(err.message).toContain('ECONNREFUSED');
    expect(c.lastContact).toMatchObject({ ok: false });
  });

  it('reports each request', async () => {
    nock('http://up.test').get('/api/version').reply(200, { version: 1 });
    const seen: unknown[] = [];
    await client({ onRequest: (e) => seen.push(e) }).request('GET', '/version');
    expect(seen).toEqual([expect.objectContaining({ method: 'GET', path: '/version', status: 200 })]);
  });
});

describe('circuit breaker in the client', () => {
  it('opens after N consecutive failures, fails fast without calling upstream, closes after a good probe', async () => {
    const states: string[] = [];
    const c = client({ breaker: { failures: 3, cooldownMs: 150, onChange: (s) => states.push(s) } });
    nock('http://up.test')
      .get('/api/version')
      .times(2)
      .reply(503)
      .get('/api/version')
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const outcomes: unknown[] = [];
    for (let i = 0; i < 3; i++)
      outcomes.push(
        await c.request('GET', '/version').then(
          (r) => r.status,
          (e) => e.kind,
        ),
      );
    expect(outcomes).toEqual([503, 503, 'network']);
    expect(c.breaker!.current).toBe('open');
    const later = nock('http://up.test').get('/api/version').reply(200, { version: 9 });
    const fast = await c.request('GET', '/version').catch((e) => e);
    expect(fast).toMatchObject({ kind: 'breaker_open', code: 'upstream_unavailable' });
    expect(fast.retryAt).toBeGreaterThan(Date.now());
    expect(later.isDone()).toBe(false);
    await new Promise((r) => setTimeout(r, 170));
    expect((await c.request('GET', '/version')).data).toEqual({ version: 9 });
    expect(c.breaker!.current).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
  });

  it('4xx answers count as upstream being alive', async () => {
    const c = client({ breaker: { failures: 2, cooldownMs: 10_000 } });
    nock('http://up.test').get('/api/x').times(5).reply(400, {});
    for (let i = 0; i < 5; i++) await c.request('GET', '/x');
    expect(c.breaker!.current).toBe('closed');
  });
});
