import { createHmac, timingSafeEqual } from 'node:crypto';
import type { WebhookConfig, WebhookEvent } from '../config/types.js';
import type { Sale } from '../domain/types.js';
import { eventName, type OutboxEventKind, type OutboxItem, type QuarantineEvent } from '../store/outbox-store.js';
import { outcomeOfFailure, outcomeOfResponse, type DeliveryOutcome, type DeliveryTarget } from './delivery.js';
import { HttpClient } from './upstream-client.js';
import { redactUrl } from '../ops/safe-target.js';
import type { KitchenOrderView } from '../kitchen/types.js';

export interface WebhookPayload {
  /** Stable per sale change (or quarantine item): the same event always carries the same id (deduplicate on it). */
  id: string;
  type: WebhookEvent;
  /** When the gateway stored the change (received the quarantined item). */
  createdAt: string;
  /** sale.* events. */
  sale?: Sale;
  /** quarantine.added: id, register, device, code, reason, receivedAt (never the raw payload). */
  quarantine?: QuarantineEvent;
  /** kitchen.order (a retried dead letter): the order, as the kitchen's own delivery sends it. */
  order?: KitchenOrderView;
}

export const SIGNATURE_HEADER = 'X-Signature';

/** How a webhook is shown and stored: its URL without credentials or query values. */
export function webhookName(url: string): string {
  return `webhook:${redactUrl(url)}`;
}

export function webhookPayload(item: OutboxItem): WebhookPayload {
  const type = eventName(item.kind) as WebhookEvent;
  if (item.order) return { id: item.key, type, createdAt: item.changedAt, order: item.order };
  return item.quarantine
    ? { id: item.key, type, createdAt: item.changedAt, quarantine: item.quarantine }
    : { id: item.key, type, createdAt: item.changedAt, sale: item.sale };
}

/** `sha256=<hex HMAC-SHA256 of the raw body, keyed with the webhook's secret>`. */
export function signBody(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** What a receiver does: recompute the HMAC over the raw body bytes and compare in constant time. */
export function verifySignature(body: string | Buffer, secret: string, header: string | undefined | null): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(body, secret));
  const given = Buffer.from(header.trim());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** POSTs every accepted event (sale changes, new quarantine items), signed, to one webhook URL. */
export class WebhookTarget implements DeliveryTarget {
  readonly name: string;
  readonly formerNames: readonly string[];
  readonly retryCapMs: number;
  private readonly client: HttpClient;
  private readonly events: ReadonlySet<string> | null;

  /** `name`: webhookName(url) unless two webhooks redact alike (Forwarding numbers them). */
  constructor(
    private readonly config: WebhookConfig,
    private readonly now: () => number = Date.now,
    name = webhookName(config.url),
  ) {
    this.name = name;
    // Earlier versions named a webhook by its full URL (credentials, token), in the outbox files too.
    this.formerNames = [`webhook:${config.url}`].filter((n) => n !== name);
    this.retryCapMs = config.retryCapMs;
    this.events = config.events ? new Set(config.events) : null;
    this.client = new HttpClient({ baseUrl: config.url, timeoutMs: config.timeoutMs, now }, true);
  }

  accepts(kind: OutboxEventKind): boolean {
    return this.events === null || this.events.has(eventName(kind));
  }

  async deliver(item: OutboxItem, signal: AbortSignal): Promise<DeliveryOutcome> {
    const payload = webhookPayload(item);
    const body = JSON.stringify(payload);
    try {
      const res = await this.client.request('POST', '', {
        data: Buffer.from(body, 'utf8'), // a Buffer goes out byte for byte, exactly as signed
        signal,
        headers: {
          'Content-Type': 'application/json',
          [SIGNATURE_HEADER]: signBody(body, this.config.secret),
          'X-Event-Id': payload.id,
          'X-Event-Type': payload.type,
        },
      });
      return outcomeOfResponse(res, { create: false, now: this.now(), what: `POST ${redactUrl(this.config.url)}` });
    } catch (err) {
      return outcomeOfFailure(err);
    }
  }

  close(): void {
    this.client.close();
  }
}
