import { describe, expect, it } from 'vitest';
import { ADMIN, adminAuth, DEVICE, deviceAuth, invoice } from '../helpers.js';
import { queryRows, skipPostgres, startTcpProxy } from '../postgres.js';
import { postgresProcesses } from './postgres-processes.js';

const INVOICE_1 = 202612030200001;
const INVOICE_2 = 202612030200002;
/** Longer than any answer the gateway should take; a request still hanging then fails the test. */
const PATIENCE_MS = 45_000;

describe.skipIf(skipPostgres)('a gateway process cut from its PostgreSQL database by a silent partition', { timeout: 150_000 }, () => {
  const pg = postgresProcesses();

  it('answers 503 instead of hanging while no packet gets through, and recovers without a restart when the link is back', async () => {
    const url = await pg.cluster.createDatabase();
    const proxy = await startTcpProxy(pg.cluster.port);
    try {
      const viaProxy = url.replace(`:${pg.cluster.port}/`, `:${proxy.port}/`);
      const gw = await pg.start(
        await pg.writeConfig({
          server: { host: '127.0.0.1', port: 0 },
          store: { dataDir: './data', postgres: { url: viaProxy, poolSize: 4 } },
          devices: [DEVICE],
          admins: [ADMIN],
        }),
      );
      const push = async (id: number) => {
        const res = await fetch(`${gw.url}/invoice`, {
          method: 'POST',
          headers: { authorization: deviceAuth, accept: 'application/json' },
          body: JSON.stringify({ invoices: [invoice(id, [{ productId: 'p1', qty: 1, total: 2 }])] }),
          signal: AbortSignal.timeout(PATIENCE_MS),
        });
        return { status: res.status, body: await res.json() };
      };
      const ready = async () => (await fetch(`${gw.url}/readyz`, { signal: AbortSignal.timeout(PATIENCE_MS) })).status;
      const put = await fetch(`${gw.url}/api/products/p1`, {
        method: 'PUT',
        headers: { authorization: adminAuth, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'P1', price: 2 }),
      });
      expect(put.status).toBe(201);
      expect(await push(INVOICE_1)).toMatchObject({ status: 200, body: { created: 1 } });

      proxy.freeze();
      try {
        const refused = await push(INVOICE_2);
        expect(refused).toEqual({ status: 503, body: { error: { code: 'not_ready', message: expect.any(String) } } });
        expect(await ready()).toBe(503);
        expect(gw.child.exitCode).toBeNull();
      } finally {
        proxy.thaw();
      }

      await expect.poll(ready, { timeout: PATIENCE_MS, interval: 250 }).toBe(200);
      const again = await push(INVOICE_2);
      expect(again.status).toBe(200);
      expect(again.body.created + again.body.unchanged).toBe(1);
      expect(await push(INVOICE_2)).toMatchObject({ status: 200, body: { unchanged: 1 } });
      const rows = await queryRows<{ invoice_id: string }>(url, 'SELECT invoice_id FROM sales ORDER BY invoice_id');
      expect(rows.map((r) => Number(r.invoice_id))).toEqual([INVOICE_1, INVOICE_2]);
      expect(gw.child.exitCode).toBeNull();
    } finally {
      await proxy.close();
    }
  });
});
