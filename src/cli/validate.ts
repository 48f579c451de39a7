import type { Command } from 'commander';
import { checkPushes, DEFAULT_REGISTER, formatProblem, type Problem } from '../integrate/check.js';
import { num } from '../integrate/format.js';
import { ExitError } from './exit.js';
import { readFixtureArgs } from './fixtures-input.js';

interface ValidateOptions {
  translate?: boolean;
  register?: string;
  json?: boolean;
}

export function validateCommand(program: Command): void {
  program
    .command('validate')
    .description('check fixtures offline against the TabShop JSON Schemas (schemas/) and the translation rules')
    .argument('<paths...>', 'fixture files or folders (capture files, {"invoices": [...]} bodies, NDJSON of invoices)')
    .option('--translate', 'print the srv4pos-style sales the gateway would store (problems then go to stderr)')
    .option('--register <name>', `cash register for the sales (default: each capture's own, else ${DEFAULT_REGISTER})`)
    .option('--json', 'print one JSON report instead of text')
    .addHelpText(
      'after',
      `
Each problem is printed as  file: /invoices/3/positions/0/qty: must be number or numeric string
followed by a count. Exit codes: 0 no problem, 1 problems found, 2 bad usage.`,
    )
    .action(async (paths: string[], opts: ValidateOptions) => {
      const set = await readFixtureArgs('validate', paths);
      const result = checkPushes(set.pushes, opts.register === undefined ? {} : { register: opts.register });
      const problems: Problem[] = [...set.problems.map((p) => ({ source: p.source, path: '', message: p.message })), ...result.problems];
      const ok = problems.length === 0;
      if (opts.json) {
        const report = {
          ok,
          files: set.files.length,
          pushes: result.pushes,
          invoices: result.invoices,
          skipped: result.skipped,
          problems,
          outcomes: result.outcomes,
          ...(opts.translate && { sales: result.sales }),
        };
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        const out = opts.translate ? process.stderr : process.stdout;
        if (opts.translate) process.stdout.write(`${JSON.stringify(result.sales, null, 2)}\n`);
        for (const p of problems) out.write(`${formatProblem(p)}\n`);
        const scope =
          `${num(set.files.length)} file${set.files.length === 1 ? '' : 's'}, ${num(result.pushes)} push${result.pushes === 1 ? '' : 'es'}, ${num(result.invoices)} invoice${result.invoices === 1 ? '' : 's'}`
          + (result.skipped ? ` (${num(result.skipped)} captured request${result.skipped === 1 ? '' : 's'} that are not pushes skipped)` : '');
        const badFiles = new Set(problems.map((p) => p.source.replace(/:\d+$/, ''))).size;
        out.write(
          ok
            ? `OK: ${scope}, no problems${opts.translate ? `; ${num(result.sales.length)} sales` : ''}\n`
            : `${num(problems.length)} problem${problems.length === 1 ? '' : 's'} in ${num(badFiles)} of ${scope}\n`,
        );
      }
      if (!ok) throw new ExitError(1, '');
    });
}
