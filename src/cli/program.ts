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
import { shopsCommand } from './shops.js';
import { VERSION } from '../ops/version.js';

const program = new Command('tabshop-gateway')
  .description('TabShop-compatible sync gateway with a srv4pos-style API')
  .version(VERSION, '-V, --version', 'print the version')
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
shopsCommand(program);

/**
 * `serve` is the default command, so commander would hand an unknown word to it ("too many
 * arguments for 'serve'"): a first word that names no command is refused here, with the list.
 */
function unknownCommand(argv: string[]): string | null {
  const first = argv[2];
  if (first === undefined || first.startsWith('-')) return null;
  const names = new Set(program.commands.flatMap((c) => [c.name(), ...c.aliases()]).concat('help'));
  if (names.has(first)) return null;
  const list = program.commands.map((c) => `  ${c.name().padEnd(15)}${c.description().split(' (')[0]}`).join('\n');
  return `tabshop-gateway: unknown command '${first}'\n\nCommands:\n${list}\n\nRun tabshop-gateway --help for more.`;
}

try {
  const unknown = unknownCommand(process.argv);
  if (unknown !== null) throw new ExitError(2, unknown);
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
