import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, adminAuth, DEVICE, deviceAuth, invoice } from '../helpers.js';
import { queryRows, skipPostgres } from '../postgres.js';
import { eventually } from './bridge-helpers.js';
import { postgresProcesses } from './postgres-processes.js';

/** The database lock's key (src/store/postgres/connection.ts): a two-int advisory lock. */
const LOCK_KEY = [0x7ab5_4009, 1];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A webhook receiver on 127.0.0.1 that answers 503 while down and records the event ids it accepted. */
async function startReceiver() {
  const state = { url: '', accepted: [] as string[], down: true, server: null as unknown as Server };
  state.server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (!state.down) state.accepted.push((JSON.parse(body) as { id: string }).id);
      res.writeHead(state.down ? 503 : 200).end();
    });
  });
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}/hook`;
  return state;
}

/**
 * A rolling upgrade: a process of the previous version (schema ≤ 7: it delivers its outbox from
 * memory and does not set tabshop.writer_schema) still leads while processes of this version
 * follow. Played here by a plain connection that holds the gateway lock and writes as that
 * version did.
 */
describe.skipIf(skipPostgres)('rolling upgrade on PostgreSQL: a leader of the previous version', { timeout: 90_000 }, () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
  let oldLeader: pg.Client | undefined;
  const pg_ = postgresProcesses(async () => {
    await oldLeader?.end().catch(() => undefined);
    oldLeader = undefined;
  });
  afterEach(async () => {
    const closing = receiver?.server;
    receiver = undefined;
    if (closing) await new Promise((r) => closing.close(r));
  });

  it('is not doubled by followers of this version (they claim nothing while it leads, deliver once it is gone), and what it dismisses stays dismissed', async () => {
    receiver = await startReceiver();
    const url = await pg_.cluster.createDatabase();
    const config = await pg_.writeConfig({
      server: { host: '127.0.0.1', port: 0 },
      store: { dataDir: './data', postgres: { url } },
      devices: [DEVICE],
      admins: [ADMIN],
      webhooks: [{ url: receiver.url, secret: 'rolling-upgrade-secret', retryCapMs: 200, timeoutMs: 2000 }],
    });
    // A gateway of this version creates the schema and stores a sale whose event waits (receiver down).
    const first = await pg_.start(config);
    const pushed = await fetch(`${first.url}/invoice`, {
      method: 'POST',
      headers: { authorization: deviceAuth },
      body: JSON.stringify({ invoices: [invoice(1, [{ productId: 'p1', qty: 1, total: 2 }])] }),
    });
    expect(await pushed.text()).toBe('true');
    await eventually(
      async () => (await queryRows<{ n: number }>(url, "SELECT count(*)::int AS n FROM outbox WHERE NOT dead AND (item->>'attempts')::int >= 1"))[0].n === 1,
      'a failed attempt',
    );
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    // The previous version takes the lead: its connections do not announce a writer schema.
    oldLeader = new pg.Client({ connectionString: url });
    await oldLeader.connect();
    expect((await oldLeader.query('SELECT pg_try_advisory_lock($1, $2) AS locked', LOCK_KEY)).rows[0].locked).toBe(true);
    await oldLeader.query(
      "UPDATE gateway_leader SET epoch = epoch + 1, url = 'http://127.0.0.1:9', holder = 'tabshop-gateway of the previous version', since = now()",
    );
    // It dismisses a dead letter the way it did: in the item only.
    await oldLeader.query(`INSERT INTO outbox (target, key, cash_register, seq, dead, item)
      SELECT target, 'TAB-1:99@99', cash_register, 99, true, (item::jsonb || jsonb_build_object('identifier', 'TAB-1:99', 'key', 'TAB-1:99@99',
        'dead', jsonb_build_object('at', now(), 'error', 'HTTP 422', 'status', 422, 'response', 'nope'),
        'dismissed', jsonb_build_object('at', now(), 'by', 'admin', 'reason', 'dismissed by the previous version')))::json
      FROM outbox LIMIT 1`);
    expect(await queryRows(url, "SELECT dismissed FROM outbox WHERE key = 'TAB-1:99@99'")).toEqual([{ dismissed: true }]);

    // A process of this version follows it, with the receiver up: the old leader delivers from its
    // memory, so this one must not claim the pending event (it would send it twice, out of order).
    receiver.down = false;
    const follower = await pg_.start(config);
    await eventually(() => follower.output().includes('a process of a previous version holds the database'), 'the new process noticing the old leader');
    await sleep(3_000); // several claim polls (1 s apart)
    expect(receiver.accepted).toEqual([]);

    // The old leader stops: this process leads and delivers the event, once.
    await oldLeader.end();
    oldLeader = undefined;
    await eventually(() => receiver!.accepted.length > 0, 'the event delivered by the new leader', 30_000);
    await eventually(
      async () => (await queryRows<{ n: number }>(url, 'SELECT count(*)::int AS n FROM outbox WHERE NOT dead'))[0].n === 0,
      'an empty outbox',
      30_000,
    );
    expect(receiver.accepted).toEqual(['TAB-1:1@1']);
    const dismissed = (await fetch(`${follower.url}/api/deadletters?state=dismissed`, { headers: { authorization: adminAuth } }).then((r) => r.json())) as {
      items: { key: string; resolution: string }[];
    };
    expect(dismissed.items.map((d) => [d.key, d.resolution])).toEqual([['TAB-1:99@99', 'dismissed by the previous version']]);
  });
});
