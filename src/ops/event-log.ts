import type { Logger } from 'pino';
import type { GatewayEventMap, GatewayEvents } from '../events.js';
import { safeTarget, safeText } from './safe-target.js';

type Listeners = { [K in keyof GatewayEventMap]?: (...args: GatewayEventMap[K]) => void };

/**
 * One log line per notable event, so that "why did this tablet stop syncing" can be answered
 * from the log: push outcome counts, quarantine and collisions, upstream errors and breaker
 * changes, outbox retries and dead letters. Returns a function that unsubscribes.
 */
export function attachEventLog(events: GatewayEvents, logger: Logger): () => void {
  const log = logger.child({ component: 'events' });
  // A push line holds a device name, a register and counts, nothing that redaction could hide: it skips it.
  const pushLog = logger.child({ component: 'events' }, { redact: [] });
  const listeners: Listeners = {
    push: ({ device, cashRegisterName, summary }) => {
      const level = summary.quarantined > 0 ? 'warn' : summary.received > 0 ? 'info' : 'debug';
      if (!pushLog.isLevelEnabled(level)) return;
      pushLog[level](
        { event: 'push', device, register: cashRegisterName, ...summary },
        `push from ${device}: ${summary.received} received, ${summary.created} created, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.quarantined} quarantined`,
      );
    },
    quarantine: ({ id, code, reason, cashRegisterName, device }) => {
      log.warn(
        { event: code === 'collision' ? 'collision' : 'quarantine', id, code, register: cashRegisterName, device, reason: safeText(reason) },
        code === 'collision' ? `invoice id collision quarantined (${id}); the stored sale is untouched` : `quarantined ${id}: ${safeText(reason)}`,
      );
    },
    'upstream.request': ({ method, path, status, ms, error }) => {
      const failed = status === null || status >= 500 || error !== undefined;
      const fields = { event: 'upstream.request', method, path: path.split('?')[0], status, ms, ...(error ? { error: safeText(error) } : {}) };
      if (failed) log.warn(fields, `upstream ${method} ${fields.path} failed: ${error ? safeText(error) : `status ${status}`}`);
      else log.debug(fields, `upstream ${method} ${fields.path} ${status}`);
    },
    'upstream.breaker': ({ state, failures }) => {
      const level = state === 'open' ? 'error' : state === 'half-open' ? 'warn' : 'info';
      log[level](
        { event: 'upstream.breaker', state, failures },
        state === 'open'
          ? `upstream circuit breaker open after ${failures} failures; sales wait in the outbox`
          : state === 'half-open'
            ? 'upstream circuit breaker half-open; trying one request'
            : 'upstream circuit breaker closed; upstream is reachable again',
      );
    },
    'outbox.retry': ({ target, identifier, attempts, error, nextAttemptAt }) => {
      log.warn(
        { event: 'outbox.retry', target: safeTarget(target), identifier, attempts, error: safeText(error), nextAttemptAt: nextAttemptAt.toISOString() },
        `delivery of ${identifier} to ${safeTarget(target)} failed (attempt ${attempts}); retrying at ${nextAttemptAt.toISOString()}`,
      );
    },
    'outbox.delivered': ({ target, identifier, attempts }) => {
      log.debug({ event: 'outbox.delivered', target: safeTarget(target), identifier, attempts }, `delivered ${identifier} to ${safeTarget(target)}`);
    },
    'outbox.deadletter': ({ target, identifier, attempts, error }) => {
      log.error(
        { event: 'outbox.deadletter', target: safeTarget(target), identifier, attempts, error: safeText(error) },
        `${safeTarget(target)} rejected ${identifier} permanently; moved to the dead letters (retry or dismiss it from /status)`,
      );
    },
    'catalog.synced': ({ version, changes, full }) => {
      log[changes > 0 ? 'info' : 'debug'](
        { event: 'catalog.synced', version, changes, full },
        `catalogue synced from upstream: ${changes} changes, version ${version}`,
      );
    },
  };
  const entries = Object.entries(listeners) as [keyof GatewayEventMap, (...args: unknown[]) => void][];
  // A log line must never break the producer (listeners must not throw).
  const safe = entries.map(
    ([name, fn]) =>
      [
        name,
        (...args: unknown[]) => {
          try {
            fn(...args);
          } catch {
            /* ignore */
          }
        },
      ] as const,
  );
  for (const [name, fn] of safe) events.on(name, fn as never);
  return () => {
    for (const [name, fn] of safe) events.off(name, fn as never);
  };
}
