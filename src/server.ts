import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import type { Gateway } from './gateway.js';

export interface RunningServer {
  server: Server;
  url: string;
  /** Stop accepting, finish in-flight requests (bounded), flush and release the data dir. */
  stop(graceMs?: number): Promise<void>;
}

export async function startServer(gateway: Gateway, host: string, port: number): Promise<RunningServer> {
  const server = createServer(createApp(gateway));
  // Tablets on shop Wi-Fi are slow but not that slow; these bound what a stalled client can hold.
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
  let stopping: Promise<void> | null = null;
  return {
    server,
    url: `http://${shownHost}:${address.port}`,
    stop: (graceMs = 8_000) => (stopping ??= stop(server, gateway, graceMs)),
  };
}

async function stop(server: Server, gateway: Gateway, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
  await gateway.close();
}
