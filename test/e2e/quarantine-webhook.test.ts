import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { verifySignature } from '../../src/forward/webhook.js';
import { adminAuth, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';
import { eventually } from './bridge-helpers.js';

const SECRET = 'whsec-quarantine-1';
const servers: Server[] = [];
const gateways: TestGateway[] = [];
afterEach(async () => {
  for (const g of gateways.splice(0)) {
    await g.stop();
    await removeDir(g.dir);
  }
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A webhook endpoint whose first answer is a 500: the event must come again, byte for byte. */
async function receiver() {
  const received: { headers: IncomingHttpHeaders; raw: Buffer }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, raw: Buffer.concat(chunks) });
      res.statusCode = received.length === 1 ? 500 : 204;
      res.end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

async function start(webhook: Record<string, unknown>) {
  const gw = await startTestGateway({ webhooks: [{ secret: SECRET, retryCapMs: 50, ...webhook }] });
  gateways.push(gw);
  return gw;
}

const clockReset = invoice(77, [{ productId: 'a', qty: 1, total: 1 }], { date: '5000', customer: { name: 'Ada', address: 'secret street', email: '' } });

describe('webhook event quarantine.added', { timeout: 30_000 }, () => {
  it('is signed and delivered like sale events, with id, register, device, code, reason, receivedAt and never the payload', async () => {
    const hook = await receiver();
    const gw = await start({ url: hook.url });
    await gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: [clockReset] }) });
    await eventually(() => hook.received.length >= 2, 'the event, delivered again after a 500');
    const [first, second] = hook.received;
    expect(second.raw.equals(first.raw)).toBe(true);
    expect(verifySignature(second.raw, SECRET, String(second.headers['x-signature']))).toBe(true);
    expect(second.headers['x-event-type']).toBe('quarantine.added');
    const event = JSON.parse(second.raw.toString());
    const [item] = (await gw.json('/api/quarantine', { auth: adminAuth })).body.items;
    expect(event).toEqual({
      id: `${item.id}@quarantine`,
      type: 'quarantine.added',
      createdAt: item.at,
      quarantine: { id: item.id, register: 'TAB-1', device: 'tablet-1', code: 'invalid_invoice', reason: item.reason, receivedAt: item.at },
    });
    expect(second.raw.toString()).not.toContain('secret street');

    // The same item pushed again is counted, not announced again.
    await gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: [clockReset] }) });
    await gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: [invoice(78, [{ productId: 'a', qty: 1, total: 1 }])] }) });
    await eventually(() => hook.received.some((r) => r.headers['x-event-type'] === 'sale.created'), 'the next sale event');
    expect(hook.received.filter((r) => r.headers['x-event-type'] === 'quarantine.added')).toHaveLength(2);
  });

  it('is not sent to a webhook that lists only sale events', async () => {
    const hook = await receiver();
    const gw = await start({ url: hook.url, events: ['sale.created'] });
    await gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: [clockReset, invoice(79, [{ productId: 'a', qty: 1, total: 1 }])] }) });
    await eventually(() => hook.received.length >= 2, 'the sale event');
    expect(hook.received.map((r) => r.headers['x-event-type'])).toEqual(['sale.created', 'sale.created']);
    expect((await gw.json('/api/outbox', { auth: adminAuth })).body.depth).toBe(0);
  });
});
