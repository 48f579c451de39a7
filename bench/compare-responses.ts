/**
 * Fetches a fixed list of API and TabShop responses (status, content type, ETag, body) from a
 * gateway started on a fresh copy of a bench-seeded data dir, one file per response, so that two
 * builds can be compared byte for byte (docs/performance.md):
 *
 *   npx tsx bench/compare-responses.ts <dist/cli.js of build A> <dir with config.json + data> <out dir A>
 *   npx tsx bench/compare-responses.ts <dist/cli.js of build B> <same dir> <out dir B>
 *   diff -r <out dir A> <out dir B>
 *
 * The dir is what bench/lib/seed.ts writes (bench credentials, 100,000 sales on TAB-01..04 from 2026-01-01).
 */
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { startServerProcess } from './lib/procs.js';
const [cli, src, out] = process.argv.slice(2);
const dir = `${out}-data`;
execSync(`rm -rf ${dir} ${out} && cp -a ${src} ${dir}`);
mkdirSync(out, { recursive: true });
const p = await startServerProcess([cli, 'serve', '--config', `${dir}/config.json`], `${dir}/log`);
const admin = `Basic ${Buffer.from('admin:bench-admin').toString('base64')}`;
const dev = `Basic ${Buffer.from('tablet-01:bench-pw-01').toString('base64')}`;
const api = [
  '/api/products/stats',
  '/api/products/stats?format=csv',
  '/api/products/stats?from=2026-02-01&to=2026-03-01',
  '/api/products/stats?cashRegisterName=TAB-02&from=2026-01-10&to=2026-01-20&format=csv',
  '/api/categories/stats',
  '/api/categories/stats?format=csv',
  '/api/categories/stats?from=2026-03-01',
  '/api/registrations/stats',
  '/api/registrations/stats?format=csv',
  '/api/registrations/stats?to=2026-02-15',
  '/api/sales/stats',
  '/api/sales/stats?from=2026-02-01&to=2026-03-01&maxResults=500',
  '/api/sales/stats?format=csv&cashRegisterName=TAB-03',
  '/api/sales?maxResults=100',
  '/api/sales?firstResult=50000&maxResults=200',
  '/api/sales?cashRegisterName=TAB-04&from=2026-02-01T00:00:00.000Z&to=2026-02-10T00:00:00.000Z&maxResults=1000',
  '/api/sales?status=completed&firstResult=99900&maxResults=1000',
  '/api/sales-diff/0/100',
  '/api/sales-diff/50000/50500',
  '/api/sales-diff/99900/100100',
  '/api/days',
  '/api/days?cashRegisterName=TAB-01',
  '/api/days/TAB-01:1',
  '/api/days/TAB-01:1/report',
  '/api/days/TAB-02:1/report?format=text',
  '/api/registrations',
  '/api/registrations/TAB-01',
  '/api/registrations/TAB-01/version',
  '/api/registrations/TAB-01/balance',
  '/api/sales/TAB-01:1000000000',
  '/api/sales/TAB-01:1000050041',
  '/api/sales/TAB-01:1000000000/receipt',
  '/api/sales/TAB-01:1000050042/receipt?format=text',
  '/api/stock',
  '/api/stock/1001',
  '/api/sales?cashRegisterName=TAB-03&maxResults=5',
  '/api/stock/1000',
  '/api/modifications?maxResults=50',
  '/api/quarantine',
];
const tab = ['/stock', '/tax', '/discount'];
let i = 0;
for (const [auth, paths] of [
  [admin, api],
  [dev, tab],
] as const)
  for (const path of paths) {
    const res = await fetch(p.url + path, { headers: { authorization: auth } });
    const body = Buffer.from(await res.arrayBuffer());
    writeFileSync(
      `${out}/${String(i++).padStart(2, '0')}.txt`,
      `${path}\n${res.status} ${res.headers.get('content-type')} ${res.headers.get('etag') ?? ''}\n${body.toString('utf8')}`,
    );
  }
await p.stop();
execSync(`rm -rf ${dir}`);
console.log(out, i, 'responses');
