import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { hashPassword } from '../config/password.js';
import { usernameTaken } from '../errors.js';
import { when } from '../ops/html.js';
import { type AdminDeps, devicePresence, isStale, noticeOf, send, sessionOf, STALE_FORM, takenInAnotherShop, text } from './context.js';
import { badge, csrfField, field, html, type FieldErrors, type Notice, table } from './page.js';

const USERNAME = /^[^:\s]{1,128}$/;
const REGISTER = /^[A-Za-z0-9_.-]{1,64}$/;

/** 16 characters a person can type into a tablet (no 0/O, 1/l/I). */
function newPassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return [...randomBytes(16)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Devices: who talked to the gateway when; create a tablet's account (password shown once) and change its password. */
export function devicesRoutes(deps: AdminDeps): Router {
  const { gateway, activity } = deps;
  const { accounts, adminSettings } = gateway;
  const router = Router();

  const listPage = (
    req: Request,
    res: Response,
    o: { values?: Record<string, string>; errors?: FieldErrors; notice?: Notice | null; status?: number } = {},
  ) => {
    const now = gateway.now();
    const presence = devicePresence(deps);
    const rows = activity
      .list()
      .sort((a, b) => a.username.localeCompare(b.username))
      .map((d) => {
        const runtime = accounts.originOf(d.username) === 'runtime';
        // Several shops: the shop directory's devices (made in a shop's back office or through the management API).
        const managed = accounts.originOf(d.username) === 'managed';
        return {
          attrs: html`data-device="${d.username}"`,
          cells: [
            d.username,
            d.cashRegister,
            runtime ? badge('ok', 'back office') : managed ? badge('ok', 'shop directory') : badge('grey', 'config file'),
            html`<span data-field="last-seen">${when(presence(d.username, d.lastSeen?.at, d.lastPush?.at).seen, now)}</span>`,
            html`<span data-field="last-push">${when(presence(d.username, d.lastSeen?.at, d.lastPush?.at).pushed, now)}</span>`,
            html`<span data-field="failed-logins">${d.failedLogins}</span>`,
            html`<span data-field="failed-login">${d.lastFailedLogin ? html`${when(d.lastFailedLogin.at, now)} <span class="muted">(${d.lastFailedLogin.status} from ${d.lastFailedLogin.ip})</span>` : html`<span class="muted">none</span>`}</span>`,
            runtime || (managed && deps.shop?.device(d.username))
              ? html`<a href="devices/${encodeURIComponent(d.username)}/password">Change password</a>`
              : managed
                ? html`<span class="muted">an operator changes it</span>`
                : html`<span class="muted">edit the config file</span>`,
          ],
        };
      });
    const v = o.values ?? {};
    const e = o.errors ?? {};
    const registers = [...new Set([...gateway.backOffice.registerNames(), ...activity.list().map((d) => d.cashRegister)])].filter(Boolean).sort();
    send(
      req,
      res,
      deps,
      {
        title: 'Devices',
        section: 'devices',
        live: true,
        notice: o.notice ?? noticeOf(res),
        content: html`<h1>Devices</h1>
<div id="live-devices-list" data-live>${table('devices-list', [{ label: 'Device' }, { label: 'Register' }, { label: 'Defined in' }, { label: 'Last seen' }, { label: 'Last push' }, { label: 'Failed logins since start', num: true }, { label: 'Last failed login' }, { label: '' }], rows, 'No devices yet.')}</div>
<h2 id="add">Add a device</h2>
<p>One account per tablet. The password is generated and shown once; type it into the tablet's sync settings.</p>
<form class="stack" method="post" action="devices" novalidate>${csrfField(sessionOf(res).csrfToken)}
${field({ label: 'Username', name: 'username', value: v.username, error: e.username, required: true, autocomplete: 'off' })}
${field({ label: 'Register', name: 'register', value: v.register, error: e.register, required: true, hint: registers.length ? `The cash register its sales belong to, such as ${registers.join(', ')}` : 'The cash register its sales belong to, such as TAB-1' })}
<div class="actions"><button class="primary" type="submit">Create device</button></div></form>`,
      },
      o.status,
    );
  };

  const passwordShown = (req: Request, res: Response, username: string, register: string, password: string, created: boolean) =>
    send(
      req,
      res,
      deps,
      {
        title: created ? 'Device created' : 'Password changed',
        section: 'devices',
        notice: {
          kind: 'ok',
          text: created ? `Device ${username} created for register ${register}.` : `New password for ${username} saved; the old one no longer works.`,
        },
        content: html`<h1>${created ? 'Device created' : 'Password changed'}</h1>
<p>Password for <strong>${username}</strong> (shown only now, it is stored hashed):</p>
<p><code class="secret" id="new-password">${password}</code></p>
<p>In TabShop: <em>Settings → Sync between devices</em>, user <strong>${username}</strong> and this password.</p>
<p><a href="${created ? 'devices' : '../../devices'}">Back to devices</a></p>`,
      },
      created ? 201 : 200,
    );

  router.get('/devices', async (req, res) => {
    await adminSettings.syncForReading();
    listPage(req, res);
  });

  router.post('/devices', async (req, res) => {
    const values = { username: text(req, 'username').trim(), register: text(req, 'register').trim() };
    if (isStale(req, sessionOf(res))) return listPage(req, res, { values, notice: STALE_FORM, status: 403 });
    const errors: FieldErrors = {};
    await adminSettings.sync();
    const taken =
      USERNAME.test(values.username) && (accounts.has(values.username) || takenInAnotherShop(req, values.username)) ? usernameTaken(values.username) : null;
    if (!USERNAME.test(values.username)) errors.username = 'Enter a username without spaces or ":" (at most 128 characters).';
    else if (taken) errors.username = taken.message;
    if (!REGISTER.test(values.register)) errors.register = 'Enter a register name of letters, digits, "-", "_" or "." (at most 64).';
    if (Object.keys(errors).length)
      return listPage(req, res, {
        values,
        errors,
        // A name that is taken is a conflict (409 username_taken in the API); a field that is malformed, a bad request.
        status: taken && !errors.register ? taken.status : 400,
        notice: { kind: 'fail', text: 'The device was not created: correct the fields marked below.' },
      });
    const password = newPassword();
    const at = gateway.now().toISOString();
    const device = {
      username: values.username,
      passwordHash: await hashPassword(password),
      cashRegister: values.register,
      createdAt: at,
      passwordChangedAt: at,
    };
    // The store decides a race (another request, or on PostgreSQL another process, took the name meanwhile).
    // A shop of several: the deployment's directory decides (usernames are unique across shops).
    const created = deps.shop
      ? await deps.shop.createDevice({ username: device.username, passwordHash: device.passwordHash, cashRegister: device.cashRegister })
      : await adminSettings.createDevice(device);
    if (!created) {
      const raced = usernameTaken(values.username);
      return listPage(req, res, { values, errors: { username: raced.message }, status: raced.status });
    }
    req.log?.info(
      { event: 'admin.device_created', username: device.username, cashRegister: device.cashRegister, admin: sessionOf(res).username },
      `device ${device.username} created in the back office`,
    );
    passwordShown(req, res, device.username, device.cashRegister, password, true);
  });

  const runtimeDevice = async (req: Request) => {
    // Several shops: the shop directory's devices (src/shops), not the gateway's run-time ones.
    if (deps.shop) return deps.shop.device(String(req.params.username));
    await adminSettings.syncForReading();
    return adminSettings.device(String(req.params.username));
  };

  const passwordPage = (req: Request, res: Response, username: string, notice: Notice | null, status = 200) =>
    send(
      req,
      res,
      deps,
      {
        title: `Password of ${username}`,
        section: 'devices',
        notice,
        content: html`<h1>Change the password of ${username}</h1>
<p>A new password is generated and shown once. The tablet stops syncing until the new password is typed into it.</p>
<form method="post" class="actions">${csrfField(sessionOf(res).csrfToken)}<button class="primary" type="submit">Generate new password</button> <a href="../../devices">Cancel</a></form>`,
      },
      status,
    );

  router.get('/devices/:username/password', async (req, res) => {
    const d = await runtimeDevice(req);
    if (!d)
      return send(
        req,
        res,
        deps,
        {
          title: 'Not found',
          section: 'devices',
          content: html`<h1>No back-office device ${String(req.params.username)}</h1><p>Devices from the config file change there.</p><p><a href="../../devices">Devices</a></p>`,
        },
        404,
      );
    passwordPage(req, res, d.username, null);
  });

  router.post('/devices/:username/password', async (req, res) => {
    const found = await runtimeDevice(req);
    if (!found) return res.redirect(303, '../../devices');
    if (isStale(req, sessionOf(res))) return passwordPage(req, res, found.username, STALE_FORM, 403);
    const password = newPassword();
    const hash = await hashPassword(password);
    const d = deps.shop
      ? await deps.shop.changeDevicePassword(found.username, hash)
      : await adminSettings.changePassword(found.username, hash, gateway.now().toISOString());
    // Deleted meanwhile (another process).
    if (!d) return res.redirect(303, '../../devices');
    req.log?.info(
      { event: 'admin.device_password_changed', username: d.username, admin: sessionOf(res).username },
      `password of device ${d.username} changed in the back office`,
    );
    passwordShown(req, res, d.username, d.cashRegister, password, false);
  });

  return router;
}
