#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { serveCommand } from './cli/serve.js';
import { hashPasswordCommand } from './cli/hash-password.js';
import { ExitError } from './cli/exit.js';
import { captureCommand } from './cli/capture.js';
import { replayCommand } from './cli/replay.js';
import { validateCommand } from './cli/validate.js';
import { migrateCommand } from './cli/migrate.js';
import { migrateStoreCommand } from './cli/migrate-store.js';


const program = new Command('tabshop-gateway')
  .description('TabShop-compatible sync gateway with a srv4pos-style API')
  .showHelpAfterError()
  .exitOverride();

serveCommand(program);
hashPasswordCommand(program);
captureCommand(program);
replayCommand(program);
validateCommand(program);
migrateCommand(program);
migrateStoreCommand(program);

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
