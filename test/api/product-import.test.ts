import { describe, expect, it } from 'vitest';
import { adminAuth, deviceAuth, useTestGateway } from '../helpers.js';

const t = useTestGateway();

const importCsv = async (body: string | Buffer, query = '', auth = adminAuth) => {
  const res = await t.gw.fetch(`/api/products/import${query}`, {
    method: 'POST',
    auth,
    body: new Uint8Array(Buffer.isBuffer(body) ? body : Buffer.from(body)),
    headers: { 'content-type': 'text/csv' },
  });
  return { status: res.status, body: (await res.json()) as any };
};

describe('POST /api/products/import (CSV)', () => {
  it('reads TabShop column names; dryRun changes nothing; re-importing the same file changes nothing', async () => {
    await t.admin('/taxes/1', 'PUT', { name: 'Reduced', vat: 10 });
    const file =
      'id,category,title,price,costprice,discountid,description,attribute,stockqty,taxid\r\n'
      + '101,/Drinks/Coffee,Espresso,2.2,0.4,0,"Short, strong",0,,1\r\n'
      + '102,/Drinks/Coffee,Latte,3.5,0.9,0,,0,40,1\r\n'
      + '103,/Food,Scone,abc,0,0,,0,,1\r\n'
      + '104,/Food,Muffin,2.5,0,0,,0,,7\r\n';
    const dry = await importCsv(file, '?dryRun=true');
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, delimiter: ',', encoding: 'utf-8', unchanged: 0, newCategories: ['/Drinks/Coffee'] });
    expect(dry.body.created.map((r: { identifier: string }) => r.identifier)).toEqual(['101', '102']);
    expect(dry.body.refused).toEqual([
      { row: 4, identifier: '103', reason: 'price "abc" is not a number' },
      { row: 5, identifier: '104', reason: 'tax 7 does not exist' },
    ]);
    expect((await t.admin('/products')).body.total).toBe(0);

    const done = await importCsv(file);
    expect(done.body.created).toHaveLength(2);
    expect((await t.admin('/products/101')).body).toMatchObject({ name: 'Espresso', price: 2.2, costPrice: 0.4, tax: '1', description: 'Short, strong' });
    expect((await t.admin('/stock/102')).body).toMatchObject({ quantity: 40, tracked: true });
    expect((await t.admin('/stock/101')).body.tracked).toBe(false);
    const stock = await t.gw.json('/stock');
    expect(stock.body.products.find((p: { id: string }) => p.id === '101').category).toBe('/Drinks/Coffee');

    const again = await importCsv(file);
    expect(again.body).toMatchObject({ created: [], changed: [], unchanged: 2 });

    // An export imports back unchanged.
    const exported = await t.gw.fetch('/api/products/export.csv', { auth: adminAuth });
    expect(exported.headers.get('content-type')).toContain('text/csv');
    const csv = await exported.text();
    expect(csv.split('\r\n')[0]).toBe('id,category,title,price,costprice,discountid,description,attribute,stockqty,taxid');
    expect(csv).toContain('102,/Drinks/Coffee,Latte,3.5,0.9,0,,0,40,1');
    expect((await importCsv(csv)).body).toMatchObject({ created: [], changed: [], unchanged: 2, refused: [] });
  });

  it('an export whose text was neutralised against spreadsheet formulas imports back unchanged; € in Windows-1252', async () => {
    await t.admin('/products/201', 'PUT', { name: '=Special', price: 3, description: '-10% today' });
    const exported = await (await t.gw.fetch('/api/products/export.csv', { auth: adminAuth })).text();
    expect(exported).toContain("'=Special");
    expect((await importCsv(exported)).body).toMatchObject({ created: [], changed: [], unchanged: 1, refused: [] });
    expect((await t.admin('/products/201')).body).toMatchObject({ name: '=Special', description: '-10% today' });
    const euro = Buffer.from([
      ...Buffer.from('id;name;price\r\n202;Caf', 'latin1'),
      0xe9,
      ...Buffer.from(' ', 'latin1'),
      0x80,
      ...Buffer.from(';2,00\r\n', 'latin1'),
    ]);
    expect((await importCsv(euro)).body).toMatchObject({ encoding: 'windows-1252', refused: [] });
    expect((await t.admin('/products/202')).body.name).toBe('Café €');
  });

  it('Windows-1252, semicolons, decimal commas and common column names (name, barcode, vat, quantity)', async () => {
    await t.admin('/taxes/2', 'PUT', { name: 'Standard', vat: 20 });
    const text = 'Barcode;Name;Price;VAT;Quantity;Colour\r\n4006381333931;Crème brûlée;4,50;20;12,5;red\r\n';
    const bytes = Buffer.from(text, 'latin1');
    const res = await importCsv(bytes);
    expect(res.body).toMatchObject({ encoding: 'windows-1252', delimiter: ';', ignoredColumns: ['Colour'], refused: [] });
    expect((await t.admin('/products/4006381333931')).body).toMatchObject({ name: 'Crème brûlée', price: 4.5, tax: '2' });
    expect((await t.admin('/stock/4006381333931')).body.quantity).toBe(12.5);
    const tab = await importCsv('name\tprice\r\nTea\t1,80\r\n');
    expect(tab.body).toMatchObject({ delimiter: '\t', refused: [] });
    expect(tab.body.created[0]).toMatchObject({ name: 'Tea' });
  });

  it('is for admins only', async () => {
    expect((await importCsv('id,title,price\r\n1,A,1\r\n', '', deviceAuth)).status).toBe(403);
  });
});
