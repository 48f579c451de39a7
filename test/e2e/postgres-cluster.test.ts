import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ADMIN, adminAuth, basic, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';
import { eventually, fastUpstream, salesOn, seedUpstreamCatalogue } from './bridge-helpers.js';
import { queryRows, skipPostgres } from '../postgres.js';
import { postgresProcesses } from './postgres-processes.js';

const TABLETS = [1, 2, 3, 4].map((n) => ({ username: `tablet-${n}`, password: `pw-tablet-${n}`, cashRegister: `TAB-${n}` }));
const BATCHES = 24;
const PER_BATCH = 3;

interface Delivery {
  id: string;
  register: string;
  seq: number;
  accepted: boolean;
}

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
  const upstreams: TestGateway[] = [];
  const pg = postgresProcesses(async () => {
    const closing = receiver?.server;
    receiver = undefined;
    if (closing) await new Promise((r) => closing.close(r));
    for (const u of upstreams.splice(0)) {
      await u.stop().catch(() => undefined);
      await removeDir(u.dir);
    }
  });
  const configFor = (url: string, forwarding: Record<string, unknown>) =>
    pg.writeConfig({
      server: { host: '127.0.0.1', port: 0 },
      store: { dataDir: './data', postgres: { url } },
      devices: TABLETS,
      admins: [ADMIN],
      ...forwarding,
    });

  /**
   * Four tablets push BATCHES batches each, spread over both processes (every fourth batch to both
   * at once, older batches again now and then), sending until acknowledged as tablets do. Both
   * processes are equal (each takes the write lease for its own units of work). At 35 % the first
   * is SIGKILLed and started again, then `afterFirstKill` runs; at 70 % the other one is.
   */
  async function loadWithKills(configPath: string, productOf: (n: number) => string, afterFirstKill: () => Promise<void>) {
    const first = await pg.start(configPath);
    const second = await pg.start(configPath);
    const instances = [first, second];
    const acked = new Set<string>();
    let pushes = 0;
    let refused = 0;
    const push = async (tablet: (typeof TABLETS)[number], invoices: unknown[], prefer: number): Promise<void> => {
      const deadline = Date.now() + 60_000;
      for (let attempt = 0; Date.now() < deadline; attempt++) {
        const target = instances[(prefer + attempt) % 2];
        pushes++;
        const ok = await fetch(`${target.url}/invoice`, {
          method: 'POST',
          headers: { authorization: basic(tablet.username, tablet.password) },
          body: JSON.stringify({ invoices }),
          signal: AbortSignal.timeout(10_000),
        }).then(
          async (res) => res.status === 200 && (await res.text()) === 'true',
          () => false,
        );
        if (ok) {
          for (const inv of invoices as { id: number }[]) acked.add(`${tablet.cashRegister}:${inv.id}`);
          return;
        }
        refused++;
        await sleep(100);
      }
      throw new Error(`a push of ${tablet.cashRegister} was never acknowledged`);
    };
    const batchOf = (t: number, b: number) =>
      Array.from({ length: PER_BATCH }, (_, j) =>
        invoice(20261201000000 + t * 10_000 + b * 10 + j, [{ productId: productOf(b + j), qty: 1 + j, total: `${b}.${j}5` }]),
      );
    let done = 0;
    const chaos = (async () => {
      while (done < TABLETS.length * BATCHES * 0.35) await sleep(20);
      first.child.kill('SIGKILL');
      await first.exited;
      instances[0] = await pg.start(configPath);
      await afterFirstKill();
      while (done < TABLETS.length * BATCHES * 0.7) await sleep(20);
      // Now the other one dies: its requests in flight fail, and the tablets send them again.
      instances[1].child.kill('SIGKILL');
      await instances[1].exited;
      instances[1] = await pg.start(configPath);
    })();
    await Promise.all(
      TABLETS.map(async (tablet, t) => {
        for (let b = 0; b < BATCHES; b++) {
          const batch = batchOf(t, b);
          if (b % 4 === 3) await Promise.all([push(tablet, batch, 0), push(tablet, batch, 1)]);
          else await push(tablet, batch, b % 2);
          if (b % 5 === 4) await push(tablet, batchOf(t, b - 2), b % 2);
          done++;
        }
      }),
    );
    await chaos;
    expect(refused).toBeGreaterThan(0); // the kills were real
    return { instances, acked, pushes, refused };
  }

  /** Every acknowledged invoice stored once, and both processes answer GET /api/sales the same. */
  async function expectOneGateway(url: string, instances: { url: string }[], acked: Set<string>): Promise<void> {
    const expected = TABLETS.length * BATCHES * PER_BATCH;
    expect(acked.size).toBe(expected);
    const [db] = await queryRows<{ sales: string; distinct_ids: string }>(
      url,
      'SELECT count(*)::text AS sales, count(DISTINCT (cash_register, invoice_id))::text AS distinct_ids FROM sales',
    );
    expect(db).toEqual({ sales: String(expected), distinct_ids: String(expected) });
    const [a, b] = await Promise.all(
      instances.map(async (p) => {
        const res = await fetch(`${p.url}/api/sales?maxResults=1000`, { headers: { authorization: adminAuth } });
        return res.json() as Promise<{ total: number; items: { identifier: string; version: number }[] }>;
      }),
    );
    expect(a).toEqual(b);
    expect(a.total).toBe(expected);
    expect(new Set(a.items.map((s) => s.identifier))).toEqual(acked);
    expect(a.items.every((s) => s.version === 1)).toBe(true);
  }

  it('behave as one gateway: pushes spread over both, the same invoices to both at once, SIGKILL of either, a webhook outage — nothing lost or doubled, locally or upstream', async () => {
    const hooks = await startReceiver();
    receiver = hooks;
    const url = await pg.cluster.createDatabase();
    const configPath = await configFor(url, { webhooks: [{ url: hooks.url, secret: 'cluster-test-secret', retryCapMs: 300, timeoutMs: 2000 }] });
    // The receiver is down from the start until the first process has been killed and started again.
    const { instances, acked, pushes, refused } = await loadWithKills(
      configPath,
      (n) => `p${n % 5}`,
      async () => {
        hooks.down = false;
      },
    );
    await expectOneGateway(url, instances, acked);
    const expected = acked.size;

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
    console.log(
      `cluster, webhook: pushes ${pushes}, refused and sent again ${refused}, acknowledged invoices ${acked.size}, webhook deliveries ${hooks.deliveries.length} (${accepted.length} accepted)`,
    );
  });

  it('bridge mode: a srv4pos upstream down mid-load, each process SIGKILLed in turn — upstream gets every sale exactly once', async () => {
    let upstream = await startTestGateway();
    upstreams.push(upstream);
    await seedUpstreamCatalogue(upstream);
    const upstreamPort = Number(new URL(upstream.url).port);
    const url = await pg.cluster.createDatabase();
    const configPath = await configFor(url, { upstream: fastUpstream(upstream.url) });
    await upstream.stop(); // down before the first push
    const { instances, acked, pushes, refused } = await loadWithKills(
      configPath,
      (n) => (n % 2 ? '72' : '73'),
      async () => {
        upstream = await startTestGateway({}, upstream.dir, { port: upstreamPort });
        upstreams.push(upstream);
      },
    );
    await expectOneGateway(url, instances, acked);
    await eventually(async () => (await salesOn(upstream)).length === acked.size, 'every sale upstream', 60_000);
    const upstreamSales = await salesOn(upstream);
    expect(new Set(upstreamSales.map((s) => s.identifier))).toEqual(acked);
    // Created once upstream: a repeated delivery would have changed it (version 2) or been refused.
    expect(upstreamSales.every((s) => s.version === 1)).toBe(true);
    await eventually(async () => Number((await queryRows<{ n: string }>(url, 'SELECT count(*)::text AS n FROM outbox'))[0].n) === 0, 'an empty outbox');
    console.log(
      `cluster, bridge: pushes ${pushes}, refused and sent again ${refused}, acknowledged invoices ${acked.size}, upstream sales ${upstreamSales.length}`,
    );
  });
});
