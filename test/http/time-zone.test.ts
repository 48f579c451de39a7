import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, deviceAuth, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';
import { MISSING_POSTGRES, PG_BIN, skipPostgres, startPostgres, type PgCluster } from '../postgres.js';

// A shop's time zone is the calendar of its stats: a change counts on its local date of receipt.
// Each case pushes one sale just before and one just after a local midnight, around a change of
// daylight saving time, and asks for each local day; UTC days would split them otherwise.

interface Case {
  zone: string;
  /** [instant of receipt, gross] */
  pushes: [string, number][];
  /** gross per local date */
  days: Record<string, number>;
  /** A local midnight written as an ISO time, and the same wall time in UTC (no day boundary there). */
  midnight: { local: string; date: string; utc: string };
  /** How a printout shows the first push's time. */
  printed: string;
}

const CASES: Case[] = [
  {
    // Daylight saving ends on 2026-04-05 at 03:00 (+11:00 → +10:00).
    zone: 'Australia/Sydney',
    pushes: [
      ['2026-04-04T12:59:59Z', 1],
      ['2026-04-04T13:00:00Z', 2],
      ['2026-04-05T13:59:00Z', 4],
      ['2026-04-05T14:00:00Z', 8],
    ],
    days: { '2026-04-03': 0, '2026-04-04': 1, '2026-04-05': 6, '2026-04-06': 8, '2026-04-07': 0 },
    midnight: { local: '2026-04-05T00:00:00+11:00', date: '2026-04-05', utc: '2026-04-05T00:00:00Z' },
    printed: '2026-04-04 23:59 +11:00',
  },
  {
    // Daylight saving starts on 2026-03-08 at 02:00 (−08:00 → −07:00).
    zone: 'America/Los_Angeles',
    pushes: [
      ['2026-03-08T07:59:59Z', 1],
      ['2026-03-08T08:00:00Z', 2],
      ['2026-03-09T06:59:00Z', 4],
      ['2026-03-09T07:00:00Z', 8],
    ],
    days: { '2026-03-06': 0, '2026-03-07': 1, '2026-03-08': 6, '2026-03-09': 8, '2026-03-10': 0 },
    midnight: { local: '2026-03-09T00:00:00-07:00', date: '2026-03-09', utc: '2026-03-09T00:00:00Z' },
    printed: '2026-03-07 23:59 -08:00',
  },
];

const nextDay = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

let cluster: PgCluster | undefined;
const started: TestGateway[] = [];
const dirs = new Set<string>();
let now = new Date('2026-01-01T00:00:00Z');

const STORES = [
  { name: 'lowdb', skip: false, store: async (): Promise<Record<string, unknown>> => ({}) },
  {
    name: 'PostgreSQL',
    skip: skipPostgres,
    store: async (): Promise<Record<string, unknown>> => {
      if (!PG_BIN) throw new Error(MISSING_POSTGRES);
      cluster ??= await startPostgres();
      return { store: { dataDir: './data', postgres: { url: await cluster.createDatabase() } } };
    },
  },
];

async function start(overrides: Record<string, unknown>, dir?: string): Promise<TestGateway> {
  const g = await startTestGateway(overrides, dir, { now: () => now });
  started.push(g);
  dirs.add(g.dir);
  return g;
}

async function stop(g: TestGateway): Promise<void> {
  await g.stop();
  started.splice(started.indexOf(g), 1);
}

afterEach(async () => {
  for (const g of started.splice(0).reverse()) await g.stop().catch(() => undefined);
  for (const d of dirs) await removeDir(d);
  dirs.clear();
});
afterAll(async () => {
  await cluster?.stop();
});

const admin = (g: TestGateway, path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
  g.json(`/api${path}`, { ...init, auth: adminAuth });

let nextId = 202603010100001;
async function pushAt(g: TestGateway, at: string, gross: number): Promise<string> {
  now = new Date(at);
  const id = nextId++;
  const res = await g.fetch('/invoice', {
    method: 'POST',
    body: JSON.stringify({ invoices: [invoice(id, [{ productId: '101', qty: 1, total: gross }], { date: String(now.getTime()) })] }),
    auth: deviceAuth,
  });
  expect(res.status).toBe(200);
  return `TAB-1:${id}`;
}

async function grossOn(g: TestGateway, from: string, to = nextDay(from)): Promise<number> {
  const res = await admin(g, `/registrations/stats?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.items.reduce((sum: number, r: { gross: number }) => sum + r.gross, 0);
}

describe.each(STORES)('a shop time zone on $name', ({ skip, store }) => {
  beforeAll(() => {
    if (skip) console.warn(MISSING_POSTGRES);
  });

  it.skipIf(skip).each(CASES)('$zone: stats per local date across a local midnight and a change of daylight saving time', async (c) => {
    const g = await start({ ...(await store()), timeZone: c.zone });
    const ids: string[] = [];
    for (const [at, gross] of c.pushes) ids.push(await pushAt(g, at, gross));
    for (const [date, gross] of Object.entries(c.days)) {
      expect(await grossOn(g, date), `${c.zone} ${date}`).toBe(gross);
      const products = (await admin(g, `/products/stats?from=${date}&to=${nextDay(date)}`)).body.items;
      expect(products.reduce((sum: number, p: { gross: number }) => sum + p.gross, 0)).toBe(gross);
    }
    // The sales first received on a local date: the second and third push for the middle day.
    const middle = Object.keys(c.days)[2];
    const sales = (await admin(g, `/sales/stats?from=${middle}&to=${nextDay(middle)}`)).body.items.map((s: { identifier: string }) => s.identifier);
    expect(sales).toEqual(ids.slice(1, 3));
    // `from` as a time: a local midnight, written with its offset; a UTC midnight is no day boundary here.
    expect(await grossOn(g, c.midnight.local, nextDay(c.midnight.date))).toBe(c.days[c.midnight.date]);
    const bad = await admin(g, `/registrations/stats?from=${encodeURIComponent(c.midnight.utc)}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain(c.zone);

    // Printouts show local times with the offset; JSON keeps the UTC instants.
    const report = await admin(g, '/days/current/report?cashRegisterName=TAB-1', { headers: { accept: 'text/plain' } });
    expect(report.body).toMatch(new RegExp(`\\nOpened +${c.printed.replace('+', '\\+')}\\n`));
    expect((await admin(g, '/days/current/report?cashRegisterName=TAB-1')).body.openedAt).toBe(new Date(c.pushes[0][0]).toISOString());
    const receipt = await admin(g, `/sales/${encodeURIComponent(ids[0])}/receipt?format=text`);
    expect(receipt.body).toContain(c.printed);
    expect((await admin(g, `/sales/${encodeURIComponent(ids[0])}/receipt`)).body.createdAt).toBe(new Date(c.pushes[0][0]).toISOString());

    // The same days after a restart (lowdb rebuilds its stats from the sales; PostgreSQL reads its rows).
    await stop(g);
    const again = await start(
      { ...(g.gateway.config.store.postgres && { store: { dataDir: './data', postgres: g.gateway.config.store.postgres } }), timeZone: c.zone },
      g.dir,
    );
    for (const [date, gross] of Object.entries(c.days)) expect(await grossOn(again, date), `${c.zone} ${date} after a restart`).toBe(gross);
  });

  it.skipIf(skip)('a change of zone applies to what is received from then on: what was counted stays on its date', async () => {
    const overrides = await store();
    const sydney = await start({ ...overrides, timeZone: 'Australia/Sydney' });
    // 2026-04-05 00:30 in Sydney, still 2026-04-04 in UTC.
    await pushAt(sydney, '2026-04-04T13:30:00Z', 1);
    await stop(sydney);
    const utc = await start(overrides, sydney.dir);
    // 2026-04-05 23:30 UTC, already 2026-04-06 in Sydney.
    await pushAt(utc, '2026-04-05T23:30:00Z', 2);
    expect(await grossOn(utc, '2026-04-04')).toBe(0);
    expect(await grossOn(utc, '2026-04-05')).toBe(3);
    expect(await grossOn(utc, '2026-04-06')).toBe(0);
    // Printouts follow the zone of now: UTC shows "UTC", as before time zones.
    const report = await admin(utc, '/days/current/report?cashRegisterName=TAB-1', { headers: { accept: 'text/plain' } });
    expect(report.body).toMatch(/\nOpened +2026-04-04 13:30 UTC\n/);
  });
});

describe('the back office print views of a shop with a time zone', () => {
  it('show local times with the offset (80 mm and A4 reports, the receipt)', async () => {
    const g = await start({ timeZone: 'Australia/Sydney' });
    const id = await pushAt(g, '2026-04-04T12:59:59Z', 1);
    const signIn = await g.fetch('/admin/sign-in', {
      method: 'POST',
      auth: null,
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'admin', password: 'pw-admin', next: 'days' }).toString(),
    });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0];
    const page = async (path: string) => (await g.fetch(`/admin/${path}`, { auth: null, headers: { cookie } })).text();
    expect(await page('days/TAB-1%3A1?view=80mm')).toMatch(/\nOpened +2026-04-04 23:59 \+11:00\n/);
    expect(await page('days/TAB-1%3A1?view=a4')).toContain('opened 2026-04-04 23:59 +11:00');
    expect(await page(`sales/${encodeURIComponent(id)}/receipt`)).toContain('2026-04-04 23:59 +11:00');
  });
});

describe('the status page of a shop with a time zone', () => {
  it('shows its times in the shop zone with the offset', async () => {
    const g = await start({ timeZone: 'Australia/Sydney' });
    await pushAt(g, '2026-04-05T14:00:00Z', 1);
    now = new Date('2026-04-05T14:05:00Z');
    const page = await g.fetch('/status', { auth: adminAuth });
    expect(page.status).toBe(200);
    const text = await page.text();
    // The last push, on the local date of now: the time of day with the offset (AEST after the change).
    expect(text).toContain('>00:00:00 +10:00</time>');
    expect(text).toContain('datetime="2026-04-05T14:00:00.000Z"');
  });
});
