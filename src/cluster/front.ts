import type { RequestListener } from 'node:http';
import type { Logger } from 'pino';
import type { AcquireOptions, LeaderInfo } from '../store/postgres/connection.js';
import { followerHandler, startingHandler } from './follower.js';

/**
 * What answers requests in a process that shares a PostgreSQL database with others, as it moves
 * from opening (503), to following another process (forwarding to it), to leading (loading:
 * 503 again), to serving the app. `follow` is what the database lock reports to.
 */
export class SharedFront {
  readonly listener: RequestListener = (req, res) => this.current(req, res);
  private current: RequestListener = startingHandler();
  private follower: ReturnType<typeof followerHandler> | null = null;
  private leader: string | null = null;
  private lastError = '';
  private followed: () => void = () => undefined;
  /** Settles once another process is found leading: start-up is over, this one follows. */
  readonly following = new Promise<void>((resolve) => {
    this.followed = resolve;
  });

  constructor(
    private readonly log: Logger,
    private readonly advertiseUrl: () => string,
  ) {}

  follow(signal: AbortSignal): NonNullable<AcquireOptions['follow']> {
    return {
      signal,
      onFollowing: (info) => this.onFollowing(info),
      onError: (err) => {
        if (err.message !== this.lastError) this.log.warn({ err: err.message }, 'cannot reach the database while following; trying again');
        this.lastError = err.message;
      },
      onLeading: () => {
        this.current = startingHandler();
        if (this.follower) this.log.info('this process leads the database now: loading the store');
      },
    };
  }

  serve(app: RequestListener): void {
    this.current = app;
    this.log.info({ advertiseUrl: this.advertiseUrl() }, 'serving as the leading gateway process of the database');
  }

  close(): void {
    this.follower?.close();
  }

  private onFollowing(info: LeaderInfo): void {
    this.lastError = '';
    // The database may still name this process's own URL from an earlier run.
    this.leader = info.url === this.advertiseUrl() ? null : info.url;
    this.follower ??= followerHandler({ leaderUrl: () => this.leader, log: this.log });
    this.current = this.follower.handler;
    this.followed();
    this.log.info(
      { leader: info.url, holder: info.holder },
      'another gateway process leads the database: forwarding requests to it; this one takes over when it stops',
    );
  }
}
