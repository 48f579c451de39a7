import { describe, expect, it } from 'vitest';
import { captureFileName, captureFromEntry, isCaptureFile, type CaptureFile } from '../../src/integrate/capture-file.js';
import { checkPushes, formatProblem } from '../../src/integrate/check.js';
import { pushesFromText } from '../../src/integrate/fixtures.js';
import { formatReplaySummary, replayVerdict } from '../../src/integrate/format.js';
import { parseJournalLine, parseSince } from '../../src/integrate/journal.js';
import { formatEta, ProgressReporter, renderProgress } from '../../src/integrate/progress.js';
import { redactJsonText, redactPushBody } from '../../src/integrate/redact.js';
import { backoffDelay, invoiceUrl } from '../../src/integrate/replayer.js';
import { latencySummary, parsePushSummary, percentile, ReplayStats } from '../../src/integrate/stats.js';
import { parseRate, TokenBucket } from '../../src/integrate/token-bucket.js';
import type { JournalEntry } from '../../src/store/records.js';
import { invoice } from '../helpers.js';

const inv = (id: number, extra: Record<string, unknown> = {}) => invoice(id, [{ productId: '101', qty: 1, total: 2.2 }], extra);

describe('redact', () => {
  it('blanks customer name, address and email and leaves every other byte alone', () => {
    const text =
      '{"invoices":[{"id":1,"total":2.90,"customer":{"name":"Zoë \\"Z\\" Å","address":"Wien","email":"z@x.at","phone":"+43"},"positions":[]},\n {"customer": {"name" : "", "email":"e@x"}, "note":{"customer":{"name":"kept"}}}]}';
    const out = redactJsonText(text)!;
    expect(out.blanked).toBe(4);
    expect(out.text).toBe(
      '{"invoices":[{"id":1,"total":2.90,"customer":{"name":"","address":"","email":"","phone":"+43"},"positions":[]},\n {"customer": {"name" : "", "email":""}, "note":{"customer":{"name":"kept"}}}]}',
    );
  });

  it('blanks non-string customer values too, and refuses text that is not JSON', () => {
    expect(redactJsonText('{"invoices":[{"customer":{"name":null,"email":42}}]}')!.text).toBe('{"invoices":[{"customer":{"name":"","email":""}}]}');
    expect(redactJsonText('{"invoices":')).toBeNull();
    expect(redactPushBody('garbage')).toEqual({ ok: false, reason: expect.stringMatching(/not JSON/) });
  });

  it('redacts inside the invoice field of a legacy form body', () => {
    const json = '{"invoices":[{"id":1,"customer":{"name":"Jana","address":"","email":""}}]}';
    const form = new URLSearchParams({ user: '[redacted]', invoices: json }).toString();
    const out = redactPushBody(form, 'application/x-www-form-urlencoded');
    expect(out.ok).toBe(true);
    if (out.ok) expect(new URLSearchParams(out.text).get('invoices')).toBe('{"invoices":[{"id":1,"customer":{"name":"","address":"","email":""}}]}');
  });
});

describe('journal lines', () => {
  it.each([
    ['{"at":"2026-11-23T10:00:00.000Z","method":"POST","path":"/invoice","body":"{}"}', true],
    ['{"at":"2026-11-23T10:00:00.000Z","method":"POST","path":"/inv', false],
    ['[1,2]', false],
    ['{"at":"yesterday","method":"POST","path":"/invoice"}', false],
    ['{"at":"2026-11-23T10:00:00.000Z","path":"/invoice"}', false],
  ])('%s → usable: %s', (line, ok) => {
    expect(parseJournalLine(line).ok).toBe(ok);
  });

  it.each([
    ['2026-11-23', '2026-11-23T00:00:00.000Z'],
    ['2026-11-23T08:30:00Z', '2026-11-23T08:30:00.000Z'],
    ['2026-11-23T08:30:00+01:00', '2026-11-23T07:30:00.000Z'],
    ['23.11.2026', null],
    ['2026-13-01', null],
    ['yesterday', null],
  ])('--since %s → %s', (text, iso) => {
    expect(parseSince(text)?.toISOString() ?? null).toBe(iso);
  });
});

describe('capture files', () => {
  const entry: JournalEntry = {
    at: '2026-11-23T09:12:44.517Z',
    requestId: 'r1',
    device: 'tablet-1',
    cashRegisterName: 'TAB 1/a',
    method: 'POST',
    path: '/tshop/invoice',
    contentType: 'application/x-www-form-urlencoded',
    body: '{"invoices":[{"id":1,"total":2.90,"customer":{"name":"Jana","address":"A","email":"E"}}]}',
  };

  it('keeps the raw body and its metadata', () => {
    const { capture } = captureFromEntry(entry, { redact: false });
    expect(capture).toEqual({
      tabshopCapture: 1,
      receivedAt: entry.at,
      register: 'TAB 1/a',
      device: 'tablet-1',
      requestId: 'r1',
      method: 'POST',
      path: '/tshop/invoice',
      contentType: entry.contentType,
      body: entry.body,
    });
    expect(isCaptureFile(capture)).toBe(true);
  });

  it('redacts on request, and says when it cannot', () => {
    const { capture } = captureFromEntry(entry, { redact: true });
    expect(capture.redacted).toBe(true);
    expect(capture.body).toBe('{"invoices":[{"id":1,"total":2.90,"customer":{"name":"","address":"","email":""}}]}');
    const binary = captureFromEntry({ ...entry, body: undefined, bodyBase64: 'gA==' }, { redact: true });
    expect(binary.notRedacted).toMatch(/not UTF-8/);
    expect(binary.capture.redacted).toBeUndefined();
    expect(binary.capture.bodyBase64).toBe('gA==');
  });

  it('names files by time and register, numbering same-millisecond pushes', () => {
    const taken = new Set<string>();
    const c = captureFromEntry(entry, { redact: false }).capture;
    expect(captureFileName(c, taken)).toBe('2026-11-23T09-12-44.517Z_TAB_1_a.json');
    expect(captureFileName(c, taken)).toBe('2026-11-23T09-12-44.517Z_TAB_1_a_2.json');
    expect(captureFileName({ ...c, path: '/stock' } as CaptureFile, taken)).toBe('2026-11-23T09-12-44.517Z_TAB_1_a_stock.json');
  });
});

describe('reading fixtures', () => {
  const body = JSON.stringify({ invoices: [inv(1), inv(2)] });

  it('a {"invoices": [...]} file is one push, sent byte for byte', () => {
    const text = body.replace('2.2', '2.20');
    const { pushes, problems } = pushesFromText('a.json', `\uFEFF${text}`);
    expect(problems).toEqual([]);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]).toMatchObject({ source: 'a.json', kind: 'batch', contentType: 'application/json' });
    expect(pushes[0].body.toString()).toBe(text);
    expect(pushes[0].invoices).toHaveLength(2);
  });

  it('a journaled Windows-1252 push (bodyBase64) is read as the gateway stored it, sent byte for byte', () => {
    const latin1 = Buffer.from(JSON.stringify({ invoices: [inv(8, { customer: { name: 'Käthe', address: '', email: '' } })] }), 'latin1');
    const journal = { at: '2026-11-23T10:00:00.000Z', method: 'POST', path: '/invoice', cashRegisterName: 'TAB-1', bodyBase64: latin1.toString('base64') };
    const { pushes, problems } = pushesFromText('j.ndjson', JSON.stringify(journal));
    expect(problems).toEqual([]);
    expect(pushes[0].bodyProblem).toBeUndefined();
    expect((pushes[0].invoices![0] as { customer: { name: string } }).customer.name).toBe('Käthe');
    expect(pushes[0].body.equals(latin1)).toBe(true);
  });

  it('NDJSON: invoices are one push each; push bodies, captures and journal lines are pushes', () => {
    const journal = { at: '2026-11-23T10:00:00.000Z', method: 'POST', path: '/invoice', cashRegisterName: 'TAB-2', device: 'tablet-2', body };
    const read = { ...journal, method: 'GET', path: '/stock', legacy: true, body: undefined };
    const capture = { tabshopCapture: 1, receivedAt: journal.at, method: 'POST', path: '/invoice', register: 'TAB-3', body };
    const lines = [JSON.stringify(inv(7)), '', body, JSON.stringify(journal), JSON.stringify(read), JSON.stringify(capture), '{"torn":', '42'];
    const { pushes, problems } = pushesFromText('x.ndjson', lines.join('\r\n'));
    expect(pushes.map((p) => [p.source, p.kind, p.register, p.invoices?.length, p.skip])).toEqual([
      ['x.ndjson:1', 'ndjson-invoice', undefined, 1, undefined],
      ['x.ndjson:3', 'ndjson-batch', undefined, 2, undefined],
      ['x.ndjson:4', 'journal', 'TAB-2', 2, undefined],
      ['x.ndjson:5', 'journal', 'TAB-2', undefined, 'not an invoice push (GET /stock)'],
      ['x.ndjson:6', 'capture', 'TAB-3', 2, undefined],
    ]);
    expect(pushes[0].body.toString()).toBe(`{"invoices":[${JSON.stringify(inv(7))}]}`);
    expect(problems.map((p) => p.source)).toEqual(['x.ndjson:7', 'x.ndjson:8']);
  });

  it('a capture keeps its content type; a legacy form capture is sent as the JSON it carries', () => {
    const json = JSON.stringify({ invoices: [inv(1)] });
    const capture = { tabshopCapture: 1, receivedAt: 'x', method: 'POST', path: '/invoice', contentType: 'text/plain', body: json };
    expect(pushesFromText('c.json', JSON.stringify(capture)).pushes[0]).toMatchObject({ kind: 'capture', contentType: 'text/plain' });
    const form = new URLSearchParams({ user: '[redacted]', data: json }).toString();
    const legacy = { ...capture, contentType: 'application/x-www-form-urlencoded', legacy: true, body: form };
    const push = pushesFromText('l.json', JSON.stringify(legacy)).pushes[0];
    expect(push.body.toString()).toBe(json);
    expect(push.contentType).toBe('application/json');
    const notLegacy = pushesFromText('n.json', JSON.stringify({ ...legacy, legacy: undefined })).pushes[0];
    expect(notLegacy.body.toString()).toBe(form);
    expect(notLegacy.bodyProblem).toMatch(/not JSON/);
  });

  it.each([
    ['{"invoices":', /not JSON/],
    ['{"id": 1, "positions": []}', /not a fixture/],
    ['[]', /not a fixture/],
  ])('refuses %s', (text, message) => {
    const { pushes, problems } = pushesFromText('bad.json', text);
    expect(pushes).toEqual([]);
    expect(problems[0].message).toMatch(message);
  });
});

describe('checkPushes', () => {
  const push = (source: string, invoices: unknown[], register?: string) => ({
    source,
    file: source,
    kind: 'batch' as const,
    body: Buffer.from(''),
    contentType: 'application/json',
    invoices,
    ...(register && { register }),
  });

  it('reports schema problems with their JSON path, one quarantine per invoice', () => {
    const bad = { ...inv(4), positions: [{ productId: '1', qty: '1,5', total: 'x' }] };
    const r = checkPushes([push('f.json', [inv(1), inv(2), inv(3), bad])]);
    expect(r.problems.map(formatProblem)).toEqual([
      'f.json: /invoices/3/positions/0/qty: must be number or numeric string',
      'f.json: /invoices/3/positions/0/total: must be number or numeric string',
    ]);
    expect(r.outcomes).toEqual({ created: 3, updated: 0, unchanged: 0, quarantined: 1 });
  });

  it('follows the upsert rules across pushes: unchanged, updated, collision', () => {
    const r = checkPushes([push('a.json', [inv(1), inv(2)]), push('b.json', [inv(1), inv(2, { checkoutStatus: '11' }), inv(1, { date: '1763900000001' })])]);
    expect(r.outcomes).toEqual({ created: 2, updated: 1, unchanged: 1, quarantined: 1 });
    expect(r.sales.map((s) => [s.identifier, s.status, s.version])).toEqual([
      ['TAB-1:1', 'completed', 1],
      ['TAB-1:2', 'refunded', 2],
    ]);
    expect(formatProblem(r.problems[0])).toMatch(
      /^b\.json: \/invoices\/2: invoice 1 of register TAB-1 was pushed before \(a\.json \/invoices\/0\) .* collision$/,
    );
  });

  it('counts stale re-pushes as unchanged, as the gateway does: status 10 after 11/12, or an earlier version', () => {
    const r = checkPushes([
      push('a.json', [inv(1), inv(1, { checkoutStatus: '11' }), inv(1, { checkoutStatus: '12' })]),
      push('b.json', [inv(1), inv(1, { checkoutStatus: '11' }), inv(1, { checkoutStatus: '12' })]),
    ]);
    expect(r.outcomes).toEqual({ created: 1, updated: 2, unchanged: 3, quarantined: 0 });
    expect(r.sales.map((s) => [s.status, s.version])).toEqual([['cancelled', 3]]);
  });

  it("keeps registers apart; --register overrides the capture's", () => {
    const pushes = [push('a', [inv(1)], 'TAB-2'), push('b', [inv(1, { date: '1763900000001' })])];
    expect(checkPushes(pushes).sales.map((s) => s.identifier)).toEqual(['TAB-2:1', 'TAB-1:1']);
    expect(checkPushes(pushes, { register: 'X' }).problems).toHaveLength(1);
  });

  it('reports a body that is not a push, and skips captured reads', () => {
    const r = checkPushes([
      { ...push('a', []), invoices: undefined, bodyProblem: 'the body is not JSON: x' },
      { ...push('b', []), skip: 'not an invoice push (GET /stock)' },
    ]);
    expect(r.problems.map(formatProblem)).toEqual(['a: the body is not JSON: x']);
    expect(r.skipped).toBe(1);
  });
});

describe('replay helpers', () => {
  it.each([
    ['http://10.0.0.5:8080', 'http://10.0.0.5:8080/invoice'],
    ['http://10.0.0.5:8080/', 'http://10.0.0.5:8080/invoice'],
    ['http://h/tshop', 'http://h/tshop/invoice'],
    ['http://h/tshop//', 'http://h/tshop/invoice'],
    ['https://h/a/b/?x=1', 'https://h/a/b/invoice?x=1'],
  ])('invoiceUrl(%s) = %s', (url, expected) => {
    expect(invoiceUrl(url).href).toBe(expected);
  });

  it('refuses URLs that are not http(s)', () => {
    expect(() => invoiceUrl('ftp://h/')).toThrow(/not an http/);
    expect(() => invoiceUrl('10.0.0.5:8080')).toThrow();
  });

  it('backs off exponentially with jitter, capped', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, 200, 5000, () => 1))).toEqual([200, 400, 800, 1600, 3200, 5000]);
    expect(backoffDelay(3, 200, 5000, () => 0)).toBe(400);
  });

  it.each([
    ['50', 50],
    ['50/s', 50],
    [' 0.5 / s ', 0.5],
    ['0', null],
    ['-1', null],
    ['fast', null],
    ['5/m', null],
  ])('parseRate(%s) = %s', (t, r) => {
    expect(parseRate(t)).toBe(r);
  });

  it('the token bucket spaces takes at the rate', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 1, () => now);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([0, 100, 200]);
    now = 1000;
    expect(bucket.take()).toBe(0);
  });

  it('computes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(values, 50), percentile(values, 95), percentile(values, 100)]).toEqual([50, 95, 100]);
    expect(percentile([7], 95)).toBe(7);
    expect(latencySummary([3, 1, 2])).toEqual({ p50: 2, p95: 3, max: 3 });
    expect(latencySummary([])).toBeNull();
  });

  it('reads the JSON push summary only when it is one', () => {
    const s = '{"received":2,"created":1,"updated":0,"unchanged":1,"quarantined":0}';
    expect(parsePushSummary('application/json; charset=utf-8', s)).toEqual({ received: 2, created: 1, updated: 0, unchanged: 1, quarantined: 0 });
    expect(parsePushSummary('text/plain', s)).toBeNull();
    expect(parsePushSummary('application/json', 'true')).toBeNull();
    expect(parsePushSummary('application/json', '{"error":{}}')).toBeNull();
  });

  it('sums outcomes into a summary with a verdict', () => {
    const stats = new ReplayStats('http://h/invoice', 4);
    stats.record(
      { kind: 'response', status: 200, latencyMs: 10, attempts: 1, summary: { received: 2, created: 2, updated: 0, unchanged: 0, quarantined: 0 } },
      2,
    );
    stats.record({ kind: 'response', status: 500, latencyMs: 30, attempts: 1, summary: null }, 1);
    stats.record({ kind: 'connection_error', code: 'ECONNREFUSED', message: 'refused', attempts: 3 }, 1);
    stats.record({ kind: 'interrupted' }, 1);
    const s = stats.summary(2000, { interrupted: true });
    expect(s).toMatchObject({
      pushes: 4,
      sent: 3,
      notSent: 1,
      ok: 1,
      failed: 2,
      byStatus: { 200: 1, 500: 1 },
      connectionErrors: { ECONNREFUSED: 1 },
      retries: 2,
      invoices: { sent: 4, summaries: 1, received: 2, created: 2 },
      latencyMs: { p50: 10, p95: 30, max: 30 },
      pushesPerSecond: 1.5,
      interrupted: true,
    });
    expect(replayVerdict(s)).toBe('INTERRUPTED: 1 of 4 pushes not sent; 2 of 3 pushes failed (500 ×1 · ECONNREFUSED ×1)');
    expect(replayVerdict({ ...s, interrupted: false })).toBe('FAILED: 2 of 3 pushes failed (500 ×1 · ECONNREFUSED ×1)');
    const text = formatReplaySummary(s);
    expect(text).toContain('answers   200 ×1 · 500 ×1');
    expect(text).toContain('latency   p50 10 ms · p95 30 ms · max 30 ms');
  });
});

describe('progress', () => {
  it('renders count, percentage, rate and ETA in the width given', () => {
    const line = renderProgress({ done: 250, total: 1000, failed: 2, elapsedMs: 500 }, 100);
    expect(line).toMatch(/^replay ▕█{10}░{30}▏ {2}250\/1000 {2}25% {2}500\/s {2}ETA 0:02 {2}failed 2$/);
    expect(renderProgress({ done: 0, total: 10, failed: 0, elapsedMs: 0 }, 60)).toContain('ETA -:--');
    expect(renderProgress({ done: 10, total: 10, failed: 0, elapsedMs: 4000 }, 60)).toContain('10/10 100%  2.5/s  ETA 0:00');
  });

  it.each([
    [0, '0:00'],
    [59_400, '0:59'],
    [61_000, '1:01'],
    [3_723_000, '1:02:03'],
    [Number.NaN, '-:--'],
  ])('formatEta(%s) = %s', (ms, text) => {
    expect(formatEta(ms)).toBe(text);
  });

  it('redraws one line on a TTY, at most every interval, and prints notes above it', () => {
    let now = 0;
    const written: string[] = [];
    const tty = { isTTY: true, columns: 80, write: (s: string) => written.push(s) };
    const p = new ProgressReporter(tty, 3, () => now, 100);
    p.update(1, 0);
    now = 50;
    p.update(2, 0);
    p.line('✗ 500 a.json');
    now = 60;
    p.update(3, 1);
    p.finish();
    expect(written.every((w) => w.startsWith('\r\x1b[K') || w === '\n')).toBe(true);
    expect(written.filter((w) => w.includes('▕')).length).toBe(4);
    expect(written).toContain('\r\x1b[K✗ 500 a.json\n');
    expect(written.at(-1)).toBe('\n');
  });

  it('writes plain lines and no bar elsewhere', () => {
    const written: string[] = [];
    const p = new ProgressReporter({ write: (s: string) => written.push(s) }, 2);
    p.update(1, 0);
    p.line('[1/2] 200 a.json');
    p.finish();
    expect(written).toEqual(['[1/2] 200 a.json\n']);
  });
});
