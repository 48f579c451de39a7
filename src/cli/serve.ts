import type { Command } from 'commander';
import { ConfigError, type LoadedConfig, loadConfig } from '../config/load.js';
import { openGateway } from '../gateway.js';
import { createLogger } from '../logger.js';
import type { Server, RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createApp } from '../app.js';
import { SharedFront } from '../cluster/front.js';
import type { Config } from '../config/types.js';
import { endStreams, listen, stoppable, type RunningServer } from '../server.js';
import { startConfiguredKitchenListener, type KitchenListener } from '../kitchen/listener.js';
import { DataDirLockedError } from '../store/lock.js';
import { CorruptFileError } from '../store/durable-file.js';
import { describeDatabase } from '../store/postgres/sql-values.js';
import { demoCredentialsRefusal } from './demo-guard.js';
import { ExitError } from './exit.js';
import { holdYoungGeneration, releaseYoungGeneration, settleAfterLoad } from './heap-policy.js';

export function serveCommand(program: Command): void {
  program
    .command('serve', { isDefault: true })
    .description('run the gateway in the foreground (config: --config FILE, else ./config.json, else the demo config.example.json)')
    .option('-c, --config <file>', 'config file')
    .addHelpText(
      'after',
      `
Environment: PORT, HOST, DATA_DIR, LOG_LEVEL, ALLOW_DEMO_CREDENTIALS, DATABASE_URL, ADVERTISE_URL,
KITCHEN_PORT (a port, or "off": no kitchen listener), KITCHEN_HOST override the config file.

With PostgreSQL (store.postgres or DATABASE_URL) several processes may share one database: the
first leads it, the others forward every request to it and take over when it stops or dies
(docs/postgres.md). A process that loses the lead exits 1: run it under a supervisor.

Exit codes: 0 stopped (SIGTERM, SIGINT), 1 cannot start (data dir or database in use or
unreachable, HTTP or kitchen port taken) or lost the lead of the database, 2 bad config.`,
    )
    .action(async (opts: { config?: string }) => {
      let loaded: LoadedConfig;
      try {
        loaded = loadConfig({ file: opts.config, cwd: process.cwd(), env: process.env });
      } catch (err) {
        if (err instanceof ConfigError) throw new ExitError(2, err.problems.map((p) => `config: ${p}`).join('\n'));
        throw err;
      }
      const { config, configPath, isDemo } = loaded;
      const refusal = demoCredentialsRefusal({
        isDemo,
        allowDemoCredentials: config.ops.allowDemoCredentials,
        nodeEnv: process.env.NODE_ENV,
        host: config.server.host,
        configPath,
      });
      if (refusal) throw new ExitError(2, refusal);
      const logger = createLogger(config.logLevel);
      const running = config.store.postgres ? await startSharing(config, logger) : await startAlone(config, logger);
      // Handlers first: whoever reads the "listening" line may send a signal at once.
      const stopped = new Promise<void>((resolve) => {
        const shutdown = (reason: string, exitCode = 0) => {
          logger.info(exitCode ? { reason } : { signal: reason }, 'shutting down');
          if (exitCode) process.exitCode = exitCode;
          const hardStop = setTimeout(() => {
            logger.error('could not stop within 9.5 s; exiting anyway');
            process.exit(1);
          }, 9_500);
          hardStop.unref();
          running.stop().then(
            (report) => {
              if (report.cutAfterGrace) logger.warn('requests still open when the grace period ended were cut off');
              logger.info('stopped cleanly');
              resolve();
            },
            (err) => {
              logger.error({ err }, 'error while stopping');
              process.exitCode = 1;
              resolve();
            },
          );
        };
        process.once('SIGTERM', () => shutdown('SIGTERM'));
        process.once('SIGINT', () => shutdown('SIGINT'));
        running.fatal.then((err) => {
          logger.error({ err: err.message }, 'stopping: this process can no longer serve from its store');
          shutdown('fatal', 1);
        });
      });
      const tabshopUrl = running.url + (config.tabshop.basePath === '/' ? '' : config.tabshop.basePath);
      logger.info(
        {
          url: running.url,
          tabshopUrl,
          apiUrl: running.url + config.api.basePath,
          configPath,
          ...(config.store.postgres ? { store: describeDatabase(config.store.postgres.url) } : { dataDir: config.store.dataDir }),
        },
        'tabshop-gateway listening',
      );
      if (isDemo) {
        logger.warn(
          {
            devices: config.devices.map((d) => ({ username: d.username, password: d.password, cashRegister: d.cashRegister })),
            admins: config.admins.map((a) => a.username),
          },
          'DEMO CREDENTIALS IN USE: these are public demo passwords; copy config.example.json to config.json and set your own before real use',
        );
        const kitchenUser = config.kitchen?.accounts[0];
        const kitchenLine = kitchenUser
          ? `  !!! Kitchen screen: ${running.url}/kitchen  user: ${kitchenUser.username}  password: ${kitchenUser.password ?? '(hash)'}\n`
          : '';
        process.stderr.write(
          `\n  !!! tabshop-gateway is running with DEMO credentials (from ${configPath}).\n  !!! Tablet server URL: ${tabshopUrl}  user: ${config.devices[0].username}  password: ${config.devices[0].password ?? '(hash)'}\n${kitchenLine}  !!! Do not use these in a shop: create config.json with your own passwords.\n\n`,
        );
      }
      await stopped;
    });
}

interface Serving extends RunningServer {
  /** Settles when the process must stop (another process took the lead of the database). */
  fatal: Promise<Error>;
}

/** Why the store could not be opened, as the one line and exit code 1 of a start-up failure. */
async function openFailure(err: unknown, config: Config): Promise<unknown> {
  if (err instanceof DataDirLockedError || err instanceof CorruptFileError) return new ExitError(1, err.message);
  if (config.store.postgres) {
    // Loaded with the PostgreSQL store only (a lowdb gateway never loads the pg client).
    const [{ DatabaseLockedError, DatabaseUnavailableError }, { MigrationError }] = await Promise.all([
      import('../store/postgres/connection.js'),
      import('../store/postgres/migrate.js'),
    ]);
    if (err instanceof DatabaseLockedError || err instanceof DatabaseUnavailableError || err instanceof MigrationError) return new ExitError(1, err.message);
  }
  return err;
}

async function listenOrExit(listener: RequestListener, config: Config): Promise<{ server: Server; url: string }> {
  try {
    return await listen(listener, config.server.host, config.server.port);
  } catch (err) {
    throw new ExitError(1, `cannot listen on ${config.server.host}:${config.server.port}: ${(err as Error).message}`);
  }
}

/** lowdb: open the data dir, then listen. */
async function startAlone(config: Config, logger: Logger): Promise<Serving> {
  const gateway = await openGateway(config, logger).catch(async (err) => {
    throw await openFailure(err, config);
  });
  logger.debug(settleAfterLoad(), 'start-up heap compacted');
  let kitchen: KitchenListener | null = null;
  try {
    const { server, url } = await listenOrExit(createApp(gateway), config);
    kitchen = await startConfiguredKitchenListener(gateway).catch((err) => {
      server.close();
      throw new ExitError(1, (err as Error).message);
    });
    const release = async () => {
      await kitchen?.close();
      await gateway.close();
    };
    return { ...stoppable(server, url, release, () => endStreams(gateway)), fatal: new Promise(() => undefined) };
  } catch (err) {
    await gateway.close();
    throw err;
  }
}

/**
 * PostgreSQL: listen at once, then take the lead of the database. While another process leads,
 * forward every request to it; once this one leads, load the store and serve (503 meanwhile).
 */
async function startSharing(config: Config, logger: Logger): Promise<Serving> {
  let advertiseUrl = config.store.postgres!.advertiseUrl?.replace(/\/$/, '') ?? '';
  const front = new SharedFront(logger, () => advertiseUrl);
  const { server, url } = await listenOrExit(front.listener, config);
  advertiseUrl ||= reachableUrl(server.address() as AddressInfo);
  const waiting = new AbortController();
  let fail: (err: Error) => void = () => undefined;
  const fatal = new Promise<Error>((resolve) => {
    fail = resolve;
  });
  const follow = front.follow(waiting.signal);
  // While following, this process delivers outbox items too (the table is claimed, not owned).
  let delivery: Promise<{ stop(): Promise<void> } | null> | null = null;
  const stopDelivery = async () => {
    const running = delivery;
    delivery = null;
    await (await running?.catch(() => null))?.stop();
  };
  const opening = openGateway(config, logger, {
    lead: {
      advertiseUrl,
      follow: {
        ...follow,
        // A follower only forwards: V8's usual young generation (held small, requests cost more CPU); held again for the load.
        onFollowing: (info) => {
          releaseYoungGeneration();
          follow.onFollowing(info);
          delivery ??= import('../forward/follower-delivery.js')
            .then(({ FollowerDelivery }) => FollowerDelivery.start(config, logger))
            .catch((err: Error) => {
              logger.error({ err: err.message }, 'could not start delivering the outbox while following; the leader delivers it');
              return null;
            });
        },
        onLeading: () => {
          holdYoungGeneration();
          // The leader's own outbox workers take over.
          void stopDelivery();
          follow.onLeading?.();
        },
      },
    },
  });
  const serving = stoppable(
    server,
    url,
    async () => {
      waiting.abort(new Error('stopped'));
      front.close();
      await stopDelivery();
      const opened = await opening.catch(() => null);
      await opened?.close();
    },
    () => void opening.then(endStreams, () => undefined),
  );
  // Start-up failures (database down, schema too new) exit as before; later ones stop the process.
  try {
    await Promise.race([opening, front.following]);
  } catch (err) {
    await serving.stop(0);
    throw await openFailure(err, config);
  }
  opening.then(
    (opened) => {
      logger.debug(settleAfterLoad(), 'start-up heap compacted');
      front.serve(createApp(opened));
      void opened.store.fatal?.then(fail);
      // Only the process on kitchen duty receives kitchen orders; another takes over when it stops or dies (src/kitchen/duty.ts).
      opened.kitchen?.duty.run('kitchen listener', () => startConfiguredKitchenListener(opened));
    },
    async (err) => {
      if (waiting.signal.aborted) return;
      const failure = await openFailure(err, config);
      logger.error({ err: failure instanceof Error ? failure.message : String(failure) }, 'could not open the store');
      fail(failure instanceof Error ? failure : new Error(String(failure)));
    },
  );
  return { ...serving, fatal };
}

/** A URL other processes on this host can reach: the loopback address when listening on all of them. */
function reachableUrl(address: AddressInfo): string {
  if (address.address === '0.0.0.0') return `http://127.0.0.1:${address.port}`;
  if (address.address === '::') return `http://[::1]:${address.port}`;
  return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}
