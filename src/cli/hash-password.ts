import type { Command } from 'commander';
import { hashPassword } from '../config/password.js';
import { ExitError } from './exit.js';
import { readSecret } from './read-secret.js';

export function hashPasswordCommand(program: Command): void {
  program
    .command('hash-password')
    .description('print a scrypt hash to use as "passwordHash" in the config (prompts without echo, or reads stdin)')
    .option('--password <password>', 'the password (visible in shell history; prefer the prompt or stdin)')
    .action(async (opts: { password?: string }) => {
      const password = opts.password ?? (await readSecret('Password: '));
      if (!password) throw new ExitError(2, 'hash-password: the password is empty');
      process.stdout.write(`${await hashPassword(password)}\n`);
    });
}
