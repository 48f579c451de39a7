import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { type Config, ConfigError, loadConfig } from '../config/load.js';
import { applyProductImport, planProductImport } from '../domain/product-import.js';
import { openGateway } from '../gateway.js';
import { createLogger } from '../logger.js';
import { CorruptFileError } from '../store/durable-file.js';
import { DataDirLockedError } from '../store/lock.js';
import { importSummary } from '../api/product-import.js';
import { ExitError } from './exit.js';

export function importProductsCommand(program: Command): void {
  program
    .command('import-products')
    .description("import products from a CSV file into the gateway's data (as the back office and POST /api/products/import do)")
    .argument('<file>', 'the CSV file (header line first)')
    .option('-c, --config <file>', 'config file (default: ./config.json, else the embedded demo config)')
    .option('--dry-run', 'only show what would be created, changed and refused')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Columns are found by their header: TabShop's stock names (id, category, title, price, costprice,
discountid, description, attribute, stockqty, taxid) or common ones (name, barcode, vat, quantity).
Comma, semicolon or tab separated; UTF-8 or Windows-1252; decimal commas are fine. Importing the
same file again changes nothing. The gateway must not be running on the same data dir (use the
back office or POST /api/products/import while it runs).

Exit codes: 0 imported (refused rows are listed), 1 a failure, 2 bad usage or bad config.`,
    )
    .action(async (file: string, opts: { config?: string; dryRun?: boolean; json?: boolean }) => {
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (err) {
        throw new ExitError(2, `import-products: cannot read ${file}: ${(err as Error).message}`);
      }
      let config: Config;
      try {
        config = loadConfig({ file: opts.config, cwd: process.cwd(), env: process.env }).config;
      } catch (err) {
        if (err instanceof ConfigError) throw new ExitError(2, err.problems.map((p) => `config: ${p}`).join('\n'));
        throw err;
      }
      if (config.upstream) throw new ExitError(1, 'import-products: in bridge mode the upstream server owns the articles; import them there');
      const gateway = await openGateway(config, createLogger('warn', process.stderr, { pretty: false })).catch((err) => {
        if (err instanceof DataDirLockedError || err instanceof CorruptFileError) throw new ExitError(1, `import-products: ${err.message}`);
        throw err;
      });
      try {
        const plan = planProductImport(gateway.catalog, bytes);
        if (!opts.dryRun) {
          await applyProductImport(gateway.catalog, plan, gateway.ledger.salesSeq);
        }
        if (opts.json) process.stdout.write(`${JSON.stringify(importSummary(plan, Boolean(opts.dryRun)))}\n`);
        else {
          const verb = opts.dryRun ? 'would be' : '';
          process.stdout.write(
            [
              `${file}: read as ${plan.encoding}, delimiter ${JSON.stringify(plan.delimiter)}; columns ${Object.entries(plan.columns)
                .map(([h, f]) => `${h}→${f}`)
                .join(', ')}`,
              `${plan.created.length} ${verb} created, ${plan.changed.length} ${verb} changed, ${plan.unchanged.length} unchanged, ${plan.refused.length} refused${opts.dryRun ? ' (dry run: nothing written)' : ''}`.replace(
                / {2}/g,
                ' ',
              ),
              ...plan.refused.map((r) => `  refused line ${r.row}${r.identifier ? ` (id ${r.identifier})` : ''}: ${r.reason}`),
            ].join('\n') + '\n',
          );
        }
      } finally {
        await gateway.close();
      }
    });
}
