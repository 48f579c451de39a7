import type { RequestHandler } from 'express';
import type { Gateway } from '../gateway.js';
import type { GatewayEventMap } from '../events.js';

const WATCHED: (keyof GatewayEventMap)[] = ['push', 'sale.changed', 'quarantine', 'outbox.deadletter', 'outbox.delivered'];
const HEARTBEAT_MS = 15_000;

/** Every open dashboard stream of a gateway, behind one listener per event (not one per stream and event). */
interface Streams {
  changed: Set<() => void>;
  stopping: Set<() => void>;
}

const streamsOf = new WeakMap<Gateway, Streams>();

/**
 * The gateway's events fanned out to its open streams. Listening once per gateway keeps the
 * emitter's listener count constant however many dashboards are open (Node warns past ten).
 */
function streams(gateway: Gateway): Streams {
  let s = streamsOf.get(gateway);
  if (!s) {
    const created: Streams = { changed: new Set(), stopping: new Set() };
    const changed = () => {
      for (const fn of created.changed) fn();
    };
    for (const name of WATCHED) gateway.events.on(name, changed);
    gateway.catalog.onChange(changed);
    gateway.events.on('http.stopping', () => {
      for (const fn of created.stopping) fn();
    });
    streamsOf.set(gateway, (s = created));
  }
  return s;
}

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
    const end = () => res.end();
    const { changed: listeners, stopping } = streams(gateway);
    listeners.add(changed);
    stopping.add(end);
    const tick = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    res.on('close', () => {
      stopping.delete(end);
      listeners.delete(changed);
      clearInterval(tick);
      if (pending) clearTimeout(pending);
    });
  };
}
