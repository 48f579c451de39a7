import { EventEmitter } from 'node:events';
import type { PushSummary } from './domain/ledger.js';
import type { QuarantineCode } from './store/records.js';

/**
 * Notable things that happen inside the gateway. Producers (ledger, forwarding) emit;
 * observers (logs, metrics, status page) subscribe. Listeners must not throw.
 */
export interface GatewayEventMap {
  push: [{ device: string; cashRegisterName: string; summary: PushSummary; at: Date }];
  quarantine: [{ id: string; code: QuarantineCode; reason: string; cashRegisterName?: string; device?: string; at: string }];
  'sale.changed': [{ identifier: string; cashRegisterName: string; status: string; previousStatus: string | null; seq: number }];
  'upstream.request': [{ method: string; path: string; status: number | null; ms: number; error?: string }];
  'upstream.breaker': [{ state: 'open' | 'half-open' | 'closed'; failures: number }];
  'outbox.retry': [{ target: string; identifier: string; attempts: number; error: string; nextAttemptAt: Date }];
  'outbox.delivered': [{ target: string; identifier: string; attempts: number }];
  'outbox.deadletter': [{ target: string; identifier: string; attempts: number; error: string }];
  'catalog.synced': [{ version: number; changes: number; full: boolean }];
  /** A connection on the kitchen port: an order stored, a message rejected (stored), or a connection refused (not stored). */
  'kitchen.message': [{ outcome: 'received' | 'rejected' | 'refused'; reason?: string; source: string }];
  /** The HTTP server begins a graceful stop: responses that never end by themselves (event streams) end now. */
  'http.stopping': [];
}

export class GatewayEvents extends EventEmitter<GatewayEventMap> {}
