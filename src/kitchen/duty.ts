import type { Logger } from 'pino';

/** Something a duty started (the kitchen listener, the webhook delivery). */
export interface DutyTask {
  close(): Promise<void>;
}

/**
 * What must run in one process only (the kitchen's TCP listener, its webhook delivery): started
 * while this process is on duty, stopped when the duty passes to another process and at stop().
 */
export interface KitchenDuty {
  /** Runs `start` whenever this process takes the duty (at once if it has it); null: nothing to stop. */
  run(what: string, start: () => Promise<DutyTask | null>): void;
  readonly onDuty: boolean;
  stop(): Promise<void>;
}

/** lowdb: one process per data dir, always on duty. */
export class SoleDuty implements KitchenDuty {
  private readonly started: Promise<DutyTask | null>[] = [];
  readonly onDuty = true;

  constructor(private readonly logger: Logger) {}

  run(what: string, start: () => Promise<DutyTask | null>): void {
    const task = start().catch((err) => {
      this.logger.error({ err }, `kitchen: could not start the ${what}`);
      return null;
    });
    this.started.push(task);
  }

  async stop(): Promise<void> {
    for (const task of this.started.splice(0).reverse()) await (await task)?.close();
  }
}
