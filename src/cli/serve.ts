import type { Command } from 'commander';
import { ConfigError, type LoadedConfig, loadConfig } from '../config/load.js';
import { openGateway } from '../gateway.js';
import { createLogger } from '../logger.js';
import type { Server, RequestListener } from 'node:http';
import type { Logger } from 'pino';
import { createApp } from '../app.js';
import type { Config } from '../config/types.js';
import { endStreams, listen, stoppable, type RunningServer } from '../server.js';
import { startConfiguredKitchenListener } from '../kitchen/listener.js';
import { DataDirLockedError } from '../store/lock.js';
import { CorruptFileError } from '../store/durable-file.js';
import { describeDatabase } from '../store/postgres/sql-values.js';
import { demoCredentialsRefusal } from './demo-guard.js';
import { ExitError } from './exit.js';
import { releaseYoungGeneration, settleAfterLoad } from './heap-policy.js';
import { isMultiShop } from '../shops/deployment.js';
import { deploymentApp } from '../shops/dispatch.js';
import { ShopDirectory } from '../shops/directory.js';

export function serveCommand(program: Command): void {
  program
    .command('serve', { isDefault: true })
    .description('run the gateway in the foreground (config: --config FILE, else ./config.json, else the demo config.example.json)')
    .option('-c, --config <file>', 'config file')
    .addHelpText(
      'after',
      `
Environment: PORT, HOST, DATA_DIR, LOG_LEVEL, ALLOW_DEMO_CREDENTIALS, DATABASE_URL,
KITCHEN_PORT (a port, or "off": no kitchen listener), KITCHEN_HOST override the config file.

With PostgreSQL (store.postgres or DATABASE_URL) any number of processes may share one database,
all equal: each serves every request, writes take the database's write lease in turn
(docs/postgres.md). The kitchen listener runs in one of them at a time.

Exit codes: 0 stopped (SIGTERM, SIGINT), 1 cannot start (data dir in use, database
unreachable, HTTP or kitchen port taken), 2 bad config.`,
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
      const running = await start(config, logger);
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

/** Why the store could not be opened, as the one line and exit code 1 of a start-up failure. */
async function openFailure(err: unknown, config: Config): Promise<unknown> {
  if (err instanceof DataDirLockedError || err instanceof CorruptFileError) return new ExitError(1, err.message);
  if (config.store.postgres) {
    // Loaded with the PostgreSQL store only (a lowdb gateway never loads the pg client).
    const [{ DatabaseUnavailableError }, { MigrationError }] = await Promise.all([
      import('../store/postgres/connection.js'),
      import('../store/postgres/migrate.js'),
    ]);
    if (err instanceof DatabaseUnavailableError || err instanceof MigrationError) return new ExitError(1, err.message);
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

/**
 * Open the store (lowdb: the data dir; PostgreSQL: the database, shared with any number of equal
 * processes), then listen.
 */
async function start(config: Config, logger: Logger): Promise<RunningServer> {
  // Several shops (config shops/operators, or shops created through the API): the shop directory serves.
  const directory = isMultiShop(config)
    ? await ShopDirectory.open(config, logger).catch(async (err) => {
        throw await openFailure(err, config);
      })
    : null;
  const gateway =
    directory?.defaultShop?.gateway
    ?? (await openGateway(config, logger).catch(async (err) => {
      throw await openFailure(err, config);
    }));
  const close = () => (directory ? directory.close() : gateway.close());
  // lowdb loads its data dir into memory: the heap is compacted once after (measured on 100,000
  // sales: 141 MB RSS with it, 190-198 MB without). PostgreSQL loads no history: V8's usual heap.
  if (config.store.postgres) releaseYoungGeneration();
  else logger.debug(settleAfterLoad(), 'start-up heap compacted');
  let kitchen: { close(): Promise<void> } | null = null;
  try {
    const { server, url } = await listenOrExit(directory ? deploymentApp(directory) : createApp(gateway), config);
    // PostgreSQL: only the process on kitchen duty receives kitchen orders; another takes over when it stops or dies (src/kitchen/pg-duty.ts).
    if (config.store.postgres) gateway.kitchen?.duty.run('kitchen listener', () => startConfiguredKitchenListener(gateway));
    else
      kitchen = await startConfiguredKitchenListener(gateway).catch((err) => {
        server.close();
        throw new ExitError(1, (err as Error).message);
      });
    const release = async () => {
      await kitchen?.close();
      await close();
    };
    return stoppable(server, url, release, () => {
      for (const shop of directory?.live ?? [{ gateway }]) endStreams(shop.gateway);
    });
  } catch (err) {
    await close();
    throw err;
  }
}
