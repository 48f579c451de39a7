import { describe, expect, it } from 'vitest';
import { ADMIN, adminAuth, DEVICE, deviceAuth, invoice } from '../helpers.js';
import { queryRows, skipPostgres } from '../postgres.js';
import { postgresProcesses } from './postgres-processes.js';
import { spawnCli } from './process.js';

const INVOICE_1 = 202612030100001;
const INVOICE_2 = 202612030100002;

/** What a tablet gets back from a push, and what the API says about its sales and one product's stock. */
function client(url: string) {
  const push = async (id: number, qty: number) => {
    const res = await fetch(`${url}/invoice`, {
      method: 'POST',
      headers: { authorization: deviceAuth, accept: 'application/json' },
      body: JSON.stringify({ invoices: [invoice(id, [{ productId: 'p1', qty, total: qty * 2 }])] }),
    });
    return { status: res.status, body: await res.json() };
  };
  const api = async (path: string, method = 'GET', body?: unknown) => {
    const res = await fetch(`${url}/api${path}`, {
      method,
      headers: { authorization: adminAuth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: res.status === 204 ? null : await res.json() };
  };
  const status = async (path: string, auth?: string) => (await fetch(`${url}${path}`, { headers: auth ? { authorization: auth } : {} })).status;
  const tabletStock = async () => {
    const res = await fetch(`${url}/stock`, { headers: { authorization: deviceAuth } });
    const body = (await res.json()) as { products: { id: string; stockqty: number }[] };
    return { status: res.status, p1: body.products.find((p) => p.id === 'p1')?.stockqty };
  };
  return { push, api, status, tabletStock };
}

/** The error shape of the catalog: a code and a message, nothing of the database's own words. */
function expectUnavailable(answer: { status: number; body: unknown }) {
  expect(answer.status).toBe(503);
  expect(answer.body).toEqual({ error: { code: 'not_ready', message: expect.any(String) } });
  expect(JSON.stringify(answer.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres|terminat/i);
}

describe.skipIf(skipPostgres)('a gateway process whose PostgreSQL database goes down', { timeout: 120_000 }, () => {
  const pg = postgresProcesses();
  const writeConfig = (url: string) =>
    pg.writeConfig({
      server: { host: '127.0.0.1', port: 0 },
      store: { dataDir: './data', postgres: { url } },
      devices: [DEVICE],
      admins: [ADMIN],
    });

  it('answers 503 on writes and readiness while it is down, keeps serving tablet reads from memory, and recovers without a restart', async () => {
    const url = await pg.cluster.createDatabase();
    const gw = await pg.start(await writeConfig(url));
    const c = client(gw.url);
    expect((await c.api('/products/p1', 'PUT', { name: 'P1', price: 2 })).status).toBe(201);
    expect((await c.api('/stock/p1', 'PUT', { quantity: 10 })).status).toBe(200);
    expect(await c.push(INVOICE_1, 1)).toMatchObject({ status: 200, body: { created: 1 } });

    await pg.cluster.down();
    try {
      expectUnavailable(await c.push(INVOICE_2, 2));
      expectUnavailable(await c.api('/products/p2', 'PUT', { name: 'P2', price: 3 }));
      expectUnavailable(await c.api('/stock/p1/adjustments', 'POST', { delta: 5, reason: 'delivery' }));
      const ready = await fetch(`${gw.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'not_ready', failing: expect.arrayContaining(['store']) });
      expect(await c.status('/home', deviceAuth)).toBe(503);
      // Alive, and tablets still get their catalogue and stock: it is served from memory.
      expect(await c.status('/healthz')).toBe(200);
      const stock = await c.tabletStock();
      expect(stock.status).toBe(200);
      // API reads of articles, stock and open days come from memory; sale records and stats are read from the database: 503.
      for (const path of ['/products/p1', '/stock/p1', '/days/current/report?cashRegisterName=TAB-1']) expect((await c.api(path)).status).toBe(200);
      for (const path of ['/sales?firstResult=0&maxResults=10', `/sales/TAB-1:${INVOICE_1}`, '/sales/stats', '/products/stats'])
        expectUnavailable(await c.api(path));
      expect(gw.child.exitCode).toBeNull();
    } finally {
      await pg.cluster.up();
    }

    // Back without a restart: ready again within a bounded wait.
    await expect.poll(() => c.status('/readyz'), { timeout: 30_000, interval: 200 }).toBe(200);
    expect(await c.status('/home', deviceAuth)).toBe(200);
    // Nothing half-written: the refused sale is either all there (sale, lines, stock moved) or not at all.
    const [before] = await queryRows<{ sales: number; lines: number; stock: string }>(
      url,
      `SELECT (SELECT count(*) FROM sales)::int AS sales, (SELECT count(*) FROM sale_lines)::int AS lines,
        (SELECT quantity::text FROM stock_levels WHERE product = 'p1') AS stock`,
    );
    expect([
      { sales: 1, lines: 1, stock: '9' },
      { sales: 2, lines: 2, stock: '7' },
    ]).toContainEqual(before);
    // The push was refused by its lookup (a read: the sales are in the database, not in memory) before
    // it changed anything, so the product was the first write to meet the down database: its change
    // waited in the commit queue and is written now. The stock adjustment after it, refused once the
    // store was known to fail, changed nothing (the stock below is 7, not 12).
    expect((await c.api('/products/p2')).status).toBe(200);

    // The same push sent again is stored once.
    const again = await c.push(INVOICE_2, 2);
    expect(again.status).toBe(200);
    expect(again.body.created + again.body.unchanged).toBe(1);
    expect(await c.push(INVOICE_2, 2)).toMatchObject({ status: 200, body: { unchanged: 1 } });
    const sales = await c.api('/sales?firstResult=0&maxResults=10');
    expect(sales.body.total).toBe(2);
    expect(sales.body.items.map((s: { identifier: string }) => s.identifier).sort()).toEqual([`TAB-1:${INVOICE_1}`, `TAB-1:${INVOICE_2}`]);
    // Writes are taken again; the refused ones, sent again, hold once.
    expect((await c.api('/products/p2', 'PUT', { name: 'P2', price: 3 })).status).toBeLessThan(300);
    expect((await c.api('/stock/p1')).body).toMatchObject({ quantity: 7 });
    expect((await c.tabletStock()).p1).toBe(7);
    const [after] = await queryRows<{ sales: number; lines: number; stock: string; products: number }>(
      url,
      `SELECT (SELECT count(*) FROM sales)::int AS sales, (SELECT count(*) FROM sale_lines)::int AS lines,
        (SELECT quantity::text FROM stock_levels WHERE product = 'p1') AS stock,
        (SELECT count(*) FROM article_rows WHERE entity = 'product')::int AS products`,
    );
    expect(after).toEqual({ sales: 2, lines: 2, stock: '7', products: 2 });
    expect(gw.child.exitCode).toBeNull();
  });

  it('going down in the middle of pushes from 4 tablets: every acknowledged push is stored, none half-written, each refused one stored once when sent again', async () => {
    const url = await pg.cluster.createDatabase();
    const gw = await pg.start(await writeConfig(url));
    const c = client(gw.url);
    expect((await c.api('/products/p1', 'PUT', { name: 'P1', price: 2 })).status).toBe(201);
    expect((await c.api('/stock/p1', 'PUT', { quantity: 100 })).status).toBe(200);
    const ids = Array.from({ length: 24 }, (_, i) => INVOICE_1 + 100 + i);
    const answers = new Map<number, number>();
    let cut: Promise<void> | null = null;
    // 4 tablets, 6 pushes each, one at a time; the database stops once 6 are acknowledged.
    try {
      await Promise.all(
        [0, 1, 2, 3].map(async (tablet) => {
          for (const id of ids.filter((_, i) => i % 4 === tablet)) {
            const answer = await c.push(id, 1).catch((err) => {
              throw new Error(`push ${id}: ${err.cause ?? err}\n${gw.output()}`);
            });
            answers.set(id, answer.status);
            if (answer.status !== 200) expectUnavailable(answer);
            if ([...answers.values()].filter((s) => s === 200).length >= 6) cut ??= pg.cluster.down();
          }
        }),
      );
    } finally {
      await cut;
      await pg.cluster.up();
    }
    const acknowledged = ids.filter((id) => answers.get(id) === 200);
    const refused = ids.filter((id) => answers.get(id) !== 200);
    expect(refused.length).toBeGreaterThan(0);
    await expect.poll(() => c.status('/readyz'), { timeout: 30_000, interval: 200 }).toBe(200);

    const stored = async () => {
      const rows = await queryRows<{ invoice_id: string; lines: number }>(
        url,
        'SELECT s.invoice_id, (SELECT count(*) FROM sale_lines l WHERE l.sale_identifier = s.identifier)::int AS lines FROM sales s',
      );
      const [{ stock }] = await queryRows<{ stock: string }>(url, "SELECT quantity::text AS stock FROM stock_levels WHERE product = 'p1'");
      return { ids: rows.map((r) => Number(r.invoice_id)), lines: rows.map((r) => r.lines), stock: Number(stock) };
    };
    const before = await stored();
    expect(before.ids).toEqual(expect.arrayContaining(acknowledged));
    expect(before.lines.every((n) => n === 1)).toBe(true);
    expect(before.stock).toBe(100 - before.ids.length);

    for (const id of refused) expect((await c.push(id, 1)).status).toBe(200);
    const after = await stored();
    expect(after.ids.sort()).toEqual([...ids].sort());
    expect(after.stock).toBe(100 - ids.length);
    expect((await c.api('/sales?firstResult=0&maxResults=100')).body.total).toBe(ids.length);
    expect((await c.tabletStock()).p1).toBe(100 - ids.length);
    expect(gw.child.exitCode).toBeNull();
  });

  it('serve with the database down at start exits 1 with one line naming the database', async () => {
    const url = await pg.cluster.createDatabase();
    const configPath = await writeConfig(url);
    await pg.cluster.down();
    try {
      const proc = spawnCli(['serve', '--config', configPath]);
      expect(await proc.exited).toBe(1);
      expect(proc.output()).toContain(`cannot use PostgreSQL database "${url.split('/').at(-1)}"`);
    } finally {
      await pg.cluster.up();
    }
  });
});
