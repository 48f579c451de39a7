import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../e2e/process.js';
import { removeDir } from '../helpers.js';
import { CAFE_ADMIN, OPERATOR, type TestDeployment, auth, startTestDeployment } from './helpers.js';

let d: TestDeployment;
beforeAll(async () => {
  d = await startTestDeployment();
});
afterAll(async () => {
  await d.stop();
  await removeDir(d.dir);
});

/** The CLI as a user runs it, the operator's password in the environment, stdin for a prompted one. */
async function shops(args: string[], opts: { stdin?: string; password?: string } = {}): Promise<{ code: number | null; out: string }> {
  const p = spawnCli(['shops', ...args, '--url', `${d.url}/api`, '--user', OPERATOR.username], {
    TABSHOP_OPERATOR_PASSWORD: opts.password ?? OPERATOR.password,
  });
  p.child.stdin!.end(opts.stdin ?? '');
  const code = await p.exited;
  return { code, out: p.output() };
}

const deli1 = auth({ username: 'deli-1', password: 'pw-deli-1' });

describe('tabshop-gateway shops', () => {
  it('adds a shop, a device (password from stdin) and an admin, lists, shows, disables and enables it', async () => {
    expect((await shops(['add', 'deli', '--name', 'Deli', '--currency', 'GBP', '--time-zone', 'Europe/London'])).code).toBe(0);
    const device = await shops(['devices', 'set', 'deli', 'deli-1', '--cash-register', 'DELI-1'], { stdin: 'pw-deli-1\n' });
    expect(device.code, device.out).toBe(0);
    expect(JSON.parse(device.out)).toEqual({ shop: 'deli', username: 'deli-1', cashRegister: 'DELI-1' });
    expect((await shops(['admins', 'set', 'deli', 'deli-boss', '--password', 'pw-deli-boss'])).code).toBe(0);
    expect(await (await fetch(`${d.url}/home`, { headers: { authorization: deli1 } })).text()).toBe('true');

    const list = await shops(['list']);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^deli\s+GBP enabled\s+1 devices\s+1 admins {2}Deli$/m);
    expect(list.out).toMatch(/^cafe\s+EUR enabled/m);
    const shown = JSON.parse((await shops(['show', 'deli'])).out);
    expect(shown).toMatchObject({ id: 'deli', timeZone: 'Europe/London', devices: [{ username: 'deli-1' }], admins: [{ username: 'deli-boss' }] });
    expect(JSON.stringify(shown)).not.toContain('pw-');

    expect(JSON.parse((await shops(['disable', 'deli'])).out).disabled).toBe(true);
    expect((await d.json('/home', { auth: deli1 })).status).toBe(403);
    expect(JSON.parse((await shops(['enable', 'deli'])).out).disabled).toBe(false);
    expect(JSON.parse((await shops(['update', 'deli', '--name', 'Deli & Co'])).out).name).toBe('Deli & Co');
    const removed = await shops(['devices', 'remove', 'deli', 'deli-1']);
    expect(removed.out).toContain('removed deli-1 from shop deli');
    expect((await d.json('/home', { auth: deli1 })).status).toBe(401);
  }, 60_000);

  it('prints the gateway’s error and exits 1: a config account, an unknown shop, a wrong operator password', async () => {
    const inConfig = await shops(['admins', 'set', 'cafe', CAFE_ADMIN.username, '--password', 'x']);
    expect(inConfig.code).toBe(1);
    expect(inConfig.out).toContain('shops: 409 username_taken');
    const unknown = await shops(['show', 'nowhere']);
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain('shops: 404 not_found: shop nowhere not found');
    const wrong = await shops(['list'], { password: 'wrong' });
    expect(wrong.code).toBe(1);
    expect(wrong.out).toContain('shops: 401 unauthorized');
  }, 60_000);
});
