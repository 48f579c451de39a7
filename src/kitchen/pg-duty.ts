import type { Logger } from 'pino';
import type pg from 'pg';
import { createClient } from '../store/postgres/connection.js';
import type { DutyTask, KitchenDuty } from './duty.js';

interface Duty {
  what: string;
  start: () => Promise<DutyTask | null>;
}

/** The session advisory lock of the kitchen duty in the public schema (two int4: classid, objid; other schemas: schema-names.ts). */
export const DUTY_LOCK: [number, number] = [0x7ab5_4009, 16];
export const DUTY_LOCK_FEATURE = 16;

export interface PgKitchenDutyOptions {
  url: string;
  logger: Logger;
  /** How often a process off duty tries to take it, and the one on duty checks it still holds it. */
  retryMs?: number;
  /** The duty lock of the store's schema (default: DUTY_LOCK, the public schema's). */
  lockKey?: [number, number];
}

/**
 * PostgreSQL: the process holding the kitchen duty lock (a session advisory lock on a connection
 * of its own, try-locked every retryMs) runs the duties. The server frees the lock when that
 * process dies (its connection closes) or freezes (idle_session_timeout, a few heartbeats long),
 * so another process takes over within seconds; a holder that finds its connection gone stops
 * its duties at once. A duty that cannot start (the kitchen port still taken) gives the lock back
 * and is tried again later, by this process or another.
 */
export class PgKitchenDuty implements KitchenDuty {
  private readonly tasks: Duty[] = [];
  /** What runs in this term on duty, by the duty that started it. */
  private readonly running = new Map<Duty, DutyTask | null>();
  private client: pg.Client | null = null;
  private held = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private serial: Promise<void> = Promise.resolve();
  private readonly retryMs: number;
  private readonly log: Logger;

  constructor(private readonly opts: PgKitchenDutyOptions) {
    this.retryMs = opts.retryMs ?? 3000;
    this.log = opts.logger.child({ component: 'kitchen' });
  }

  get onDuty(): boolean {
    return this.held;
  }

  start(): void {
    this.enqueue(() => this.tick());
  }

  run(what: string, start: () => Promise<DutyTask | null>): void {
    const task = { what, start };
    this.tasks.push(task);
    this.enqueue(async () => {
      if (this.held && !(await this.startTasks([task]))) await this.giveUp();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.serial;
    await this.stopTasks();
    const client = this.client;
    this.client = null;
    this.held = false;
    if (client) {
      await client.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
      await client.end().catch(() => undefined);
    }
  }

  private enqueue(step: () => Promise<void>): void {
    this.serial = this.serial.then(() => (this.stopped ? undefined : step())).catch((err) => this.log.error({ err }, 'kitchen duty'));
  }

  private async tick(): Promise<void> {
    try {
      if (this.held) await this.heartbeat();
      else await this.tryTake();
    } catch (err) {
      await this.lose(err as Error);
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.enqueue(() => this.tick());
    }, this.retryMs);
    this.timer.unref();
  }

  private async tryTake(): Promise<void> {
    if (!this.client) {
      const client = createClient(this.opts.url, 'tabshop-gateway kitchen duty');
      client.on('end', () => {
        if (this.client === client) this.enqueue(() => this.lose(new Error('the connection ended')));
      });
      await client.connect().catch(async (err) => {
        await client.end().catch(() => undefined);
        throw err;
      });
      this.client = client;
      // A frozen holder's idle session is ended by the server, which frees the lock (PostgreSQL 14+).
      await client.query(`SET idle_session_timeout = ${Math.max(1000, this.retryMs * 3)}`).catch(() => undefined);
    }
    const { rows } = await this.client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', this.opts.lockKey ?? DUTY_LOCK);
    if (!rows[0].ok) return;
    this.held = true;
    this.log.info('kitchen duty taken: this process receives kitchen orders and delivers their webhooks');
    if (!(await this.startTasks(this.tasks))) await this.giveUp();
  }

  private async heartbeat(): Promise<void> {
    const client = this.client!;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the duty connection did not answer')), this.retryMs * 2);
    });
    try {
      await Promise.race([client.query('SELECT 1'), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Those not running yet; false when one could not start (those started are running). */
  private async startTasks(tasks: Duty[]): Promise<boolean> {
    for (const duty of tasks) {
      if (this.running.has(duty)) continue;
      const { what, start } = duty;
      try {
        this.running.set(duty, await start());
      } catch (err) {
        this.log.error({ err: (err as Error).message }, `kitchen: could not start the ${what}; giving the duty back, trying again in ${this.retryMs} ms`);
        return false;
      }
    }
    return true;
  }

  private async stopTasks(): Promise<void> {
    const started = [...this.running.values()].reverse();
    this.running.clear();
    for (const task of started) await task?.close().catch((err) => this.log.error({ err }, 'kitchen: could not stop a duty'));
  }

  /** Stops the duties and frees the lock (the connection stays for the next try). */
  private async giveUp(): Promise<void> {
    await this.stopTasks();
    this.held = false;
    await this.client?.query('SELECT pg_advisory_unlock($1, $2)', this.opts.lockKey ?? DUTY_LOCK).catch(() => undefined);
  }

  /** The connection failed: the server frees the lock with it (if it has not already), so stop at once. */
  private async lose(err: Error): Promise<void> {
    const client = this.client;
    this.client = null;
    if (this.held) this.log.warn({ err: err.message }, 'kitchen duty lost (its database connection failed): stopping the kitchen listener here');
    else this.log.debug({ err: err.message }, 'kitchen duty: cannot reach the database');
    this.held = false;
    await this.stopTasks();
    await client?.end().catch(() => undefined);
  }
}
