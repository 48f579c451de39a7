import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { startKitchenListener, type KitchenListener, type KitchenListenerOptions } from '../../src/kitchen/listener.js';
import type { TestGateway } from '../helpers.js';

/**
 * Sends one kitchen message exactly as a TabShop tablet does: connect, write the bytes (in
 * `pieces` writes, `gapMs` apart), half-close, never read. Resolves once the gateway closed the
 * connection (it does so only after the message is stored).
 */
export async function sendLikeTablet(port: number, bytes: Buffer | string, opts: { pieces?: number; gapMs?: number; halfClose?: boolean } = {}): Promise<void> {
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  const socket = connect({ host: '127.0.0.1', port });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => undefined); // a refused or reset connection just closes
  await new Promise<void>((resolve) => {
    socket.once('connect', () => resolve());
    socket.once('close', () => resolve());
  });
  if (!socket.destroyed) {
    const pieces = Math.max(1, Math.min(opts.pieces ?? 1, data.length || 1));
    const size = Math.ceil(data.length / pieces);
    for (let off = 0; off < data.length; off += size) {
      socket.write(data.subarray(off, off + size));
      if (opts.gapMs) await delay(opts.gapMs);
    }
    if (opts.halfClose !== false) socket.end();
  }
  await closed;
}

/** A connection that sends nothing and never closes (until the gateway gives up on it). */
export async function silentConnection(port: number): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.on('close', () => resolve()));
}

/** The kitchen listener of a test gateway, on an ephemeral port (test helpers never open 8090). */
export function listenerFor(gw: TestGateway, opts: Partial<KitchenListenerOptions> = {}): Promise<KitchenListener> {
  const { kitchen } = gw.gateway.kitchen!;
  return startKitchenListener(kitchen, { host: '127.0.0.1', port: 0, ratePerSecond: 1000, ...opts }, gw.gateway.logger, gw.gateway.events);
}

export const order = (table: string, positions: { product: string; amount: string | number }[]) => JSON.stringify({ table, positions });

/** Reads Server-Sent Events off a fetch body. */
export function eventReader(res: Response) {
  const events: { id?: string; event: string; data: string }[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = res.body!.getReader();
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let at: number;
      while ((at = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        const e: { id?: string; event: string; data: string } = { event: 'message', data: '' };
        for (const line of block.split('\n')) {
          const [k, ...v] = line.split(': ');
          if (k === 'id') e.id = v.join(': ');
          else if (k === 'event') e.event = v.join(': ');
          else if (k === 'data') e.data = v.join(': ');
        }
        if (!block.startsWith(':') && !block.startsWith('retry')) events.push(e);
        else if (block.startsWith('retry')) events.push({ ...e, event: e.event === 'message' ? 'retry' : e.event });
      }
    }
  })();
  return {
    events,
    orders: () => events.filter((e) => e.event === 'order').map((e) => ({ ...JSON.parse(e.data), eventId: e.id as string })),
    async waitFor(pred: () => boolean, ms = 3000) {
      const until = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > until) throw new Error(`timed out; events: ${JSON.stringify(events)}`);
        await delay(10);
      }
    },
    close: async () => {
      await reader.cancel().catch(() => undefined);
      await pump;
    },
  };
}
