import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ADMIN, adminAuth, basic, invoice } from '../helpers.js';
import { queryRows, skipPostgres } from '../postgres.js';
import { postgresProcesses } from './postgres-processes.js';

const TABLETS = [1, 2, 3, 4].map((n) => ({ username: `tablet-${n}`, password: `pw-tablet-${n}`, cashRegister: `TAB-${n}` }));
const BATCHES = 24;
const PER_BATCH = 3;

interface Delivery { id: string; register: string; seq: number; accepted: boolean }

/** A webhook receiver on 127.0.0.1 that can be taken down (503) and records every delivery. */
async function startReceiver(): Promise<{ url: string; deliveries: Delivery[]; down: boolean; server: Server }> {
  const state = { url: '', deliveries: [] as Delivery[], down: true, server: null as unknown as Server };
  state.server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const event = JSON.parse(body) as { id: string; sale: { cashRegisterName: string } };
      const seq = Number(event.id.slice(event.id.lastIndexOf('@') + 1));
      state.deliveries.push({ id: event.id, register: event.sale.cashRegisterName, seq, accepted: !state.down });
      res.writeHead(state.down ? 503 : 200).end();
    });
  });
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}/hook`;
  return state;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skipPostgres)('two gateway processes on one PostgreSQL database', { timeout: 180_000 }, () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
  const pg = postgresProcesses(async () => {
    const closing = receiver?.server;
    receiver = undefined;
    if (closing) await new Promise((r) => closing.close(r));
  });
  const configFor = (url: string, hook: string) => pg.writeConfig({
    server: { host: '127.0.0.1', port: 0 }, store: { dataDir: './data', postgres: { url } },
    devices: TABLETS, admins: [ADMIN],
    webhooks: [{ url: hook, secret: 'cluster-test-secret', retryCapMs: 300, timeoutMs: 2000 }],
  });
  const start = (configPath: string) => pg.start(configPath);

  it('behave as one gateway: pushes spread over both, concurrent re-pushes, SIGKILL of the leader and of a follower, a webhook outage — nothing lost or doubled, locally or upstream', async () => {
    const hooks = await startReceiver();
    receiver = hooks;
    const url = await pg.cluster.createDatabase();
    const configPath = await configFor(url, hooks.url);
    const first = await start(configPath);
    const second = await start(configPath);
    expect(second.output()).toContain('another gateway process leads the database');
    const instances = [first, second];

    const acked = new Set<string>();
    let pushes = 0;
    let refused = 0;
    /** A tablet: sends until the push is acknowledged (200 `true`), moving to the other process when one does not answer. */
    async function push(tablet: (typeof TABLETS)[number], invoices: unknown[], prefer: number): Promise<void> {
      const deadline = Date.now() + 60_000;
      for (let attempt = 0; Date.now() < deadline; attempt++) {
        const target = instances[(prefer + attempt) % 2];
        pushes++;
        const ok = await fetch(`${target.url}/invoice`, {
          method: 'POST', headers: { authorization: basic(tablet.username, tablet.password) }, body: JSON.stringify({ invoices }),
          signal: AbortSignal.timeout(10_000),
        }).then(async (res) => res.status === 200 && (await res.text()) === 'true', () => false);
        if (ok) {
          for (const inv of invoices as { id: number }[]) acked.add(`${tablet.cashRegister}:${inv.id}`);
          return;
        }
        refused++;
        await sleep(100);
      }
      throw new Error(`a push of ${tablet.cashRegister} was never acknowledged`);
    }

    const batchOf = (t: number, b: number) => Array.from({ length: PER_BATCH }, (_, j) =>
      invoice(20261201000000 + t * 10_000 + b * 10 + j, [{ productId: `p${(b + j) % 5}`, qty: 1 + j, total: `${b}.${j}5` }]));
    let done = 0;
    const chaos = (async () => {
      while (done < (TABLETS.length * BATCHES) * 0.35) await sleep(20);
      // The leader dies mid-load, the webhook receiver still down: the other process takes over.
      first.child.kill('SIGKILL');
      await first.exited;
      instances[0] = await start(configPath);
      hooks.down = false;
      while (done < (TABLETS.length * BATCHES) * 0.7) await sleep(20);
      // Now a follower dies: its forwarded requests fail, and the tablets send them again.
      instances[0].child.kill('SIGKILL');
      await instances[0].exited;
      instances[0] = await start(configPath);
    })();
    await Promise.all(TABLETS.map(async (tablet, t) => {
      for (let b = 0; b < BATCHES; b++) {
        const batch = batchOf(t, b);
        // Every fourth batch goes to both processes at once: the same invoices, concurrently.
        if (b % 4 === 3) await Promise.all([push(tablet, batch, 0), push(tablet, batch, 1)]);
        else await push(tablet, batch, b % 2);
        // A tablet that never saw an answer sends an older batch again.
        if (b % 5 === 4) await push(tablet, batchOf(t, b - 2), b % 2);
        done++;
      }
    }));
    await chaos;

    const expected = TABLETS.length * BATCHES * PER_BATCH;
    expect(acked.size).toBe(expected);
    const [db] = await queryRows<{ sales: string; distinct_ids: string }>(url,
      'SELECT count(*)::text AS sales, count(DISTINCT (cash_register, invoice_id))::text AS distinct_ids FROM sales');
    expect(db).toEqual({ sales: String(expected), distinct_ids: String(expected) });

    // Same answers from both processes.
    const [a, b] = await Promise.all(instances.map(async (p) => {
      const res = await fetch(`${p.url}/api/sales?maxResults=1000`, { headers: { authorization: adminAuth } });
      return res.json() as Promise<{ total: number; items: { identifier: string; version: number }[] }>;
    }));
    expect(a).toEqual(b);
    expect(a.total).toBe(expected);
    expect(new Set(a.items.map((s) => s.identifier))).toEqual(acked);
    expect(a.items.every((s) => s.version === 1)).toBe(true);

    // Upstream: every sale delivered, once in effect (the same event id), in order per register.
    const deadline = Date.now() + 60_000;
    const acceptedIds = () => new Set(hooks.deliveries.filter((d) => d.accepted).map((d) => d.id));
    while (acceptedIds().size < expected && Date.now() < deadline) await sleep(100);
    const accepted = hooks.deliveries.filter((d) => d.accepted);
    expect(acceptedIds().size).toBe(expected);
    expect(new Set(accepted.map((d) => d.id.slice(0, d.id.lastIndexOf('@'))))).toEqual(acked);
    // At most the deliveries in flight when a process died come twice: one per register.
    expect(accepted.length - expected).toBeLessThanOrEqual(TABLETS.length);
    for (const tablet of TABLETS) {
      const seqs = [...new Map(accepted.filter((d) => d.register === tablet.cashRegister).map((d) => [d.id, d.seq])).values()];
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    }
    expect(hooks.deliveries.some((d) => !d.accepted)).toBe(true); // the outage was real
    expect(refused).toBeGreaterThan(0); // and so were the kills
    console.log(`cluster: pushes ${pushes}, refused and sent again ${refused}, acknowledged invoices ${acked.size}, webhook deliveries ${hooks.deliveries.length} (${accepted.length} accepted)`);
  });
});
