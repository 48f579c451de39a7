import { pino, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

/** Secrets never reach a log line: credentials, Authorization headers and hashes are censored. */
export const REDACT_PATHS = [
  'req.headers.authorization', 'headers.authorization', 'authorization',
  'password', 'passwordHash', '*.password', '*.passwordHash', '*.*.password', '*.*.passwordHash',
  'upstream.password', 'upstream.apiKey', 'apiKey', '*.apiKey', 'secret', '*.secret', '*.*.secret',
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
    return pino(options, pinoPretty({
      destination: destination ?? 1,
      sync: true,
      colorize: destination === undefined && pinoPretty.isColorSupported,
      translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
      ignore: 'pid,hostname,name',
    }));
  }
  // stdout: written asynchronously (a request never waits for a write(2) of its log line; lines
  // written while one write is in flight go out together). pino registers a synchronous flush on
  // process exit for such a destination, so nothing is lost on a graceful stop or process.exit().
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}
