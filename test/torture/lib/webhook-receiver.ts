/**
 * A webhook receiver on 127.0.0.1 that records every delivery, and the check of those deliveries
 * against the stored sales: every sale change delivered exactly once by event id.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Delivery {
  id: string;
  type: string;
  /** The sale's identifier (sale events) or the quarantine entry's id. */
  identifier: string;
  status: string | null;
  version: number | null;
  /** The raw body: a repeated event id must carry the same event. */
  body: string;
}

export interface WebhookReceiver {
  url: string;
  /** Every delivery answered 2xx, in arrival order (repeats included). */
  deliveries: Delivery[];
  close(): Promise<void>;
}

/** Answers every delivery 204 and records it. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const event = JSON.parse(body) as {
        id: string;
        type: string;
        sale?: { identifier: string; status: string; version?: number };
        quarantine?: { id: string };
      };
      deliveries.push({
        id: event.id,
        type: event.type,
        identifier: event.sale?.identifier ?? event.quarantine?.id ?? '',
        status: event.sale?.status ?? null,
        version: event.sale?.version ?? null,
        body,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    deliveries,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

export interface WebhookCheck {
  /** A stored sale change never delivered. */
  lost: string[];
  /** A sale change delivered under two event ids, or a sale created twice. */
  duplicated: string[];
  /** An event for a sale that is not stored, or one event id carrying two different events. */
  wrong: string[];
  /** Deliveries of an event id already delivered (allowed: delivery is at least once, deduplicated by id). */
  repeats: number;
  distinctEvents: number;
}

/**
 * Every change of every stored sale (versions 1..version, the first `sale.created`, the last with
 * the stored status) delivered under exactly one event id; nothing delivered for a sale that is
 * not stored. `sales`: as `GET /api/sales` lists them.
 */
export function checkWebhookDeliveries(sales: { identifier: string; status: string; version: number }[], deliveries: Delivery[]): WebhookCheck {
  const check: WebhookCheck = { lost: [], duplicated: [], wrong: [], repeats: 0, distinctEvents: 0 };
  const byId = new Map<string, Delivery>();
  for (const d of deliveries) {
    const first = byId.get(d.id);
    if (!first) byId.set(d.id, d);
    else {
      check.repeats++;
      if (first.body !== d.body) check.wrong.push(`event ${d.id} delivered with two different bodies`);
    }
  }
  check.distinctEvents = byId.size;
  const saleEvents = new Map<string, Delivery[]>();
  for (const d of byId.values()) {
    if (!d.type.startsWith('sale.')) continue;
    const list = saleEvents.get(d.identifier) ?? [];
    list.push(d);
    saleEvents.set(d.identifier, list);
  }
  const stored = new Map(sales.map((s) => [s.identifier, s]));
  for (const id of saleEvents.keys()) if (!stored.has(id)) check.wrong.push(`events for ${id}, which is not stored`);
  for (const sale of sales) {
    const events = saleEvents.get(sale.identifier) ?? [];
    const versions = new Map<number, string[]>();
    for (const e of events) versions.set(e.version ?? -1, [...(versions.get(e.version ?? -1) ?? []), e.id]);
    for (let v = 1; v <= sale.version; v++) {
      const ids = versions.get(v) ?? [];
      if (ids.length === 0) check.lost.push(`${sale.identifier} version ${v} never delivered`);
      if (ids.length > 1) check.duplicated.push(`${sale.identifier} version ${v} delivered as ${ids.join(', ')}`);
    }
    for (const v of versions.keys())
      if (v < 1 || v > sale.version) check.wrong.push(`${sale.identifier}: an event of version ${v}, stored version ${sale.version}`);
    const created = events.filter((e) => e.type === 'sale.created');
    if (created.length > 1) check.duplicated.push(`${sale.identifier} created ${created.length} times (${created.map((e) => e.id).join(', ')})`);
    const last = events.find((e) => e.version === sale.version);
    if (last && last.status !== sale.status) check.wrong.push(`${sale.identifier}: last event says ${last.status}, stored ${sale.status}`);
  }
  return check;
}
