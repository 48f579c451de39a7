import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adminAuth, deviceAuth, invoice, useTestGateway } from '../helpers.js';

const t = useTestGateway({ store: { dataDir: './data', seedDemo: true } });

const pushBytes = (body: Buffer, contentType = 'application/x-www-form-urlencoded') =>
  t.gw.fetch('/invoice', {
    method: 'POST',
    body: new Uint8Array(body),
    auth: deviceAuth,
    headers: { 'content-type': contentType, accept: 'application/json' },
  });

async function journalLines(): Promise<Record<string, unknown>[]> {
  const dir = join(t.gw.dataDir, 'journal');
  const lines: Record<string, unknown>[] = [];
  for (const f of (await readdir(dir)).sort()) {
    for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) if (line) lines.push(JSON.parse(line));
  }
  return lines;
}

describe('push body encoding (issue 18 item 9)', () => {
  const kaese = invoice(202611230100001, [{ productId: '403', qty: 1, total: 3.8 }], {
    positions: [{ productId: '403', productName: 'Käsekuchen', qty: 1, total: 3.8 }],
  });

  it('stores an ISO-8859-1 push (0xE4 for ä) as Windows-1252, records source.encoding and keeps the raw bytes in the journal', async () => {
    const latin1 = Buffer.from(JSON.stringify({ invoices: [kaese] }), 'latin1');
    expect(latin1.includes(0xe4)).toBe(true);
    const res = await pushBytes(latin1);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: 1, created: 1, updated: 0, unchanged: 0, quarantined: 0 });

    const sale = (await t.admin('/sales/TAB-1:202611230100001')).body;
    expect(sale.lines[0].name).toBe('Käsekuchen');
    expect(sale.source.encoding).toBe('windows-1252');
    expect(sale.source.invoice.positions[0].productName).toBe('Käsekuchen');

    const [entry] = await journalLines();
    expect(entry.body).toBeUndefined();
    expect(Buffer.from(entry.bodyBase64 as string, 'base64').equals(latin1)).toBe(true);

    // The same invoice re-sent as UTF-8 (the tablet's next sync) is the same sale.
    const again = await pushBytes(Buffer.from(JSON.stringify({ invoices: [kaese] }), 'utf8'));
    expect((await again.json()).unchanged).toBe(1);
  });

  it('decodes Windows-1252 specials (0x80 is €) and leaves UTF-8 sales without source.encoding', async () => {
    const euro = invoice(202611230100002, [{ productId: 'x', qty: 1, total: 1 }], {
      positions: [{ productId: 'x', productName: '€ \u2013 Gutschein', qty: 1, total: 1 }],
    });
    const bytes = Buffer.from(JSON.stringify({ invoices: [euro] }).replace('€ \u2013', '\u0080 \u0096'), 'latin1');
    expect((await pushBytes(bytes)).status).toBe(200);
    expect((await t.admin('/sales/TAB-1:202611230100002')).body.lines[0].name).toBe('€ \u2013 Gutschein');

    expect((await pushBytes(Buffer.from(JSON.stringify({ invoices: [kaese] }), 'utf8'), 'application/json')).status).toBe(200);
    const utf8Sale = (await t.admin('/sales/TAB-1:202611230100001')).body;
    expect(utf8Sale.lines[0].name).toBe('Käsekuchen');
    expect(utf8Sale.source.encoding).toBeUndefined();
  });

  it('accepts a UTF-8 BOM and journals the bytes as received', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ invoices: [kaese] }), 'utf8')]);
    const res = await pushBytes(body, 'application/json; charset=utf-8');
    expect(res.status).toBe(200);
    expect((await res.json()).created).toBe(1);
    expect((await t.admin('/sales/TAB-1:202611230100001')).body.source.encoding).toBeUndefined();
    const [entry] = await journalLines();
    expect(Buffer.from(entry.body as string, 'utf8').equals(body)).toBe(true);
  });

  it('still refuses a body that is JSON in neither decoding (400, raw body quarantined)', async () => {
    const res = await pushBytes(Buffer.from([0x7b, 0xe4, 0x7d]));
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe('invalid_json');
    const quarantine = await t.gw.json('/api/quarantine', { auth: adminAuth });
    expect(quarantine.body.total).toBe(1);
  });
});

describe("the interface document's shapes (issue 18 item 10)", () => {
  const NONE = { id: 0, percentage: 0, name: '-' };
  const get = async (path: string) => (await t.gw.fetch(path)).json();

  it('tax and discount lists start with the document\'s "none" entry', async () => {
    expect(await get('/tax')).toEqual({ taxes: [NONE, { id: 1, percentage: 0.1, name: 'Reduced 10 %' }, { id: 2, percentage: 0.2, name: 'Standard 20 %' }] });
    expect((await get('/discount')).discounts[0]).toEqual(NONE);
  });

  it('stock: attribute is a string ("0", "4", "16", "20"); no tax or discount is 0', async () => {
    const { products } = await get('/stock');
    const byId = new Map(products.map((p: { id: string }) => [p.id, p]));
    expect(byId.get('101')).toMatchObject({ attribute: '4', taxid: 1, discountid: 0, stockqty: 999999 });
    expect(byId.get('401')).toMatchObject({ attribute: '0', taxid: 1, discountid: 1 });
    expect(byId.get('901')).toMatchObject({ attribute: '20', taxid: 0, discountid: 0 });
    await t.admin('/products/902', 'PUT', { name: 'Tracked voucher', price: 5, attribute: 16 });
    await t.admin('/stock/902', 'PUT', { quantity: 3 });
    expect((await get('/stock')).products.find((p: { id: string }) => p.id === '902')).toMatchObject({ attribute: '16', taxid: 0, discountid: 0 });
  });

  it('a tax or discount defined with id 0 replaces the "none" entry; products without one then reference -1', async () => {
    const before = await t.gw.fetch('/stock');
    const etag = before.headers.get('etag')!;
    expect((await t.admin('/taxes/0', 'PUT', { name: 'Exempt', vat: 0 })).status).toBe(201);
    expect((await get('/tax')).taxes[0]).toEqual({ id: 0, percentage: 0, name: 'Exempt' });
    expect((await get('/tax')).taxes.filter((x: { id: number }) => x.id === 0)).toHaveLength(1);
    expect((await get('/discount')).discounts[0]).toEqual(NONE);
    // The pre-serialised stock body follows the change (new ETag, -1 for "no tax").
    const after = await t.gw.fetch('/stock', { headers: { 'if-none-match': etag } });
    expect(after.status).toBe(200);
    expect((await after.json()).products.find((p: { id: string }) => p.id === '901')).toMatchObject({ taxid: -1, discountid: 0 });
  });
});

describe('a pushed position with tax or discount id 0 (issue 18 item 10)', () => {
  it('means none: stored, kept verbatim, VAT rate from the catalogue product, never "tax 0"', async () => {
    const sale = invoice(202611230100003, [{ productId: '101', qty: 1, total: 2.2 }], {
      positions: [{ productId: '101', productName: 'Espresso', qty: 1, total: 2.2, tax: 0.2, taxid: 0, discountid: 0 }],
      tax: 0.2,
    });
    const res = await t.gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: [sale] }), headers: { accept: 'application/json' } });
    expect((await res.json()).created).toBe(1);
    const receipt = (await t.admin('/sales/TAB-1:202611230100003/receipt')).body;
    expect(receipt.lines[0].vatRate).toBe('10');
    expect((await t.admin('/sales/TAB-1:202611230100003')).body.source.invoice.positions[0]).toMatchObject({ taxid: 0, discountid: 0 });
  });
});
