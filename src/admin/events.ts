import type { RequestHandler } from 'express';
import type { Gateway } from '../gateway.js';
import type { GatewayEventMap } from '../events.js';

const WATCHED: (keyof GatewayEventMap)[] = ['push', 'sale.changed', 'quarantine', 'outbox.deadletter', 'outbox.delivered'];
const HEARTBEAT_MS = 15_000;

/**
 * Server-Sent Events: one `change` event (coalesced) whenever a tablet pushes or anything on the
 * dashboard may have changed; the page script then fetches the page again. Streams end when the
 * server stops, so a graceful stop never waits for an open dashboard.
 */
export function eventStream(gateway: Gateway): RequestHandler {
  return (_req, res) => {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    });
    res.write('retry: 2000\n\n');
    let pending: NodeJS.Timeout | null = null;
    const changed = () => {
      pending ??= setTimeout(() => {
        pending = null;
        res.write(`event: change\ndata: ${Date.now()}\n\n`);
      }, 50);
    };
    for (const name of WATCHED) gateway.events.on(name, changed);
    const catalogOff = gateway.catalog.onChange(changed);
    const end = () => res.end();
    gateway.events.once('http.stopping', end);
    const tick = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    res.on('close', () => {
      gateway.events.off('http.stopping', end);
      clearInterval(tick);
      if (pending) clearTimeout(pending);
      for (const name of WATCHED) gateway.events.off(name, changed);
      catalogOff();
    });
  };
}
