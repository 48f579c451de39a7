import { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/load.js';
import { openGateway } from '../gateway.js';
import { createLogger } from '../logger.js';
import { startServer } from '../server.js';
import { DataDirLockedError } from '../store/lock.js';
import { CorruptFileError } from '../store/durable-file.js';
import { describeDatabase } from '../store/postgres/sql-values.js';
import { demoCredentialsRefusal } from './demo-guard.js';
import { ExitError } from './exit.js';
import { settleAfterLoad } from './heap-policy.js';

export function serveCommand(program: Command): void {
  program
    .command('serve', { isDefault: true })
    .description('run the gateway in the foreground (config: --config FILE, else ./config.json, else the demo config.example.json)')
    .option('-c, --config <file>', 'config file')
    .action(async (opts: { config?: string }) => {
      let loaded;
      try {
        loaded = loadConfig({ file: opts.config, cwd: process.cwd(), env: process.env });
      } catch (err) {
        if (err instanceof ConfigError) throw new ExitError(2, err.problems.map((p) => `config: ${p}`).join('\n'));
        throw err;
      }
      const { config, configPath, isDemo } = loaded;
      const refusal = demoCredentialsRefusal({
        isDemo, allowDemoCredentials: config.ops.allowDemoCredentials, nodeEnv: process.env.NODE_ENV, host: config.server.host, configPath,
      });
      if (refusal) throw new ExitError(2, refusal);
      const logger = createLogger(config.logLevel);
      let gateway;
      try {
        gateway = await openGateway(config, logger);
      } catch (err) {
        if (err instanceof DataDirLockedError || err instanceof CorruptFileError) throw new ExitError(1, err.message);
        if (config.store.postgres) {
          // Loaded with the PostgreSQL store only (a lowdb gateway never loads the pg client).
          const [{ DatabaseLockedError, DatabaseUnavailableError }, { MigrationError }] = await Promise.all([
            import('../store/postgres/connection.js'), import('../store/postgres/migrate.js'),
          ]);
          if (err instanceof DatabaseLockedError || err instanceof DatabaseUnavailableError || err instanceof MigrationError) throw new ExitError(1, err.message);
        }
        throw err;
      }
      logger.debug(settleAfterLoad(), 'start-up heap compacted');
      let running;
      try {
        running = await startServer(gateway, config.server.host, config.server.port);
      } catch (err) {
        await gateway.close();
        throw new ExitError(1, `cannot listen on ${config.server.host}:${config.server.port}: ${(err as Error).message}`);
      }
      // Handlers first: whoever reads the "listening" line may send a signal at once.
      const stopped = new Promise<void>((resolve) => {
        const shutdown = (signal: string) => {
          logger.info({ signal }, 'shutting down');
          const hardStop = setTimeout(() => {
            logger.error('could not stop within 9.5 s; exiting anyway');
            process.exit(1);
          }, 9_500);
          hardStop.unref();
          running.stop().then(() => {
            logger.info('stopped cleanly');
            resolve();
          }, (err) => {
            logger.error({ err }, 'error while stopping');
            process.exitCode = 1;
            resolve();
          });
        };
        process.once('SIGTERM', shutdown);
        process.once('SIGINT', shutdown);
      });
      const tabshopUrl = running.url + (config.tabshop.basePath === '/' ? '' : config.tabshop.basePath);
      logger.info({ url: running.url, tabshopUrl, apiUrl: running.url + config.api.basePath, configPath, ...(config.store.postgres ? { store: describeDatabase(config.store.postgres.url) } : { dataDir: config.store.dataDir }) }, 'tabshop-gateway listening');
      if (isDemo) {
        logger.warn({ devices: config.devices.map((d) => ({ username: d.username, password: d.password, cashRegister: d.cashRegister })), admins: config.admins.map((a) => a.username) },
          'DEMO CREDENTIALS IN USE: these are public demo passwords; copy config.example.json to config.json and set your own before real use');
        process.stderr.write(`\n  !!! tabshop-gateway is running with DEMO credentials (from ${configPath}).\n  !!! Tablet server URL: ${tabshopUrl}  user: ${config.devices[0].username}  password: ${config.devices[0].password ?? '(hash)'}\n  !!! Do not use these in a shop: create config.json with your own passwords.\n\n`);
      }
      await stopped;
    });
}
