import { describe, expect, it } from 'vitest';
import { ADMIN, adminAuth, basic, deviceAuth, invoice, useTestGateway } from '../helpers.js';

const t = useTestGateway({ server: { host: '127.0.0.1', port: 0, trustProxy: 'loopback' } });

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

async function signIn(headers: Record<string, string> = {}, password = ADMIN.password) {
  const res = await t.gw.fetch('/admin/sign-in', {
    method: 'POST',
    auth: null,
    redirect: 'manual',
    headers: { ...FORM, ...headers },
    body: form({ username: ADMIN.username, password, next: 'products' }),
  });
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { res, setCookie, cookie: setCookie.split(';')[0] };
}

async function page(path: string, cookie: string) {
  const res = await t.gw.fetch(`/admin/${path}`, { auth: null, redirect: 'manual', headers: { cookie } });
  return { res, text: await res.text() };
}

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)![1];

describe('back office sign-in and sessions (HTTP)', () => {
  it('session cookie: HttpOnly, SameSite=Strict, no Path (the sign-in folder), Secure only behind TLS from a trusted proxy', async () => {
    const plain = await signIn();
    expect(plain.res.status).toBe(303);
    expect(plain.res.headers.get('location')).toBe('./products');
    expect(plain.setCookie).toMatch(/^tsg_admin=[\w-]+; HttpOnly; SameSite=Strict$/);
    const tls = await signIn({ 'x-forwarded-proto': 'https' });
    expect(tls.setCookie).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
    expect((await page('products', plain.cookie)).res.status).toBe(200);
  });

  it('wrong passwords are throttled like Basic auth (shared keys), and device accounts cannot sign in', async () => {
    const device = await t.gw.fetch('/admin/sign-in', {
      method: 'POST',
      auth: null,
      headers: FORM,
      body: form({ username: 'tablet-1', password: 'pw-tablet-1' }),
    });
    expect(device.status).toBe(401);
    expect(await device.text()).toContain('Wrong username or password');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await signIn({}, 'wrong')).res.status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401]);
    const locked = await signIn();
    expect(locked.res.status).toBe(429);
    expect(Number(locked.res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await t.gw.fetch('/api/version', { auth: adminAuth })).status).toBe(429);
  });

  it('a form sent after the session ended is given back after signing in, only to the browser that sent it', async () => {
    const cookie = 'tsg_admin=ended-session';
    const late = await t.gw.fetch('/admin/taxes/new', {
      method: 'POST',
      auth: null,
      redirect: 'manual',
      headers: { ...FORM, cookie },
      body: form({ _csrf: 'old', identifier: '5', name: 'Zero <b>', vat: '0' }),
    });
    expect(late.status).toBe(303);
    const location = new URL(late.headers.get('location')!, `${t.gw.url}/admin/taxes/new`);
    expect(location.pathname).toBe('/admin/sign-in');
    const id = location.searchParams.get('form')!;
    expect(id).toMatch(/^[\w-]+$/);
    const signInWith = (headers: Record<string, string>) =>
      t.gw.fetch('/admin/sign-in', {
        method: 'POST',
        auth: null,
        redirect: 'manual',
        headers: { ...FORM, ...headers },
        body: form({ username: ADMIN.username, password: ADMIN.password, next: 'taxes/new', form: id }),
      });
    const otherBrowser = await signInWith({ cookie: 'tsg_admin=someone-else' });
    expect(otherBrowser.status).toBe(303);
    const same = await signInWith({ cookie });
    expect(same.status).toBe(200);
    const page = await same.text();
    expect(page).toContain('<form method="post" action="./taxes/new" data-resubmit>');
    expect(page).toContain('name="name" value="Zero &lt;b&gt;"');
    expect(page).not.toContain('value="old"');
    expect((await t.admin('/taxes/5')).status).toBe(404);
  });

  it('every change needs the session token and the same origin; nothing is saved otherwise', async () => {
    const { cookie } = await signIn();
    const { text } = await page('taxes/new', cookie);
    const token = csrfOf(text);
    const post = (headers: Record<string, string>, body: Record<string, string>) =>
      t.gw.fetch('/admin/taxes/new', { method: 'POST', auth: null, redirect: 'manual', headers: { ...FORM, cookie, ...headers }, body: form(body) });
    const tax = { identifier: '5', name: 'Zero', vat: '0' };
    const crossSite = await post({ origin: 'http://evil.example' }, { ...tax, _csrf: token });
    expect(crossSite.status).toBe(403);
    expect(await crossSite.text()).toContain('This form had expired or did not come from this back office');
    const noToken = await post({}, tax);
    expect(noToken.status).toBe(403);
    expect((await t.admin('/taxes/5')).status).toBe(404);
    const ok = await post({ origin: t.gw.url }, { ...tax, _csrf: token });
    expect(ok.status).toBe(303);
    expect((await t.admin('/taxes/5')).body).toEqual({ identifier: '5', name: 'Zero', vat: 0 });
    // Signing out needs the token too, then the session is gone.
    const out = await t.gw.fetch('/admin/sign-out', {
      method: 'POST',
      auth: null,
      redirect: 'manual',
      headers: { ...FORM, cookie },
      body: form({ _csrf: token }),
    });
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    const after = await page('taxes', cookie);
    expect(after.res.status).toBe(303);
    expect(after.res.headers.get('location')).toBe('./sign-in?expired=1&next=taxes');
  });

  it('strict CSP, no inline script or style on any page, everything escaped, only relative links', async () => {
    await t.admin('/products/1', 'PUT', { name: '<script>alert(1)</script>', price: 1, description: '"><img src=x onerror=alert(2)>' });
    const { cookie } = await signIn();
    for (const path of [
      '',
      'sales',
      'products',
      'products/1',
      'products/new',
      'products/import',
      'taxes',
      'discounts',
      'categories',
      'stock',
      'stock/1',
      'days',
      'quarantine',
      'devices',
      'forwarding',
      'nowhere',
    ]) {
      const { res, text } = await page(path, cookie);
      expect(res.status, path).toBe(path === 'nowhere' ? 404 : 200);
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(text.match(/<script(?![^>]*\bsrc=)[^>]*>/g), path).toBeNull();
      expect(
        [...text.matchAll(/<[a-z][^>]*>/gi)].map((m) => m[0]).filter((tag) => /\sstyle=|\son[a-z]+=/i.test(tag)),
        path,
      ).toEqual([]);
      expect(text, path).not.toContain('<script>alert');
      expect(text, path).not.toContain('<img src=x');
      // Relative links only: the back office also works under a reverse-proxy prefix.
      expect(text.match(/\s(?:href|src|action|data-events)="\/[^"]*"/g), path).toBeNull();
    }
    expect((await page('products', cookie)).text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const js = await t.gw.fetch('/admin/assets/admin.js', { auth: null });
    expect(js.headers.get('content-type')).toContain('javascript');
  });

  it('/admin redirects to /admin/; without a session every page leads to Sign in, which leads back', async () => {
    const bare = await t.gw.fetch('/admin', { auth: null, redirect: 'manual' });
    expect(bare.headers.get('location')).toBe('admin/');
    const deep = await page('sales/TAB-1%3A1?x=1', '');
    expect(deep.res.headers.get('location')).toBe('../sign-in?next=sales%2FTAB-1%253A1%3Fx%3D1');
    const events = await t.gw.fetch('/admin/events', { auth: null });
    expect(events.status).toBe(401);
    // Basic credentials are not a session: the API's Basic auth is unchanged and separate.
    const withBasic = await t.gw.fetch('/admin/', { auth: basic(ADMIN.username, ADMIN.password), redirect: 'manual' });
    expect(withBasic.status).toBe(303);
  });

  it('a graceful stop ends an open dashboard event stream at once (it never waits for the grace period)', { timeout: 20_000 }, async () => {
    const { cookie } = await signIn();
    const events = await t.gw.fetch('/admin/events', { auth: null, headers: { cookie } });
    expect(events.headers.get('content-type')).toContain('text/event-stream');
    const reader = events.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('retry: 2000');
    // A grace period longer than the test's timeout: the stop completes only if the stream ends by itself.
    const stopped = t.gw.running.stop(60_000);
    let chunk = await reader.read();
    while (!chunk.done) chunk = await reader.read();
    await stopped;
  });

  it('twelve open dashboards each get a change event after a push, and Node warns of no listener leak', { timeout: 20_000 }, async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const { cookie } = await signIn();
      const readers = [];
      for (let i = 0; i < 12; i++) {
        const events = await t.gw.fetch('/admin/events', { auth: null, headers: { cookie } });
        const reader = events.body!.getReader();
        expect(new TextDecoder().decode((await reader.read()).value)).toContain('retry: 2000');
        readers.push(reader);
      }
      const push = await t.gw.fetch('/invoice', {
        method: 'POST',
        auth: deviceAuth,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ invoices: [invoice(701, [{ productId: '1', qty: 1, total: 2 }])] }),
      });
      expect(push.status).toBe(200);
      for (const reader of readers) {
        let text = '';
        while (!text.includes('event: change')) text += new TextDecoder().decode((await reader.read()).value);
        await reader.cancel();
      }
      // Node reports a leak as a warning once an event has more than ten listeners.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('editing a product keeps the fields the form does not show (attribute bits, priceIncludesVat)', async () => {
    await t.admin('/products/9', 'PUT', { name: 'Gift card', price: 10, attribute: 16, priceIncludesVat: true, costPrice: 1 });
    const { cookie } = await signIn();
    const token = csrfOf((await page('products/9', cookie)).text);
    const res = await t.gw.fetch('/admin/products/9', {
      method: 'POST',
      auth: null,
      redirect: 'manual',
      headers: { ...FORM, cookie },
      body: form({ _csrf: token, name: 'Gift card 20', price: '20,00', tax: '', category: '', discount: '', costPrice: '', description: '' }),
    });
    expect(res.status).toBe(303);
    expect((await t.admin('/products/9')).body).toMatchObject({
      identifier: '9',
      name: 'Gift card 20',
      price: 20,
      attribute: 16,
      priceIncludesVat: true,
      tax: null,
      discount: null,
      description: '',
    });
  });

  it('a device username that is taken is a 409 with the API message (username_taken); a malformed field still a 400', async () => {
    const { cookie } = await signIn();
    const post = async (fields: Record<string, string>) => {
      const csrf = csrfOf((await page('devices', cookie)).text);
      const res = await t.gw.fetch('/admin/devices', {
        method: 'POST',
        auth: null,
        redirect: 'manual',
        headers: { ...FORM, cookie },
        body: form({ _csrf: csrf, ...fields }),
      });
      return { status: res.status, text: await res.text() };
    };
    const taken = await post({ username: 'tablet-1', register: 'TAB-7' });
    expect(taken.status).toBe(409);
    expect(taken.text).toContain('username tablet-1 is taken in this deployment (usernames are unique across every shop)');
    expect((await post({ username: 'admin', register: 'TAB-7' })).status).toBe(409);
    expect((await post({ username: 'tablet-1', register: 'bad register!' })).status).toBe(400);
    expect((await post({ username: 'tablet-new', register: 'TAB-7' })).status).toBe(201);
  });
});
