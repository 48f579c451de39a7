import type { Logger } from 'pino';
import type { WebhookConfig } from '../config/types.js';
import { nextDelay } from '../forward/backoff.js';
import { type DeliveryOutcome, outcomeOfFailure, outcomeOfResponse } from '../forward/delivery.js';
import { HttpClient } from '../forward/upstream-client.js';
import { signBody, SIGNATURE_HEADER } from '../forward/webhook.js';
import { safeTarget, safeText } from '../ops/safe-target.js';
import type { Kitchen } from './kitchen.js';
import { viewOf, type KitchenOrder, type KitchenOrderView } from './types.js';

export interface KitchenWebhookPayload {
  /** Stable per order: `kitchen:<order id>` (deduplicate on it; delivery is at least once). */
  id: string;
  type: 'kitchen.order';
  /** When the gateway received the order. */
  createdAt: string;
  order: KitchenOrderView;
}

export const hookName = (hook: WebhookConfig) => `webhook:${hook.url}`;

/** The webhooks that want `kitchen.order` (no `events` list: every event). */
export const kitchenHooks = (hooks: WebhookConfig[]) => hooks.filter((h) => !h.events || h.events.includes('kitchen.order'));

export function kitchenPayload(order: KitchenOrder): KitchenWebhookPayload {
  return { id: `kitchen:${order.id}`, type: 'kitchen.order', createdAt: order.receivedAt, order: viewOf(order) };
}

/** Where a kitchen.order a webhook refused for good is kept: the outbox's dead letters (Forwarding.kitchenDeadLetter). */
export type KitchenDeadLetters = (
  hookUrl: string,
  order: KitchenOrderView,
  dead: { at: string; error: string; status: number | null; response: string },
  attempts: number,
) => Promise<boolean>;

interface HookQueue {
  hook: WebhookConfig;
  client: HttpClient;
  ids: string[];
  wake: (() => void) | null;
  running: Promise<void> | null;
  abort: AbortController;
}

/**
 * `kitchen.order` webhooks: signed and sent like sale events (X-Signature HMAC-SHA256 of the
 * body, X-Event-Id, X-Event-Type; retries with backoff and jitter up to retryCapMs). The order
 * record itself says which hooks still wait for it (`pendingHooks`, stored with the order), so
 * a restart resumes delivery; an order a hook refuses for good (4xx) becomes a dead letter of that
 * webhook in the outbox (counted, shown, retried there like a sale event's).
 */
export class KitchenHookDelivery {
  private readonly queues: HookQueue[];
  private stopping = false;
  private unsubscribe: (() => void) | null = null;

  constructor(
    hooks: WebhookConfig[],
    private readonly kitchen: Kitchen,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    private readonly deadLetters: KitchenDeadLetters | null = null,
  ) {
    this.queues = kitchenHooks(hooks).map((hook) => ({
      hook,
      client: new HttpClient({ baseUrl: hook.url, timeoutMs: hook.timeoutMs, now }, true),
      ids: [],
      wake: null,
      running: null,
      abort: new AbortController(),
    }));
  }

  /** Picks up the orders still owed (from before a restart, or from the process that had the duty before). */
  async start(): Promise<void> {
    const configured = new Set(this.queues.map((q) => hookName(q.hook)));
    // New orders first: none falls between the read and the subscription (one twice is harmless: at least once).
    this.unsubscribe = this.kitchen.onNewOrder((order) => this.enqueue(order));
    for (const order of await this.kitchen.undelivered()) {
      // A webhook removed from the config (or no longer wanting kitchen.order) is owed nothing any more.
      for (const target of order.pendingHooks!.filter((t) => !configured.has(t))) {
        this.logger.warn({ target, order: order.id }, 'kitchen.order not delivered to a webhook that is no longer configured');
        void this.kitchen
          .hookFinished(order.id, target)
          .catch((err) => this.logger.error({ err, order: order.id }, 'could not record the kitchen.order delivery'));
      }
      this.enqueue(order);
    }
    for (const q of this.queues) q.running = this.run(q);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    for (const q of this.queues) {
      q.abort.abort();
      q.wake?.();
    }
    await Promise.all(this.queues.map((q) => q.running));
    for (const q of this.queues) q.client.close();
  }

  private enqueue(order: KitchenOrder): void {
    for (const q of this.queues) {
      if (!order.pendingHooks?.includes(hookName(q.hook)) || q.ids.includes(order.id)) continue;
      q.ids.push(order.id);
      // Wake an idle worker only: one waiting out a backoff keeps waiting.
      if (q.ids.length === 1) q.wake?.();
    }
  }

  private sleep(q: HookQueue, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => done(), ms) : null;
      const done = () => {
        if (timer) clearTimeout(timer);
        q.wake = null;
        resolve();
      };
      q.wake = done;
    });
  }

  private async run(q: HookQueue): Promise<void> {
    const name = hookName(q.hook);
    let attempts = 0;
    while (!this.stopping) {
      const id = q.ids[0];
      if (id === undefined) {
        await this.sleep(q, Infinity);
        continue;
      }
      const order = await this.kitchen.get(id).catch((err) => {
        this.logger.error({ err, order: id }, 'could not read a kitchen order for its webhook; retrying');
        return null;
      });
      if (order === null) {
        await this.sleep(q, 1000);
        continue;
      }
      if (!order) {
        q.ids.shift();
        continue;
      }
      const body = JSON.stringify(kitchenPayload(order));
      let outcome: DeliveryOutcome;
      try {
        const res = await q.client.request('POST', '', {
          data: Buffer.from(body, 'utf8'),
          signal: q.abort.signal,
          headers: {
            'Content-Type': 'application/json',
            [SIGNATURE_HEADER]: signBody(body, q.hook.secret),
            'X-Event-Id': `kitchen:${id}`,
            'X-Event-Type': 'kitchen.order',
          },
        });
        outcome = outcomeOfResponse(res, { create: false, now: this.now(), what: `POST ${q.hook.url}` });
      } catch (err) {
        outcome = outcomeOfFailure(err);
      }
      if (this.stopping) return;
      if (outcome.verdict === 'retry') {
        attempts++;
        const wait = nextDelay(attempts, q.hook.retryCapMs, outcome.notBefore === null ? null : Math.max(0, outcome.notBefore - this.now()));
        this.logger.warn(
          { target: safeTarget(name), order: id, attempts, error: safeText(outcome.error), retryInMs: wait },
          'kitchen.order webhook failed; retrying',
        );
        await this.sleep(q, wait);
        continue;
      }
      if (outcome.verdict === 'permanent') {
        const dead = { at: new Date(this.now()).toISOString(), error: outcome.error, status: outcome.status, response: outcome.response };
        const kept = await this.deadLetters?.(q.hook.url, viewOf(order), dead, attempts + 1).catch((err) => {
          this.logger.error({ err, order: id }, 'could not store the refused kitchen.order as a dead letter; retrying');
          return null;
        });
        if (kept === null) {
          await this.sleep(q, 1000);
          continue;
        }
        // A dead letter is logged by the outbox's event log.
        if (!kept)
          this.logger.error(
            { target: safeTarget(name), order: id, error: safeText(outcome.error) },
            'kitchen.order webhook refused the order for good; not retried',
          );
      }
      attempts = 0;
      q.ids.shift();
      await this.kitchen.hookFinished(id, name).catch((err) => this.logger.error({ err, order: id }, 'could not record the kitchen.order delivery'));
    }
  }
}
