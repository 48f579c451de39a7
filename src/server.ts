import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import type { Gateway } from './gateway.js';

export interface RunningServer {
  server: Server;
  url: string;
  /** Stop accepting, finish in-flight requests (bounded), flush and release the data dir. */
  stop(graceMs?: number): Promise<StopReport>;
}

export interface StopReport {
  /** Connections were still open when the grace period ended, and were cut. */
  cutAfterGrace: boolean;
}

export async function startServer(gateway: Gateway, host: string, port: number): Promise<RunningServer> {
  const { server, url } = await listen(createApp(gateway), host, port);
  return stoppable(
    server,
    url,
    () => gateway.close(),
    () => endStreams(gateway),
  );
}

/** At the start of a graceful stop: the responses that never end by themselves (live streams) end. */
export function endStreams(gateway: Pick<Gateway, 'events' | 'kitchen'>): void {
  gateway.events.emit('http.stopping');
  gateway.kitchen?.kitchen.endStreams();
}

/** An HTTP server listening on host:port with the timeouts below; its URL as clients reach it. */
export async function listen(listener: RequestListener, host: string, port: number): Promise<{ server: Server; url: string }> {
  const server = createServer(listener);
  // Tablets on shop Wi-Fi are slow but not that slow; these bound what a stalled client can hold.
  // headers: 30 s to send the request head; request: 2 min for a whole push (a large backlog
  // over weak Wi-Fi); keep-alive: 65 s idle, longer than the 60 s of common proxies and load
  // balancers in front, so the proxy always closes first and never reuses a closed socket.
  server.headersTimeout = 30_000;
  server.requestTimeout = 120_000;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { server, url: `http://${shownHost}:${address.port}` };
}

/**
 * `release` runs once the server has stopped: flush and release the store. `stopping` runs as
 * it begins: end the responses that never end by themselves (the kitchen's live streams).
 */
export function stoppable(server: Server, url: string, release: () => Promise<void>, stopping?: () => void): RunningServer {
  let stopped: Promise<StopReport> | null = null;
  return {
    server,
    url,
    stop: (graceMs = 7_000) =>
      (stopped ??= (() => {
        const done = stop(server, release, graceMs);
        stopping?.();
        return done;
      })()),
  };
}

/**
 * Stops accepting, lets in-flight requests finish (keep-alive connections are closed as soon as
 * they fall idle, not when their keep-alive timeout ends), cuts whatever is still open after
 * graceMs, then flushes and releases the data dir. The CLI adds a hard limit on top.
 */
async function stop(server: Server, release: () => Promise<void>, graceMs: number): Promise<StopReport> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const sweeper = setInterval(() => server.closeIdleConnections(), 100);
  let cutAfterGrace = false;
  const timer = setTimeout(() => {
    cutAfterGrace = true;
    server.closeAllConnections();
  }, graceMs);
  await closed;
  clearInterval(sweeper);
  clearTimeout(timer);
  await release();
  return { cutAfterGrace };
}
