import type { LoadOptions } from './load.js';
import type { BenchDevice } from './seed.js';
import { prng, tabshopInvoice } from './workload.js';

export const basicAuth = (d: { username: string; password: string }) => `Basic ${Buffer.from(`${d.username}:${d.password}`).toString('base64')}`;

/** Every request a fresh invoice (ids never repeat), every connection its own tablet. */
export function pushLoad(url: string, devices: BenchDevice[], products: string[], connections: number, seed: number): LoadOptions {
  const rnd = prng(seed);
  let nextDevice = 0;
  let seq = 0;
  const auths = devices.map(basicAuth);
  return {
    url: `${url}/invoice`,
    connections,
    method: 'POST',
    setupRequest: (req, context) => {
      if (context.auth === undefined) context.auth = auths[nextDevice++ % auths.length];
      const invoice = tabshopInvoice({ seq: seed * 100_000_000 + seq++, products, date: Date.UTC(2026, 5, 1, 12) + seq, rnd });
      return {
        ...req,
        method: 'POST',
        headers: { authorization: context.auth as string, 'content-type': 'application/x-www-form-urlencoded' },
        body: JSON.stringify({ invoices: [invoice] }),
      };
    },
  };
}
