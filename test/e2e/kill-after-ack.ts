import { expect } from 'vitest';
import { adminAuth, deviceAuth, device2Auth, invoice } from '../helpers.js';
import type { GatewayProcess } from './process.js';

/**
 * The SIGKILL durability scenario, whatever the store: 24 concurrent pushes of 5 invoices from two
 * tablets, SIGKILL right after the answers, a restart; every acknowledged sale is there exactly
 * once and a re-push is unchanged. Returns the restarted gateway for store-specific checks.
 */
export async function killAfterAcknowledgedPushes(start: () => Promise<GatewayProcess>): Promise<GatewayProcess> {
  const first = await start();
  const acked: string[] = [];
  await Promise.all(
    Array.from({ length: 24 }, (_, i) => {
      const auth = i % 2 ? device2Auth : deviceAuth;
      const register = i % 2 ? 'TAB-2' : 'TAB-1';
      const invoices = Array.from({ length: 5 }, (_, j) => invoice(20261123000000 + i * 10 + j, [{ productId: 'p', qty: 1, total: 1.1 }]));
      return fetch(`${first.url}/invoice`, { method: 'POST', headers: { authorization: auth }, body: JSON.stringify({ invoices }) }).then(async (res) => {
        if (res.status === 200 && (await res.text()) === 'true') acked.push(...invoices.map((inv) => `${register}:${inv.id}`));
      });
    }),
  );
  first.child.kill('SIGKILL');
  await first.exited;
  expect(acked).toHaveLength(120);

  const second = await start();
  const list = await (await fetch(`${second.url}/api/sales?maxResults=1000`, { headers: { authorization: adminAuth } })).json();
  expect(list.items.map((s: { identifier: string }) => s.identifier).sort()).toEqual([...acked].sort());
  expect(list.total).toBe(120);
  const again = await fetch(`${second.url}/invoice`, {
    method: 'POST',
    headers: { authorization: deviceAuth, accept: 'application/json' },
    body: JSON.stringify({ invoices: [invoice(20261123000000, [{ productId: 'p', qty: 1, total: 1.1 }])] }),
  });
  expect(await again.json()).toMatchObject({ unchanged: 1, created: 0 });
  return second;
}
