import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackOfficeRoutes } from '../../src/shops/back-office.js';
import { deploymentApp } from '../../src/shops/deployment.js';
import { ADMIN, DEVICE, invoice, removeDir } from '../helpers.js';
import { BISTRO_ADMIN, BISTRO_DEVICE, CAFE_ADMIN, CAFE_DEVICE, OPERATOR, TWO_SHOPS, type TestDeployment, auth, startTestDeployment } from './helpers.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)![1];

let d: TestDeployment;

beforeAll(async () => {
  d = await startTestDeployment({ ...TWO_SHOPS, tabshop: { legacy: true } });
});

afterAll(async () => {
  await d?.stop();
  if (d) await removeDir(d.dir);
});

const post = (path: string, who: { username: string; password: string }) =>
  fetch(`${d.url}${path}`, { method: 'POST', redirect: 'manual', headers: FORM, body: form({ username: who.username, password: who.password, next: '' }) });

const get = (path: string, cookie?: string) => fetch(`${d.url}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });

/** Signs in at a back office's own sign-in page; the session cookie ("name=value") and where it was sent. */
async function signIn(prefix: string, who: { username: string; password: string }) {
  const res = await fetch(`${d.url}${prefix}/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: FORM,
    body: form({ username: who.username, password: who.password, next: '' }),
  });
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { res, setCookie, cookie: setCookie.split(';')[0] };
}

/** A product made through a back office's form (its session's CSRF token), as a browser would post it. */
async function addProduct(prefix: string, cookie: string, id: string, name: string) {
  const page = await get(`${prefix}/products/new`, cookie);
  expect(page.status).toBe(200);
  return fetch(`${d.url}${prefix}/products/new`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...FORM, cookie, origin: d.url },
    body: form({ _csrf: csrfOf(await page.text()), identifier: id, name, price: '2.50', tax: '', category: '', discount: '' }),
  });
}

describe("every shop's back office at /shops/{shop}/admin/", () => {
  it("is built on the shop's first back-office request, not when the shop opens", async () => {
    // A second dispatching app over the same directory, to look inside it.
    const app = deploymentApp(d.directory);
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const offices = app.locals.shopBackOffices as BackOfficeRoutes;
      // The café opens for its tablet: no back office (memory: most shops are only reached by tablets).
      expect((await fetch(`${url}/home`, { headers: { authorization: auth(CAFE_DEVICE) } })).status).toBe(200);
      const cafe = await d.directory.gateway('cafe');
      expect(offices.isBuilt(cafe)).toBe(false);
      expect((await fetch(`${url}/shops/cafe/admin/sign-in`)).status).toBe(200);
      expect(offices.isBuilt(cafe)).toBe(true);
      expect(offices.isBuilt(await d.directory.gateway('bistro'))).toBe(false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const signInPage = await get('/shops/cafe/admin/sign-in');
    expect(signInPage.status).toBe(200);
    const text = await signInPage.text();
    expect(text).toContain('<h1>Sign in</h1>');
    expect(text).toContain('Shop <strong data-field="shop">Café (cafe)</strong>');
    expect(signInPage.headers.get('content-security-policy')).toContain("default-src 'none'");
    // "/shops/cafe/admin" → "admin/" (relative links need one spelling), as /admin does.
    const bare = await get('/shops/cafe/admin');
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('admin/');
    const unknown = await get('/shops/nowhere/admin/');
    expect(unknown.status).toBe(404);
    expect((await get('/shops/Not_A_Shop/admin/')).status).toBe(400);
  });

  it("a shop's admin signs in to their shop's back office and changes their shop only; the cookie is for that shop's path", async () => {
    const bistro = await signIn('/shops/bistro/admin', BISTRO_ADMIN);
    expect(bistro.res.status).toBe(303);
    // No Path: the browser keeps it for /shops/bistro/admin (the sign-in's folder), never sends it to another shop's.
    expect(bistro.setCookie).toMatch(/^tsg_admin=[\w-]+; HttpOnly; SameSite=Strict$/);
    const made = await addProduct('/shops/bistro/admin', bistro.cookie, '501', 'Bistro tart');
    expect(made.status).toBe(303);
    expect((await d.json('/api/products/501', { auth: auth(BISTRO_ADMIN) })).body).toMatchObject({ name: 'Bistro tart', price: 2.5 });
    expect((await d.json('/api/products/501', { auth: auth(CAFE_ADMIN) })).status).toBe(404);
    expect((await d.json('/api/products/501', { auth: auth({ username: ADMIN.username, password: ADMIN.password }) })).status).toBe(404);
    const list = await (await get('/shops/bistro/admin/products', bistro.cookie)).text();
    expect(list).toContain('Bistro tart');
    expect(list).toContain('Signed in as <strong data-field="user">bistro-admin</strong>');
  });

  it("another shop's admin cannot sign in there, and their session is refused on its paths (GET and POST)", async () => {
    const wrongShop = await signIn('/shops/bistro/admin', CAFE_ADMIN);
    expect(wrongShop.res.status).toBe(401);
    expect(wrongShop.setCookie).toBe('');
    const defaultAdmin = await signIn('/shops/bistro/admin', ADMIN);
    expect(defaultAdmin.res.status).toBe(401);
    const device = await signIn('/shops/bistro/admin', BISTRO_DEVICE);
    expect(device.res.status).toBe(401);

    const cafe = await signIn('/shops/cafe/admin', CAFE_ADMIN);
    expect(cafe.res.status).toBe(303);
    // The café admin's cookie sent to the bistro's back office by hand (a browser would not): signed out there.
    const read = await get('/shops/bistro/admin/products', cafe.cookie);
    expect(read.status).toBe(303);
    expect(read.headers.get('location')).toMatch(/sign-in\?expired=1&next=products$/);
    const page = await (await get('/shops/cafe/admin/products/new', cafe.cookie)).text();
    const post = await fetch(`${d.url}/shops/bistro/admin/products/new`, {
      method: 'POST',
      redirect: 'manual',
      headers: { ...FORM, cookie: cafe.cookie, origin: d.url },
      body: form({ _csrf: csrfOf(page), identifier: '502', name: 'From the café', price: '1' }),
    });
    expect(post.status).toBe(303);
    expect(post.headers.get('location')).toMatch(/sign-in\?expired=1/);
    expect((await d.json('/api/products/502', { auth: auth(BISTRO_ADMIN) })).status).toBe(404);
    // Nor is shop default's back office theirs.
    expect((await get('/admin/products', cafe.cookie)).status).toBe(303);
    expect((await get('/shops/default/admin/products', cafe.cookie)).status).toBe(303);
  });

  it("a CSRF token is bound to its session and shop: the café's token on the bistro's form with the bistro's session is stale", async () => {
    const cafe = await signIn('/shops/cafe/admin', CAFE_ADMIN);
    const bistro = await signIn('/shops/bistro/admin', BISTRO_ADMIN);
    const cafeToken = csrfOf(await (await get('/shops/cafe/admin/products/new', cafe.cookie)).text());
    const res = await fetch(`${d.url}/shops/bistro/admin/products/new`, {
      method: 'POST',
      redirect: 'manual',
      headers: { ...FORM, cookie: bistro.cookie, origin: d.url },
      body: form({ _csrf: cafeToken, identifier: '503', name: 'Forged', price: '1' }),
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('This form had expired or did not come from this back office');
    expect((await d.json('/api/products/503', { auth: auth(BISTRO_ADMIN) })).status).toBe(404);
  });

  it('an operator signs in to any shop’s back office; Basic auth alone opens no back office', async () => {
    const basicOnly = await fetch(`${d.url}/shops/bistro/admin/products`, { redirect: 'manual', headers: { authorization: auth(OPERATOR) } });
    expect(basicOnly.status).toBe(303);
    const op = await signIn('/shops/bistro/admin', OPERATOR);
    expect(op.res.status).toBe(303);
    const list = await (await get('/shops/bistro/admin/products', op.cookie)).text();
    expect(list).toContain('Bistro tart');
    // That session is the bistro's only.
    expect((await get('/shops/cafe/admin/products', op.cookie)).status).toBe(303);
    const wrong = await signIn('/shops/bistro/admin', { username: OPERATOR.username, password: 'nope' });
    expect(wrong.res.status).toBe(401);
  });

  it("a device created in a shop's back office joins the directory: its tablet reaches that shop; a taken name is refused", async () => {
    const bistro = await signIn('/shops/bistro/admin', BISTRO_ADMIN);
    const page = await (await get('/shops/bistro/admin/devices', bistro.cookie)).text();
    const create = (username: string) =>
      fetch(`${d.url}/shops/bistro/admin/devices`, {
        method: 'POST',
        redirect: 'manual',
        headers: { ...FORM, cookie: bistro.cookie, origin: d.url },
        body: form({ _csrf: csrfOf(page), username, register: 'BAR-2' }),
      });
    const taken = await create(CAFE_DEVICE.username);
    expect(taken.status).toBe(409);
    expect(await taken.text()).toContain(`${CAFE_DEVICE.username} is taken`);
    const made = await create('bistro-tablet-2');
    expect(made.status).toBe(201);
    const password = /id="new-password">([^<]+)</.exec(await made.text())![1];
    expect(d.directory.ownerOf('bistro-tablet-2')).toBe('bistro');
    const pushed = await d.json('/invoice', {
      method: 'POST',
      auth: auth({ username: 'bistro-tablet-2', password }),
      body: { invoices: [invoice(880000001, [{ productId: '501', qty: 1, total: 2.5 }])] },
      headers: { accept: 'application/json' },
    });
    expect(pushed.body).toMatchObject({ created: 1 });
    expect((await d.json('/api/sales/BAR-2%3A880000001', { auth: auth(BISTRO_ADMIN) })).status).toBe(200);
    expect((await d.json('/api/sales/BAR-2%3A880000001', { auth: auth(CAFE_ADMIN) })).status).toBe(404);

    // Its password changes there too (the directory's, as PUT /api/shops/{shop}/devices/{username}); the old one stops working.
    const list = await (await get('/shops/bistro/admin/devices', bistro.cookie)).text();
    expect(list).toContain('href="devices/bistro-tablet-2/password"');
    expect(list).not.toContain(`href="devices/${BISTRO_DEVICE.username}/password"`);
    const form2 = await (await get('/shops/bistro/admin/devices/bistro-tablet-2/password', bistro.cookie)).text();
    const changed = await fetch(`${d.url}/shops/bistro/admin/devices/bistro-tablet-2/password`, {
      method: 'POST',
      redirect: 'manual',
      headers: { ...FORM, cookie: bistro.cookie, origin: d.url },
      body: form({ _csrf: csrfOf(form2) }),
    });
    expect(changed.status).toBe(200);
    const newPassword = /id="new-password">([^<]+)</.exec(await changed.text())![1];
    expect((await d.json('/home', { auth: auth({ username: 'bistro-tablet-2', password }) })).status).toBe(401);
    expect((await d.json('/home', { auth: auth({ username: 'bistro-tablet-2', password: newPassword }) })).status).toBe(200);
    // Shop default's back office (/admin/) keeps usernames unique across shops too.
    const own = await post('/admin/sign-in', ADMIN);
    const defaultCookie = (own.headers.get('set-cookie') ?? '').split(';')[0];
    const defaultPage = await (await get('/admin/devices', defaultCookie)).text();
    for (const taken of ['bistro-tablet-2', OPERATOR.username]) {
      const res = await fetch(`${d.url}/admin/devices`, {
        method: 'POST',
        redirect: 'manual',
        headers: { ...FORM, cookie: defaultCookie, origin: d.url },
        body: form({ _csrf: csrfOf(defaultPage), username: taken, register: 'TAB-9' }),
      });
      expect(res.status, taken).toBe(409);
      expect(await res.text()).toContain(`${taken} is taken`);
    }
    // A config-file device of the shop is not changed here.
    expect((await get(`/shops/bistro/admin/devices/${BISTRO_DEVICE.username}/password`, bistro.cookie)).status).toBe(404);
  });

  it('a disabled shop’s back office takes its operator only', async () => {
    const before = await signIn('/shops/cafe/admin', CAFE_ADMIN);
    expect((await d.json('/api/shops/cafe', { method: 'PATCH', auth: auth(OPERATOR), body: { disabled: true } })).status).toBe(200);
    try {
      expect((await get('/shops/cafe/admin/products', before.cookie)).status).toBe(303);
      const refused = await signIn('/shops/cafe/admin', CAFE_ADMIN);
      expect(refused.res.status).toBe(403);
      expect(await refused.res.text()).toContain('Shop cafe is disabled');
      const op = await signIn('/shops/cafe/admin', OPERATOR);
      expect((await get('/shops/cafe/admin/products', op.cookie)).status).toBe(200);
    } finally {
      await d.json('/api/shops/cafe', { method: 'PATCH', auth: auth(OPERATOR), body: { disabled: false } });
    }
  });
});

describe('one sign-in at /admin/ for every shop', () => {
  it("/admin/login is the sign-in page; another shop's admin is sent on (307, the form with them) to their shop's sign-in", async () => {
    const login = await get('/admin/login?next=products');
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('sign-in?next=products');
    const page = await (await get('/admin/sign-in?next=products')).text();
    expect(page).toContain("Use your shop's admin account: its username takes you to your shop's back office.");
    for (const path of ['/admin/sign-in', '/admin/login']) {
      const res = await post(path, BISTRO_ADMIN);
      expect(res.status).toBe(307);
      expect(new URL(res.headers.get('location')!, `${d.url}${path}`).pathname).toBe('/shops/bistro/admin/sign-in');
      expect(res.headers.get('set-cookie')).toBeNull();
    }
  });

  it("shop default's admins sign in to /admin/ as before; wrong credentials get the same page whoever they name", async () => {
    const own = await post('/admin/sign-in', ADMIN);
    expect(own.status).toBe(303);
    expect(own.headers.get('location')).toBe('./');
    expect(own.headers.get('set-cookie')).toMatch(/^tsg_admin=[\w-]+; HttpOnly; SameSite=Strict$/);
    const texts: string[] = [];
    for (const who of [{ ...BISTRO_ADMIN, password: 'wrong' }, { username: 'nobody', password: 'x' }, BISTRO_DEVICE, { ...ADMIN, password: 'wrong' }]) {
      const res = await post('/admin/sign-in', who);
      expect(res.status, who.username).toBe(401);
      texts.push((await res.text()).replace(/value="[^"]*"/g, ''));
    }
    expect(new Set(texts).size).toBe(1);
  });

  it('an operator gets every shop’s back office to open', async () => {
    const res = await post('/admin/sign-in', OPERATOR);
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const id of ['default', 'cafe', 'bistro']) expect(text).toContain(`href="../shops/${id}/admin/"`);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('set-cookie')).toBeNull();
  });
});

describe('legacy credentials (query string, form) pick the shop like Basic auth', () => {
  it("a pre-146 tablet of another shop reaches its own shop, not shop default's", async () => {
    const q = (c: { username: string; password: string }) => `user=${encodeURIComponent(c.username)}&password=${encodeURIComponent(c.password)}`;
    expect((await fetch(`${d.url}/home?${q(CAFE_DEVICE)}`)).status).toBe(200);
    expect((await fetch(`${d.url}/home?${q(DEVICE)}`)).status).toBe(200);
    expect((await fetch(`${d.url}/home?${q({ ...CAFE_DEVICE, password: 'wrong' })}`)).status).toBe(401);
    // A form push: the credentials in the form's first fields.
    const body = `user=${CAFE_DEVICE.username}&password=${CAFE_DEVICE.password}&json=${encodeURIComponent(JSON.stringify({ invoices: [invoice(990000001, [{ productId: '1', qty: 1, total: 1 }])] }))}`;
    const pushed = await fetch(`${d.url}/invoice`, { method: 'POST', headers: { ...FORM, accept: 'application/json' }, body });
    expect(pushed.status).toBe(200);
    expect(await pushed.json()).toMatchObject({ created: 1 });
    const id = `${CAFE_DEVICE.cashRegister}%3A990000001`;
    expect((await d.json(`/api/sales/${id}`, { auth: auth(CAFE_ADMIN) })).status).toBe(200);
    expect((await d.json(`/api/sales/${id}`, { auth: auth(BISTRO_ADMIN) })).status).toBe(404);
    expect((await d.json(`/api/sales/${id}`, { auth: auth(ADMIN) })).status).toBe(404);
    // Longer than the 64 KB the credentials are looked for in: read once in front of the shop's app, then to its end there.
    const long = `user=${BISTRO_DEVICE.username}&password=${BISTRO_DEVICE.password}&json=${encodeURIComponent(JSON.stringify({ invoices: [invoice(990000002, [{ productId: '1', qty: 1, total: 1 }])] }))}&pad=${'x'.repeat(100 * 1024)}`;
    const longPush = await fetch(`${d.url}/invoice`, { method: 'POST', headers: { ...FORM, accept: 'application/json' }, body: long });
    expect(longPush.status).toBe(200);
    expect(await longPush.json()).toMatchObject({ created: 1 });
    expect((await d.json(`/api/sales/${BISTRO_DEVICE.cashRegister}%3A990000002`, { auth: auth(BISTRO_ADMIN) })).status).toBe(200);
  });
});
