import { describe, expect, it } from 'vitest';
import { demoCredentialsRefusal, isLoopbackHost } from '../../src/cli/demo-guard.js';
import { summariseDay } from '../../src/ops/daily-sales.js';
import { escapeHtml, formatDuration, html } from '../../src/ops/html.js';
import { diskCheck, outboxCheck, summariseReadiness, storeCheck, upstreamCheck } from '../../src/ops/readiness.js';
import { NO_ROUTE, routeLabel } from '../../src/ops/route-label.js';
import { safeTarget, safeText } from '../../src/ops/safe-target.js';
import { upstreamResource } from '../../src/ops/metrics.js';
import { deadLetter, target } from './fake-forwarding.js';

describe('routeLabel: the route pattern with its mount path, never the raw URL', () => {
  it.each([
    ['/api/sales/TAB-1:42', '/sales/:id', '/api/sales/:id'],
    ['/api/sales/TAB-1:42?x=1', '/sales/:id', '/api/sales/:id'],
    ['/home', '/home', '/home'],
    ['/tshop/invoice', '/invoice', '/tshop/invoice'],
    ['//tshop//invoice/', '/invoice', '/tshop/invoice'],
    ['/api/stock/7/adjustments', '/stock/:product/adjustments', '/api/stock/:product/adjustments'],
    ['/files/a/b', '/files/*splat', '/files/*splat'],
    ['/anything/at/all', undefined, NO_ROUTE],
  ])('%s with pattern %s → %s', (path, pattern, label) => {
    expect(routeLabel(path, pattern)).toBe(label);
  });
});

describe('summariseDay: decimal sums per register', () => {
  it('sums exactly where floats would not (0.1 + 0.2 = 0.30), reversals apart', () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    const day = summariseDay(
      '2026-11-23',
      [
        { register: 'TAB-1', status: 'completed', total: 6.38 },
        { register: 'TAB-1', status: 'completed', total: '4.98' },
        { register: 'TAB-2', status: 'completed', total: 0.1 },
        { register: 'TAB-2', status: 'completed', total: 0.2 },
        { register: 'TAB-2', status: 'refunded', total: 2.5 },
        { register: 'TAB-1', status: 'cancelled', total: 1.125 },
      ],
      ['TAB-3'],
    );
    expect(day.registers).toEqual([
      { register: 'TAB-1', sales: 2, total: '11.36', reversed: 1, reversedTotal: '1.125' },
      { register: 'TAB-2', sales: 2, total: '0.30', reversed: 1, reversedTotal: '2.50' },
      { register: 'TAB-3', sales: 0, total: '0.00', reversed: 0, reversedTotal: '0.00' },
    ]);
    expect(day).toMatchObject({ sales: 4, total: '11.66', reversed: 2, reversedTotal: '3.625' });
  });
});

describe('html', () => {
  it('escapes every interpolation, text and attributes, but not nested html', () => {
    const evil = `<img src=x onerror="alert('x')">&`;
    expect(escapeHtml(evil)).toBe('&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;');
    expect(html`<td title="${evil}">${[evil, html`<b>${1}</b>`]}</td>`.value).toBe(`<td title="${escapeHtml(evil)}">${escapeHtml(evil)}<b>1</b></td>`);
    expect(html`${null}${undefined}${false}${0}`.value).toBe('0');
  });

  it.each([
    [0, '0 s'],
    [59_999, '59 s'],
    [60_000, '1 min'],
    [3_599_000, '59 min'],
    [3_600_000, '1 h'],
    [3_900_000, '1 h 5 min'],
    [86_400_000, '1 d'],
    [90_000_000, '1 d 1 h'],
    [-5, '0 s'],
  ])('formatDuration(%d) = %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('safeTarget / safeText: no credentials or tokens from URLs', () => {
  it.each([
    ['upstream', 'upstream'],
    ['webhook:https://user:pa55@hooks.example/in?token=abc', 'webhook:https://hooks.example/in'],
    ['webhook:http://127.0.0.1:9999/hook', 'webhook:http://127.0.0.1:9999/hook'],
  ])('%s → %s', (given, shown) => {
    expect(safeTarget(given)).toBe(shown);
  });

  it('cleans URLs inside error messages', () => {
    expect(safeText('connect ECONNREFUSED for http://u:secret@10.0.0.1/api/sales?key=k1 now')).toBe('connect ECONNREFUSED for http://10.0.0.1/api/sales now');
  });

  it('labels upstream requests by their first path segment only', () => {
    expect(upstreamResource('/sales/TAB-1:42')).toBe('/sales');
    expect(upstreamResource('/stock?x=1')).toBe('/stock');
    expect(upstreamResource('/')).toBe('/');
  });
});

describe('readiness checks', () => {
  const t = { diskLowFreeBytes: 1024 ** 3, diskLowFreePercent: 5, outboxMaxAgeMs: 900_000 };
  const GiB = 1024 ** 3;

  it('store: fails when not writable', () => {
    expect(storeCheck(true).status).toBe('ok');
    expect(storeCheck(false)).toMatchObject({ status: 'fail' });
    expect(storeCheck(true, 'postgres').message).toMatch(/database answers/);
    expect(storeCheck(false, 'postgres')).toMatchObject({ status: 'fail', message: expect.stringMatching(/database does not answer/) });
  });

  it.each([
    [{ freeBytes: 50 * GiB, totalBytes: 100 * GiB }, 'ok'],
    [{ freeBytes: 0.5 * GiB, totalBytes: 4 * GiB }, 'warn'], // below 1 GiB
    [{ freeBytes: 4 * GiB, totalBytes: 100 * GiB }, 'warn'], // below 5 %
    [{ error: 'ENOENT' }, 'warn'],
  ])('disk %j → %s', (space, status) => {
    expect(diskCheck(space, t).status).toBe(status);
  });

  it.each([
    [undefined, 'standalone'],
    [{ mode: 'standalone', reachable: null, breaker: null, lastSyncAt: null, catalogueCached: false }, 'standalone'],
    [{ mode: 'bridge', reachable: true, breaker: 'closed', lastSyncAt: '2026-11-23T10:00:00Z', catalogueCached: true }, 'ok'],
    [{ mode: 'bridge', reachable: null, breaker: null, lastSyncAt: null, catalogueCached: false }, 'fail'],
    [{ mode: 'bridge', reachable: false, breaker: 'open', lastSyncAt: '2026-11-23T10:00:00Z', catalogueCached: true }, 'warn'],
    [{ mode: 'bridge', reachable: false, breaker: 'open', lastSyncAt: null, catalogueCached: false }, 'fail'],
  ] as const)('upstream %j → %s', (state, status) => {
    expect(upstreamCheck(state as never).status).toBe(status);
  });

  it('outbox: fails when a target is older than the threshold, naming it and its error; dead letters warn', () => {
    expect(outboxCheck(undefined, undefined, t.outboxMaxAgeMs).status).toBe('standalone');
    expect(outboxCheck([target('upstream')], [], t.outboxMaxAgeMs)).toMatchObject({ status: 'ok', message: 'outbox empty' });
    expect(outboxCheck([target('upstream', { depth: 3, oldestAgeMs: 5000 })], [], t.outboxMaxAgeMs).status).toBe('ok');
    const stuck = outboxCheck(
      [target('webhook:https://u:p@h.example/x?k=1', { depth: 7, oldestAgeMs: 1_000_000, lastError: 'ECONNREFUSED' })],
      [],
      t.outboxMaxAgeMs,
    );
    expect(stuck.status).toBe('fail');
    expect(stuck.message).toContain('webhook:https://h.example/x: 7 waiting, oldest 1000 s (ECONNREFUSED)');
    expect(stuck.message).not.toContain('u:p');
    expect(outboxCheck([target('upstream')], [deadLetter('TAB-1:1')], t.outboxMaxAgeMs).status).toBe('warn');
  });

  it('summary: not_ready on any failure, degraded on warnings only', () => {
    const ok = { status: 'ok', message: '' } as const;
    const warn = { status: 'warn', message: '' } as const;
    const fail = { status: 'fail', message: '' } as const;
    const sa = { status: 'standalone', message: '' } as const;
    expect(summariseReadiness({ store: ok, disk: ok, upstream: sa, outbox: sa })).toMatchObject({ status: 'ready', failing: [], warnings: [] });
    expect(summariseReadiness({ store: ok, disk: warn, upstream: sa, outbox: sa })).toMatchObject({ status: 'degraded', warnings: ['disk'] });
    expect(summariseReadiness({ store: fail, disk: warn, upstream: ok, outbox: fail })).toMatchObject({ status: 'not_ready', failing: ['store', 'outbox'] });
  });
});

describe('demo credentials guard', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.20', false],
    ['gateway.lan', false],
    ['10.0.0.1', false],
  ])('isLoopbackHost(%s) = %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });

  const base = { isDemo: true, allowDemoCredentials: false, nodeEnv: 'development', host: '127.0.0.1', configPath: '/x/config.example.json' };
  it.each([
    [{}, null],
    [{ isDemo: false, nodeEnv: 'production', host: '0.0.0.0' }, null],
    [{ nodeEnv: 'production' }, 'NODE_ENV=production'],
    [{ host: '0.0.0.0' }, 'it would listen on 0.0.0.0'],
    [{ host: '0.0.0.0', nodeEnv: 'production', allowDemoCredentials: true }, null],
  ])('%j → %s', (over, reason) => {
    const refusal = demoCredentialsRefusal({ ...base, ...over });
    if (reason === null) expect(refusal).toBeNull();
    else {
      expect(refusal).toContain(reason);
      expect(refusal).toContain('allowDemoCredentials');
      expect(refusal).toContain('ALLOW_DEMO_CREDENTIALS=true');
    }
  });
});
