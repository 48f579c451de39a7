import { pino, type Logger } from 'pino';

/** Secrets never reach a log line: credentials, Authorization headers and hashes are censored. */
export const REDACT_PATHS = [
  'req.headers.authorization', 'headers.authorization', 'authorization',
  'password', 'passwordHash', '*.password', '*.passwordHash', '*.*.password', '*.*.passwordHash',
  'upstream.password', 'upstream.apiKey', 'secret', '*.secret',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { name: 'tabshop-gateway' } },
    destination as never);
}
