// The CLI proper; src/cli.ts loads it once the heap policy is in place.
import { Command, CommanderError } from 'commander';
import { serveCommand } from './serve.js';
import { hashPasswordCommand } from './hash-password.js';
import { ExitError } from './exit.js';
import { captureCommand } from './capture.js';
import { replayCommand } from './replay.js';
import { validateCommand } from './validate.js';
import { migrateCommand } from './migrate.js';
import { migrateStoreCommand } from './migrate-store.js';
import { releaseYoungGeneration } from './heap-policy.js';
import { importProductsCommand } from './import-products.js';


const program = new Command('tabshop-gateway')
  .description('TabShop-compatible sync gateway with a srv4pos-style API')
  .showHelpAfterError()
  .exitOverride()
  // Only serve loads a data dir before its work starts; it releases the young generation itself.
  .hook('preAction', (_program, command) => {
    if (command.name() !== 'serve') releaseYoungGeneration();
  });

serveCommand(program);
hashPasswordCommand(program);
captureCommand(program);
replayCommand(program);
validateCommand(program);
migrateCommand(program);
migrateStoreCommand(program);
importProductsCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof ExitError) {
    if (err.message) process.stderr.write(`${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`tabshop-gateway: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
