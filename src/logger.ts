import { pino, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

/** Secrets never reach a log line: credentials, Authorization headers and hashes are censored. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'password',
  'passwordHash',
  '*.password',
  '*.passwordHash',
  '*.*.password',
  '*.*.passwordHash',
  'upstream.password',
  'upstream.apiKey',
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
  '*.*.secret',
];

export interface LoggerOptions {
  /** Human-readable lines instead of JSON; default: when stdout is a terminal. */
  pretty?: boolean;
}

/**
 * JSON lines for machines (journald, log shippers); pretty lines for a person at a terminal.
 * pino-pretty runs in-process and synchronously, so nothing is lost on exit; JSON lines to stdout
 * are written asynchronously and flushed synchronously when the process exits.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream, opts: LoggerOptions = {}): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { name: 'tabshop-gateway' } };
  const pretty = opts.pretty ?? (destination === undefined && process.stdout.isTTY === true);
  if (pretty) {
    return pino(
      options,
      pinoPretty({
        destination: destination ?? 1,
        sync: true,
        colorize: destination === undefined && pinoPretty.isColorSupported,
        translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
        ignore: 'pid,hostname,name',
      }),
    );
  }
  return pino(options, destination ?? stdoutDestination());
}

/** Lines wait at most this long in memory before they are written. */
const FLUSH_MS = 100;

/**
 * stdout in batches: lines collect in memory and are written with one write(2) per 4 KB, and
 * at least every FLUSH_MS, on the event loop's own thread (a write to a file or pipe only copies
 * into the kernel; a thread-pool write would cost two hand-offs per batch). The buffer is flushed
 * synchronously when the process exits (graceful stop, process.exit, uncaught error), so only a
 * SIGKILL can lose the last FLUSH_MS of lines (logs are not the durability path; the journal
 * and the store are).
 */
function stdoutDestination() {
  const dest = pino.destination({ dest: 1, sync: true, minLength: 4096 });
  // Only flush after a write: flushing an empty buffer would be a write(2) of nothing. sonic-boom's
  // buffered length is private, so the destination's own writes are noted on the way in.
  let written = false;
  let closed = false;
  dest.once('close', () => (closed = true));
  const write = dest.write.bind(dest);
  dest.write = (chunk: string) => {
    written = true;
    return write(chunk);
  };
  // In sync mode flush() writes the buffer at once (flushSync would also fsync stdout).
  const flush = () => {
    if (written && !closed) dest.flush();
    written = false;
  };
  const timer = setInterval(flush, FLUSH_MS);
  timer.unref();
  process.on('exit', flush);
  return dest;
}
