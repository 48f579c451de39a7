import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { GatewayEvents } from '../events.js';
import { AllowList, plainAddress } from './allow-list.js';
import type { Kitchen, ReceivedMessage } from './kitchen.js';
import { AddressRateLimit } from './rate-limit.js';

export const MAX_MESSAGE_BYTES = 64 * 1024;
export const MESSAGE_TIMEOUT_MS = 10_000;
const MAX_CONNECTIONS = 256;
const REFUSAL_LOG_INTERVAL_MS = 10_000;

export interface KitchenListenerOptions {
  host: string;
  port: number;
  allow?: string[];
  ratePerSecond: number;
  /** Tests shorten these; production keeps the protocol's bounds. */
  maxBytes?: number;
  timeoutMs?: number;
  now?: () => Date;
}

export interface KitchenListener {
  /** Where tablets connect (the bound port when 0 was asked). */
  host: string;
  port: number;
  /** Stops accepting; a message still arriving is stored as received so far (rejected: interrupted). */
  close(): Promise<void>;
}

type RefusalReason = 'not_allowed' | 'rate_limited' | 'busy';

/**
 * The kitchen port, as TabShop's kitchen display app has it: a tablet connects, writes one JSON
 * object, closes its side and reads nothing. Every connection from an allowed address is read to
 * EOF (at most maxBytes, at most timeoutMs), stored with its bytes, then closed. Nothing is ever
 * written back. No input can stop the listener: every failure ends one connection only.
 */
export async function startKitchenListener(kitchen: Kitchen, opts: KitchenListenerOptions, logger: Logger, events: GatewayEvents): Promise<KitchenListener> {
  const log = logger.child({ component: 'kitchen' });
  const allow = new AllowList(opts.allow);
  const limit = new AddressRateLimit(opts.ratePerSecond);
  const maxBytes = opts.maxBytes ?? MAX_MESSAGE_BYTES;
  const timeoutMs = opts.timeoutMs ?? MESSAGE_TIMEOUT_MS;
  const now = opts.now ?? (() => new Date());
  const open = new Set<(problem: ReceivedMessage['problem']) => void>();
  const storing = new Set<Promise<unknown>>();
  const lastRefusalLog = new Map<string, { at: number; suppressed: number }>();

  const refuse = (socket: Socket | null, address: string, reason: RefusalReason) => {
    socket?.destroy();
    events.emit('kitchen.message', { outcome: 'refused', reason, source: address });
    const key = `${address} ${reason}`;
    const t = Date.now();
    const seen = lastRefusalLog.get(key);
    if (seen && t - seen.at < REFUSAL_LOG_INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    lastRefusalLog.set(key, { at: t, suppressed: 0 });
    log.warn(
      { event: 'kitchen.refused', source: address, reason, suppressedBefore: seen?.suppressed ?? 0 },
      `kitchen connection from ${address} refused (${reason})`,
    );
  };

  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const source = plainAddress(socket.remoteAddress);
    if (!allow.admits(source)) return refuse(socket, source, 'not_allowed');
    if (!limit.take(source)) return refuse(socket, source, 'rate_limited');
    const chunks: Buffer[] = [];
    let size = 0;
    let finished = false;
    const finish = (problem?: ReceivedMessage['problem']) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      open.delete(finish);
      socket.pause();
      const stored = kitchen
        .receive({ bytes: Buffer.concat(chunks, size), source, at: now(), problem })
        .catch((err) => log.error({ err, source }, 'could not store a kitchen message'))
        .finally(() => {
          storing.delete(stored);
          // No reply by protocol: close our side once the message is stored.
          if (problem) socket.destroy();
          else socket.end(() => socket.destroy());
        });
      storing.add(stored);
    };
    const timer = setTimeout(() => finish({ code: 'timeout', reason: `the message did not end within ${timeoutMs / 1000} s` }), timeoutMs);
    open.add(finish);
    socket.on('data', (chunk: Buffer) => {
      if (finished) return;
      const room = maxBytes - size;
      if (chunk.length > room) {
        chunks.push(chunk.subarray(0, room));
        size += room;
        return finish({ code: 'too_large', reason: `the message is larger than ${maxBytes} bytes`, truncated: true });
      }
      chunks.push(chunk);
      size += chunk.length;
    });
    socket.on('end', () => finish());
    socket.on('error', (err: NodeJS.ErrnoException) =>
      finish({ code: 'interrupted', reason: `the connection failed before the message ended (${err.code ?? err.message})` }),
    );
    socket.on('close', () => finish({ code: 'interrupted', reason: 'the connection closed before the message ended' }));
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.on('drop', (data) => refuse(null, plainAddress(data?.remoteAddress), 'busy'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After start-up (e.g. EMFILE when accepting): logged, the listener goes on.
  server.on('error', (err) => log.error({ err }, 'kitchen listener error'));
  const sweeper = setInterval(() => {
    limit.sweep();
    const t = Date.now();
    for (const [key, v] of lastRefusalLog) if (t - v.at > REFUSAL_LOG_INTERVAL_MS) lastRefusalLog.delete(key);
  }, 60_000);
  sweeper.unref();

  const address = server.address() as AddressInfo;
  log.info({ host: address.address, port: address.port, allow: opts.allow ?? 'any address' }, 'kitchen display listening for TabShop kitchen orders (raw TCP)');
  let closing: Promise<void> | null = null;
  return {
    host: address.address,
    port: address.port,
    close: () =>
      (closing ??= (async () => {
        clearInterval(sweeper);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const finish of [...open]) finish({ code: 'interrupted', reason: 'the gateway stopped before the message ended' });
        while (storing.size > 0) await Promise.all([...storing]);
        await closed;
      })()),
  };
}

/** The gateway's kitchen listener as configured; null without `kitchen` or with KITCHEN_PORT=off. Throws when the port cannot be bound. */
export async function startConfiguredKitchenListener(gateway: {
  config: { kitchen?: { host: string; port: number | null; allow?: string[]; ratePerSecond: number } };
  kitchen?: { kitchen: Kitchen };
  logger: Logger;
  events: GatewayEvents;
  now: () => Date;
}): Promise<KitchenListener | null> {
  const cfg = gateway.config.kitchen;
  if (!cfg || !gateway.kitchen) return null;
  if (cfg.port === null) {
    gateway.logger.info('kitchen listener off (KITCHEN_PORT=off): the kitchen screen and API work, no orders are received by this process');
    return null;
  }
  try {
    return await startKitchenListener(
      gateway.kitchen.kitchen,
      { host: cfg.host, port: cfg.port, allow: cfg.allow, ratePerSecond: cfg.ratePerSecond, now: gateway.now },
      gateway.logger,
      gateway.events,
    );
  } catch (err) {
    throw new Error(`cannot listen for kitchen orders on ${cfg.host}:${cfg.port}: ${(err as Error).message}`);
  }
}
