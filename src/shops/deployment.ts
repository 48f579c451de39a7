import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { type RunningServer, endStreams, listen, stoppable } from '../server.js';
import { deploymentApp } from './dispatch.js';
import { type DirectoryOptions, ShopDirectory } from './directory.js';
import { SHOPS_FILE } from './shops-file.js';

/**
 * Whether the deployment serves through the shop directory: it lists shops or operators, or shops
 * were created through the API (lowdb: shops.json exists). On PostgreSQL always: the database may
 * hold shops, or get one from another process at any time, and every process serves them all.
 * Otherwise the gateway is served exactly as before (one shop).
 */
export function isMultiShop(config: Config): boolean {
  if (config.shops !== undefined || (config.operators?.length ?? 0) > 0 || config.store.postgres) return true;
  return existsSync(join(config.store.dataDir, SHOPS_FILE));
}

export { ShopDirectory, deploymentApp };

/** The directory (shop default open) behind the dispatching app on host:port; stop closes every open shop. */
export async function startDeployment(
  config: Config,
  logger: Logger,
  host: string,
  port: number,
  opts: DirectoryOptions = {},
): Promise<RunningServer & { directory: ShopDirectory }> {
  const directory = await ShopDirectory.open(config, logger, opts);
  try {
    const { server, url } = await listen(deploymentApp(directory, opts.now), host, port);
    const running = stoppable(
      server,
      url,
      () => directory.close(),
      () => {
        for (const shop of directory.live) endStreams(shop.gateway);
      },
    );
    return { ...running, directory };
  } catch (err) {
    await directory.close();
    throw err;
  }
}
