import type { Logger } from 'pino';
import type pg from 'pg';
import { createClient } from './connection.js';
import { prepared } from './prepared.js';

/** The channel a transaction that adds outbox items notifies on; the payload is the item's target. */
export const OUTBOX_CHANNEL = 'tabshop_outbox';

/** Inside the transaction that adds items: PostgreSQL delivers the notifications only once it commits. */
export async function notifyOutbox(client: pg.ClientBase, targets: Iterable<string>): Promise<void> {
  const distinct = [...new Set(targets)];
  if (distinct.length === 0) return;
  await prepared(client, `SELECT pg_notify('${OUTBOX_CHANNEL}', t) FROM unnest($1::text[]) AS t`, [distinct]);
}

export interface OutboxListenerOptions {
  url: string;
  /** Items were added for this target (null: for any target, or some may have been missed while not listening). */
  onNotify: (target: string | null) => void;
  logger: Logger;
  /** Another channel than the outbox's, and what the log lines call it (default: the outbox). */
  channel?: string;
  label?: string;
  /** First and longest wait before connecting again after the connection dropped. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

/**
 * One dedicated connection that LISTENs on the outbox channel, so the claim workers of this
 * process look at once when another process adds items. When it drops it is opened again with
 * backoff; meanwhile the workers' polling is the fallback, and on reconnecting they look at once
 * (notifications sent while nobody listened are lost).
 */
export class OutboxListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private retryMs: number;
  private timer: NodeJS.Timeout | null = null;
  listening = false;

  constructor(private readonly opts: OutboxListenerOptions) {
    this.retryMs = opts.retryMinMs ?? 250;
  }

  start(): void {
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.listening = false;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const channel = this.opts.channel ?? OUTBOX_CHANNEL;
    const label = this.opts.label ?? 'outbox';
    const client = createClient(this.opts.url, `tabshop-gateway ${label} listener`);
    this.client = client;
    let dropped = false;
    const drop = (err?: Error) => {
      if (dropped || this.client !== client) return;
      dropped = true;
      const was = this.listening;
      this.client = null;
      this.listening = false;
      if (this.stopped) return;
      if (was) this.opts.logger.warn({ err: err?.message }, `${label}: the LISTEN connection dropped; polling until it is back`);
      else this.opts.logger.debug({ err: err?.message }, `${label}: cannot LISTEN yet; polling meanwhile`);
      void client.end().catch(() => undefined);
      this.retry();
    };
    client.on('error', drop);
    client.on('end', () => drop());
    client.on('notification', (msg) => {
      if (msg.channel === channel) this.opts.onNotify(msg.payload || null);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
    } catch (err) {
      drop(err as Error);
      return;
    }
    if (this.client !== client) return;
    this.listening = true;
    this.retryMs = this.opts.retryMinMs ?? 250;
    // Items added while nobody listened were announced to nobody.
    this.opts.onNotify(null);
  }

  private retry(): void {
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.opts.retryMaxMs ?? 10_000);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, wait);
    this.timer.unref();
  }
}
