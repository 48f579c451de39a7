import type { Command } from 'commander';
import { ExitError } from './exit.js';
import { readSecret } from './read-secret.js';

interface Connection {
  url: string;
  user?: string;
}

interface ShopView {
  id: string;
  name: string;
  currency: string;
  timeZone: string | null;
  disabled: boolean;
  origin: string;
  devices: { username: string; cashRegister: string; origin: string }[];
  admins: { username: string; origin: string }[];
}

/**
 * `tabshop-gateway shops …`: the management API (/api/shops) of a running gateway, with an
 * operator's credentials. The operator's password comes from TABSHOP_OPERATOR_PASSWORD, else a
 * prompt (or stdin); an account's password from --password, else a prompt (or stdin).
 */
export function shopsCommand(program: Command): void {
  const shops = program
    .command('shops')
    .description('manage the shops of a running gateway through its API, as an operator (config "operators")')
    .option('--url <url>', 'the gateway, as its API is reached (default: TABSHOP_GATEWAY_URL, else http://127.0.0.1:8080/api)')
    .option('--user <operator>', 'the operator (default: TABSHOP_OPERATOR)')
    .addHelpText(
      'after',
      `
Examples:
  tabshop-gateway shops list --user ops
  tabshop-gateway shops add deli --name Deli --currency GBP
  tabshop-gateway shops devices set deli deli-1 --cash-register TAB-1    (prompts for its password)
  tabshop-gateway shops disable deli

Exit codes: 0 done, 1 the gateway refused or could not be reached (its error is printed), 2 bad usage.`,
    );
  const connection = (): Connection => shops.opts<Connection>();

  shops
    .command('list')
    .description('every shop: id, name, currency, state, devices and admins')
    .option('--json', 'print the JSON answer')
    .action(async (opts: { json?: boolean }) => {
      const body = (await call(connection(), 'GET', '/shops')) as { items: ShopView[] };
      if (opts.json) {
        print(body);
        return;
      }
      for (const s of body.items) {
        process.stdout.write(
          `${s.id.padEnd(20)} ${s.currency} ${(s.disabled ? 'disabled' : 'enabled').padEnd(8)} ${String(s.devices.length).padStart(3)} devices ${String(s.admins.length).padStart(3)} admins  ${s.name}\n`,
        );
      }
    });
  shops
    .command('show <shop>')
    .description('one shop (never a password or a hash)')
    .action(async (shop: string) => print(await call(connection(), 'GET', `/shops/${enc(shop)}`)));
  shops
    .command('add <shop>')
    .description('create a shop (id: 1 to 40 of a-z, 0-9 and "-")')
    .option('--name <name>')
    .option('--currency <code>', 'ISO 4217, e.g. EUR')
    .option('--time-zone <zone>', 'IANA, e.g. Europe/Paris')
    .action(async (shop: string, opts: { name?: string; currency?: string; timeZone?: string }) =>
      print(await call(connection(), 'POST', '/shops', { id: shop, ...opts })),
    );
  shops
    .command('update <shop>')
    .description('change a shop created through the API: name, currency, time zone')
    .option('--name <name>')
    .option('--currency <code>')
    .option('--time-zone <zone>')
    .action(async (shop: string, opts: { name?: string; currency?: string; timeZone?: string }) => {
      if (Object.keys(opts).length === 0) throw new ExitError(2, 'shops update: give --name, --currency or --time-zone');
      print(await call(connection(), 'PATCH', `/shops/${enc(shop)}`, opts));
    });
  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    shops
      .command(`${name} <shop>`)
      .description(disabled ? 'disable a shop: its devices and admins get 403 shop_disabled' : 'enable a disabled shop again')
      .action(async (shop: string) => print(await call(connection(), 'PATCH', `/shops/${enc(shop)}`, { disabled })));
  }

  for (const list of ['devices', 'admins'] as const) {
    const group = shops.command(list).description(list === 'devices' ? "a shop's devices (tablets)" : "a shop's admins");
    group.command('list <shop>').action(async (shop: string) => print(await call(connection(), 'GET', `/shops/${enc(shop)}/${list}`)));
    const set = group
      .command('set <shop> <username>')
      .description(`add the ${list === 'devices' ? 'device' : 'admin'}, or give it a new password${list === 'devices' ? ' and register' : ''}`)
      .option('--password <password>', 'visible in shell history; prefer the prompt or stdin')
      .option('--password-hash <hash>', 'from tabshop-gateway hash-password');
    if (list === 'devices') set.requiredOption('--cash-register <name>', 'the register its sales belong to');
    set.action(async (shop: string, username: string, opts: { password?: string; passwordHash?: string; cashRegister?: string }) => {
      const secret = opts.passwordHash ? { passwordHash: opts.passwordHash } : { password: opts.password ?? (await readSecret(`Password for ${username}: `)) };
      if (secret.password === '') throw new ExitError(2, `shops ${list} set: the password is empty`);
      print(
        await call(connection(), 'PUT', `/shops/${enc(shop)}/${list}/${enc(username)}`, {
          ...secret,
          ...(opts.cashRegister && { cashRegister: opts.cashRegister }),
        }),
      );
    });
    group.command('remove <shop> <username>').action(async (shop: string, username: string) => {
      await call(connection(), 'DELETE', `/shops/${enc(shop)}/${list}/${enc(username)}`);
      process.stdout.write(`removed ${username} from shop ${shop}\n`);
    });
  }
}

const enc = encodeURIComponent;

const print = (body: unknown): void => {
  process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
};

async function call(conn: Connection, method: string, path: string, body?: unknown): Promise<unknown> {
  const base = (conn.url ?? process.env.TABSHOP_GATEWAY_URL ?? 'http://127.0.0.1:8080/api').replace(/\/+$/, '');
  const user = conn.user ?? process.env.TABSHOP_OPERATOR;
  if (!user) throw new ExitError(2, 'shops: name the operator with --user or TABSHOP_OPERATOR');
  const password = process.env.TABSHOP_OPERATOR_PASSWORD ?? (await readSecret(`Password for operator ${user}: `));
  let res: Response;
  try {
    res = await fetch(base + path, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new ExitError(1, `shops: cannot reach ${base}: ${(err as Error).cause ?? (err as Error).message}`);
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: shown as it is
  }
  if (!res.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ExitError(1, `shops: ${res.status} ${error?.code ?? ''}: ${error?.message ?? text}`.replace(' : ', ': '));
  }
  return parsed;
}
