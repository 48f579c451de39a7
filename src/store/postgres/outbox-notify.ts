import type { Logger } from 'pino';
import type pg from 'pg';
import { createClient } from './connection.js';
import { prepared } from './prepared.js';

/** The channel a transaction that adds outbox items notifies on; the payload is the item's target. */
export const OUTBOX_CHANNEL = 'tabshop_outbox';

/** Inside the transaction that adds items: PostgreSQL delivers the notifications only once it commits. */
export async function notifyOutbox(client: pg.ClientBase, targets: Iterable<string>, channel = OUTBOX_CHANNEL): Promise<void> {
  const distinct = [...new Set(targets)];
  if (distinct.length === 0) return;
  await prepared(client, `SELECT pg_notify('${channel}', t) FROM unnest($1::text[]) AS t`, [distinct]);
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
 * A subscription to one channel on the process's LISTEN connection for the database (one
 * connection however many stores and channels: SharedListener). When that connection drops it is
 * opened again with backoff; meanwhile the subscribers' polling is the fallback, and on
 * reconnecting each is told null (notifications sent while nobody listened are lost).
 */
export class OutboxListener {
  private shared: SharedListener | null = null;
  private stopped = false;

  constructor(private readonly opts: OutboxListenerOptions) {}

  get channel(): string {
    return this.opts.channel ?? OUTBOX_CHANNEL;
  }

  get label(): string {
    return this.opts.label ?? 'outbox';
  }

  get listening(): boolean {
    return this.shared?.listensTo(this.channel) ?? false;
  }

  get logger(): Logger {
    return this.opts.logger;
  }

  start(): void {
    if (this.stopped || this.shared) return;
    this.shared = SharedListener.for(this.opts);
    this.shared.subscribe(this);
  }

  notify(payload: string | null): void {
    if (!this.stopped) this.opts.onNotify(payload);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const shared = this.shared;
    this.shared = null;
    await shared?.unsubscribe(this);
  }
}

const listeners = new Map<string, SharedListener>();

/**
 * The one connection of this process that LISTENs on every channel its stores follow on one
 * database (each schema's state, settings, outbox and kitchen channels). Opened by the first
 * subscription, closed after the last one stops.
 */
class SharedListener {
  private client: pg.Client | null = null;
  private readonly subscribers = new Map<string, Set<OutboxListener>>();
  /** The channels the current connection LISTENs on. */
  private readonly listened = new Set<string>();
  private retryMs: number;
  private timer: NodeJS.Timeout | null = null;
  private connected = false;
  private closed = false;
  /** LISTEN/UNLISTEN statements, one at a time and in order. */
  private serial: Promise<void> = Promise.resolve();

  private constructor(private readonly opts: OutboxListenerOptions) {
    this.retryMs = opts.retryMinMs ?? 250;
  }

  static for(opts: OutboxListenerOptions): SharedListener {
    let l = listeners.get(opts.url);
    if (!l) {
      l = new SharedListener(opts);
      listeners.set(opts.url, l);
    }
    return l;
  }

  listensTo(channel: string): boolean {
    return this.connected && this.listened.has(channel);
  }

  subscribe(sub: OutboxListener): void {
    const set = this.subscribers.get(sub.channel) ?? new Set();
    set.add(sub);
    this.subscribers.set(sub.channel, set);
    if (!this.client && !this.timer) void this.connect();
    else if (this.connected) this.enqueue(() => this.listen(sub.channel));
  }

  async unsubscribe(sub: OutboxListener): Promise<void> {
    const set = this.subscribers.get(sub.channel);
    set?.delete(sub);
    if (set && set.size === 0) {
      this.subscribers.delete(sub.channel);
      if (this.connected) this.enqueue(() => this.unlisten(sub.channel));
    }
    if (this.subscribers.size > 0) return this.serial;
    // The last subscription: the connection goes.
    this.closed = true;
    if (listeners.get(this.opts.url) === this) listeners.delete(this.opts.url);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.connected = false;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private enqueue(step: () => Promise<void>): void {
    this.serial = this.serial.then(step).catch(() => undefined);
  }

  private async listen(channel: string): Promise<void> {
    const client = this.client;
    if (!client || this.listened.has(channel) || !this.subscribers.has(channel)) return;
    await client.query(`LISTEN ${channel}`);
    this.listened.add(channel);
    // Anything added before this subscription listened was announced to nobody.
    for (const sub of this.subscribers.get(channel) ?? []) sub.notify(null);
  }

  private async unlisten(channel: string): Promise<void> {
    const client = this.client;
    if (!client || !this.listened.has(channel) || this.subscribers.has(channel)) return;
    this.listened.delete(channel);
    await client.query(`UNLISTEN ${channel}`);
  }

  private logger(): Logger {
    for (const set of this.subscribers.values()) for (const sub of set) return sub.logger;
    return this.opts.logger;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = createClient(this.opts.url, 'tabshop-gateway listener');
    this.client = client;
    this.listened.clear();
    let dropped = false;
    const drop = (err?: Error) => {
      if (dropped || this.client !== client) return;
      dropped = true;
      const was = this.connected;
      this.client = null;
      this.connected = false;
      this.listened.clear();
      if (this.closed) return;
      const channels = [...this.subscribers.keys()].join(', ');
      if (was) this.logger().warn({ err: err?.message, channels }, 'the LISTEN connection dropped; polling until it is back');
      else this.logger().debug({ err: err?.message, channels }, 'cannot LISTEN yet; polling meanwhile');
      void client.end().catch(() => undefined);
      this.retry();
    };
    client.on('error', drop);
    client.on('end', () => drop());
    client.on('notification', (msg) => {
      for (const sub of this.subscribers.get(msg.channel) ?? []) sub.notify(msg.payload || null);
    });
    const channels = [...this.subscribers.keys()];
    try {
      await client.connect();
      // One statement for every channel: a process following many shops listens again at once.
      if (channels.length > 0) await client.query(channels.map((c) => `LISTEN ${c};`).join(' '));
    } catch (err) {
      drop(err as Error);
      return;
    }
    if (this.client !== client) return;
    for (const c of channels) this.listened.add(c);
    this.connected = true;
    this.retryMs = this.opts.retryMinMs ?? 250;
    // Channels subscribed while connecting.
    for (const c of this.subscribers.keys()) if (!this.listened.has(c)) this.enqueue(() => this.listen(c));
    // Items added while nobody listened were announced to nobody.
    for (const c of channels) for (const sub of this.subscribers.get(c) ?? []) sub.notify(null);
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
