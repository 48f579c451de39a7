import { Agent, request, type IncomingHttpHeaders, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';

/** Set on every forwarded request: a process that does not lead never forwards one again (no loops). */
export const FORWARDED_HEADER = 'x-tabshop-gateway-forwarded';

/** Connection-level headers: they describe one hop, never the next (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);
const PROXIED_TIMEOUT_MS = 130_000;
const WARN_EVERY_MS = 60_000;

function send(res: ServerResponse, err: AppError, retryAfterSeconds?: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(err.toBody());
  res.writeHead(err.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...(retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) }),
  });
  res.end(body);
}

function healthz(res: ServerResponse, role: string, startedAt: number): void {
  const body = JSON.stringify({ status: 'ok', role, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) });
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const isHealthz = (req: IncomingMessage) => req.method === 'GET' && (req.url === '/healthz' || req.url?.startsWith('/healthz?'));

/** While this process opens the store (it leads, or is about to): alive, not ready. */
export function startingHandler(): RequestListener {
  const startedAt = Date.now();
  return (req, res) => {
    req.resume();
    if (isHealthz(req)) return healthz(res, 'starting', startedAt);
    send(res, new AppError('not_ready', 'the gateway is opening its store; retry shortly'), 2);
  };
}

function forwardedHeaders(req: IncomingMessage): IncomingHttpHeaders {
  const named = new Set(
    String(req.headers.connection ?? '')
      .toLowerCase()
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean),
  );
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!HOP_BY_HOP.has(name) && !named.has(name)) headers[name] = value;
  }
  const from = req.socket.remoteAddress;
  headers['x-forwarded-for'] = [req.headers['x-forwarded-for'], from].filter(Boolean).join(', ');
  if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;
  headers['x-forwarded-proto'] ??= 'http';
  headers[FORWARDED_HEADER] = '1';
  return headers;
}

/** One line a minute per leader: an unreachable advertiseUrl must not flood the log. */
function throttledWarning(log: Logger): (leader: string, err: Error) => void {
  const last = { leader: '', at: 0, skipped: 0 };
  return (leader, err) => {
    const now = Date.now();
    if (leader === last.leader && now - last.at < WARN_EVERY_MS) {
      last.skipped++;
      return;
    }
    log.warn({ err: err.message, leader, failedSinceLastLine: last.skipped }, 'could not forward a request to the leading gateway process');
    Object.assign(last, { leader, at: now, skipped: 0 });
  };
}

/**
 * A process that does not lead the database forwards every request to the one that does (its
 * advertised URL), body and answer streamed as they are, so tablets and the back office get the
 * same answers from any process. Without a reachable leader: 503 not_ready with Retry-After, and
 * the tablet sends again (nothing it was not told is stored is lost).
 */
export function followerHandler(opts: { leaderUrl: () => string | null; log: Logger }): { handler: RequestListener; close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const startedAt = Date.now();
  const warnUnreachable = throttledWarning(opts.log);
  const handler: RequestListener = (req, res) => {
    if (isHealthz(req)) {
      req.resume();
      return healthz(res, 'follower', startedAt);
    }
    const leader = opts.leaderUrl();
    if (req.headers[FORWARDED_HEADER] !== undefined || !leader) {
      req.resume();
      const why = leader
        ? 'the request was forwarded by another gateway process, and this one does not lead the database either'
        : 'no gateway process leads the database right now';
      return send(res, new AppError('not_ready', `${why}; retry shortly`), 1);
    }
    // The path goes as it came, never through URL resolution: `//host/x` must not name another host.
    const target = new URL(leader);
    let upstream: ReturnType<typeof request>;
    try {
      upstream = request({
        protocol: target.protocol,
        hostname: target.hostname.replace(/^\[|\]$/g, ''),
        port: target.port,
        path: req.url ?? '/',
        method: req.method,
        headers: forwardedHeaders(req),
        agent,
        timeout: PROXIED_TIMEOUT_MS,
      });
    } catch (err) {
      // Something Node's server let through but its client refuses to send (a header value).
      req.resume();
      return send(res, new AppError('bad_request', `the request cannot be forwarded: ${(err as Error).message}`));
    }
    upstream.on('timeout', () => upstream.destroy(new Error('the leading gateway process did not answer in time')));
    let answered = false;
    upstream.on('response', (answer: IncomingMessage) => {
      answered = true;
      const headers: IncomingHttpHeaders = {};
      for (const [name, value] of Object.entries(answer.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
      res.writeHead(answer.statusCode ?? 502, headers);
      pipeline(answer, res, () => undefined);
    });
    upstream.on('error', (err) => {
      // The leader answered before reading the whole body (413, 401): the answer still goes out whole.
      if (answered) return;
      warnUnreachable(target.origin, err);
      send(res, new AppError('not_ready', 'the gateway process that leads the database did not answer; retry shortly'), 1);
    });
    // pipe, not pipeline: a leader that stops reading early must not take the client's socket down
    // with its answer still on the way. A client gone mid-body cancels the forwarded request.
    req.pipe(upstream);
    req.on('close', () => {
      if (!req.complete) upstream.destroy();
    });
  };
  return { handler, close: () => agent.destroy() };
}
