import { expect } from 'vitest';
import { ADMIN, adminAuth, type TestGateway } from '../helpers.js';

export { eventually } from '../forward/harness.js';

export const fastUpstream = (url: string) => ({
  baseUrl: `${url}/api/`,
  username: ADMIN.username,
  password: ADMIN.password,
  timeoutMs: 1_000,
  pollIntervalMs: 150,
  retryCapMs: 150,
  breakerFailures: 3,
  breakerCooldownMs: 200,
});

export async function seedUpstreamCatalogue(b: TestGateway): Promise<void> {
  const put = async (path: string, body: unknown) => {
    const res = await b.json(`/api${path}`, { method: 'PUT', body, auth: adminAuth });
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
  };
  await put('/taxes/1', { name: 'Reduced', vat: 10 });
  await put('/discounts/1', { name: 'Staff', percentage: 15 });
  await put('/categories/drinks', { name: 'Drinks' });
  await put('/categories/coffee', { name: 'Coffee', parent: 'drinks' });
  await put('/products/72', { name: 'Latte', price: 3.5, tax: '1', discount: '1', costPrice: 0.9 });
  await put('/products/73', { name: 'Espresso', price: 2.2, tax: '1' });
  await put('/commodities/72.coffee', { product: '72', category: 'coffee' });
  await put('/commodities/73.coffee', { product: '73', category: 'coffee' });
  await put('/stock/72', { quantity: 10 });
}

export async function tabletView(g: TestGateway | { fetch: TestGateway['fetch'] }, resource: 'stock' | 'tax' | 'discount'): Promise<unknown> {
  const res = await g.fetch(`/${resource}`);
  expect(res.status).toBe(200);
  return res.json();
}

export async function salesOn(b: TestGateway): Promise<{ identifier: string; status: string; version: number }[]> {
  const res = await b.json('/api/sales?maxResults=1000', { auth: adminAuth });
  return res.body.items;
}
