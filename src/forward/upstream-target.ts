import type { Sale } from '../domain/types.js';
import type { OutboxEventKind, OutboxItem } from '../store/outbox-store.js';
import { outcomeOfFailure, outcomeOfResponse, type DeliveryOutcome, type DeliveryTarget } from './delivery.js';
import type { HttpClient } from './upstream-client.js';

/** The fields of the srv4pos-style sale that upstream stores; the gateway's own bookkeeping (version, day, printing) stays here. */
export function saleForUpstream(sale: Sale): Record<string, unknown> {
  const { identifier, cashRegisterName, createdAt, status, lines, payments, total, vat, discount, costPrice, customer, source } = sale;
  return {
    identifier,
    cashRegisterName,
    createdAt,
    status,
    lines,
    payments,
    total,
    vat,
    discount,
    costPrice,
    customer,
    ...(source !== undefined ? { source } : {}),
  };
}

/**
 * Delivers sale changes to a srv4pos-style upstream: the first change as POST /sales with the
 * stable identifier (409 = upstream has it already), every later change (a reversal) as
 * PUT /sales/{identifier}, which creates or modifies. Both are idempotent in effect.
 */
export class UpstreamTarget implements DeliveryTarget {
  readonly name = 'upstream';

  constructor(
    private readonly client: HttpClient,
    readonly retryCapMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Sale changes only: quarantine and kitchen events are for webhooks. */
  accepts(kind: OutboxEventKind): boolean {
    return kind !== 'quarantine.added' && kind !== 'kitchen.order';
  }

  async deliver(item: OutboxItem, signal: AbortSignal): Promise<DeliveryOutcome> {
    const create = item.kind === 'created' && item.method !== 'PUT';
    // ':' is a legal path character and sale identifiers are register:invoice, so it stays readable.
    const path = create ? '/sales' : `/sales/${encodeURIComponent(item.identifier).replace(/%3A/gi, ':')}${item.method === 'PUT' ? '?replace=true' : ''}`;
    const method = create ? 'POST' : 'PUT';
    try {
      const res = await this.client.request(method, path, { data: saleForUpstream(item.sale!), signal });
      return outcomeOfResponse(res, { create, now: this.now(), what: `${method} ${path}` });
    } catch (err) {
      return outcomeOfFailure(err);
    }
  }

  close(): void {
    // The client is shared with the catalogue poll; Forwarding closes it.
  }
}
