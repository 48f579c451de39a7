import { connect } from 'node:net';

/**
 * A raw HTTP/1.1 client over a plain socket, for requests no well-behaved client sends: broken
 * request lines, oversized or invalid headers, bodies that lie about their length, bodies sent a
 * few bytes at a time. It always asks for `Connection: close` semantics (it reads until the
 * server closes) unless the request bytes say otherwise, and never retries.
 */
export interface RawRequest {
  /** The whole request head including the blank line, or the bytes to send as they are. */
  head: string | Buffer;
  /** Body parts; with `gapMs` each part is written after a pause (a slow body). */
  body?: (string | Buffer)[];
  gapMs?: number;
  /** Close our side after sending everything (the server then sees a truncated body). */
  abortAfterSend?: boolean;
  /** Source address on the loopback (127.0.0.x): keeps failed-login throttling off the tablets' address. */
  localAddress?: string;
  timeoutMs?: number;
}

export type RawResult =
  | { kind: 'response'; status: number; headers: Record<string, string>; body: Buffer; ms: number }
  /** The server closed the connection without answering (or we aborted and it said nothing). */
  | { kind: 'closed'; ms: number }
  | { kind: 'timeout'; ms: number }
  | { kind: 'error'; code: string; ms: number };

export function rawRequest(host: string, port: number, req: RawRequest): Promise<RawResult> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const socket = connect({ host, port, localAddress: req.localAddress });
    const finish = (r: RawResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout', ms: ms() }), req.timeoutMs ?? 30_000);
    socket.on('data', (c) => {
      chunks.push(c);
      const parsed = parseResponse(Buffer.concat(chunks), false);
      if (parsed) finish({ kind: 'response', ...parsed, ms: ms() });
    });
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      if (all.length === 0) return finish({ kind: 'closed', ms: ms() });
      const parsed = parseResponse(all, true);
      finish(parsed ? { kind: 'response', ...parsed, ms: ms() } : { kind: 'error', code: 'unparseable_response', ms: ms() });
    });
    socket.on('close', () => finish(chunks.length ? { kind: 'error', code: 'unparseable_response', ms: ms() } : { kind: 'closed', ms: ms() }));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A reset after (part of) an answer still counts as that answer.
      const parsed = chunks.length ? parseResponse(Buffer.concat(chunks), true) : null;
      if (parsed) return finish({ kind: 'response', ...parsed, ms: ms() });
      finish(err.code === 'ECONNRESET' || err.code === 'EPIPE' ? { kind: 'closed', ms: ms() } : { kind: 'error', code: err.code ?? err.message, ms: ms() });
    });
    socket.on('connect', async () => {
      try {
        socket.write(typeof req.head === 'string' ? Buffer.from(req.head, 'latin1') : req.head);
        for (const part of req.body ?? []) {
          if (done) return;
          if (req.gapMs) await new Promise((r) => setTimeout(r, req.gapMs));
          if (done || socket.destroyed) return;
          socket.write(part);
        }
        if (req.abortAfterSend && !done) {
          await new Promise((r) => setTimeout(r, 20));
          if (!done) finish({ kind: 'closed', ms: ms() });
        }
      } catch {
        /* the socket error handler reports it */
      }
    });
  });
}

/** Parses one response; null while incomplete (or, at end of stream, if it cannot be parsed). */
function parseResponse(buf: Buffer, atEnd: boolean): { status: number; headers: Record<string, string>; body: Buffer } | null {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) return null;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const status = Number(m[1]);
  const rest = buf.subarray(headEnd + 4);
  if (status === 304 || status === 204 || (status >= 100 && status < 200)) return { status, headers, body: Buffer.alloc(0) };
  if (headers['content-length'] !== undefined) {
    const len = Number(headers['content-length']);
    if (rest.length < len) return atEnd ? { status, headers, body: rest } : null;
    return { status, headers, body: rest.subarray(0, len) };
  }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const body = dechunk(rest);
    return body ? { status, headers, body } : atEnd ? { status, headers, body: rest } : null;
  }
  return atEnd ? { status, headers, body: rest } : null;
}

function dechunk(buf: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return null;
    const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) return null;
    if (size === 0) return Buffer.concat(parts);
    if (buf.length < eol + 2 + size + 2) return null;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** Builds a request head; `headers` values are written verbatim (bytes as latin1). */
export function head(method: string, path: string, headers: [string, string][], version = 'HTTP/1.1'): string {
  return `${method} ${path} ${version}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}
