import { describe, expect, it } from 'vitest';
import { adminAuth, invoice, useTestGateway } from '../helpers.js';

// What the README promises a new user (issue 18 item 11), on a gateway with the demo catalogue.
const t = useTestGateway({ store: { dataDir: './data', seedDemo: true } });

const csv = async (path: string, accept = 'text/csv') => {
  const res = await t.gw.fetch(`/api${path}`, { auth: adminAuth, headers: { accept } });
  return { status: res.status, type: res.headers.get('content-type'), lines: (await res.text()).split('\r\n').filter((l) => l !== '') };
};

describe('lists answer CSV (Accept: text/csv or ?format=csv), with a header row even when empty', () => {
  it.each([
    ['/sales', 'identifier,cashRegisterName,createdAt,status,dayId,total,vat,discount,costPrice,lines,payments,device,invoiceId'],
    ['/quarantine', 'id,at,code,reason,state,count,cashRegisterName,device,invoiceId,payload'],
    ['/days', 'dayId,cashRegisterName,dayNo,status,openedAt,closedAt,saleCount,refundCount,cancelCount,gross'],
  ])('%s, empty', async (path, header) => {
    for (const [p, accept] of [
      [path, 'text/csv'],
      [`${path}?format=csv`, '*/*'],
    ]) {
      const res = await csv(p, accept);
      expect(res.status).toBe(200);
      expect(res.type).toMatch(/^text\/csv/);
      expect(res.lines).toEqual([header]);
    }
  });

  it('/products and /stock list the catalogue', async () => {
    const products = await csv('/products');
    expect(products.lines[0]).toBe('identifier,name,description,price,priceIncludesVat,tax,discount,costPrice,attribute,custom');
    expect(products.lines[1]).toBe('101,Espresso,Single shot,2.2,true,1,,0.35,0,');
    expect(products.lines).toHaveLength(23);
    const stock = await csv('/stock?format=csv');
    expect(stock.lines[0]).toBe('product,quantity,tracked,setAt');
    expect(stock.lines[1]).toBe('101,0,false,');
    expect((await csv('/stock?format=csv&maxResults=2')).lines).toHaveLength(3);
  });

  it('/sales, /quarantine and /days with rows', async () => {
    const sale = invoice(202611230100001, [{ productId: '101', qty: 2, total: 4.4 }], { date: '1795431600000' });
    await t.gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices: [sale, { id: 'x' }] }) });
    const sales = await csv('/sales');
    expect(sales.lines[1]).toBe('TAB-1:202611230100001,TAB-1,2026-11-23T11:00:00.000Z,completed,TAB-1:1,4.4,0,0,0,1,cash 4.4,tablet-1,202611230100001');
    const quarantine = await csv('/quarantine');
    expect(quarantine.lines).toHaveLength(2);
    expect(quarantine.lines[1]).toContain(',invalid_invoice,');
    expect((await csv('/days')).lines[1]).toMatch(/^TAB-1:1,TAB-1,1,open,[^,]+,,1,0,0,4.4$/);
    // JSON stays the default.
    expect((await t.admin('/sales')).body.total).toBe(1);
  });
});

describe('PUT /api/products/{id}', () => {
  it('answers (and stores) the full representation with its defaults, as GET shows a seeded product', async () => {
    const put = await t.admin('/products/777', 'PUT', { name: 'Scone', price: 2.9, tax: '1' });
    const expected = {
      identifier: '777',
      name: 'Scone',
      description: '',
      price: 2.9,
      priceIncludesVat: true,
      tax: '1',
      discount: null,
      costPrice: 0,
      attribute: 0,
      custom: null,
    };
    expect(put.status).toBe(201);
    expect(put.body).toStrictEqual(expected);
    expect((await t.admin('/products/777')).body).toStrictEqual(expected);
    expect(Object.keys((await t.admin('/products/101')).body)).toEqual(Object.keys(expected));
    const post = await t.admin('/products', 'POST', { identifier: '778', name: 'Muffin', price: 3, attribute: 16 });
    expect(post.body).toStrictEqual({ ...expected, identifier: '778', name: 'Muffin', price: 3, tax: null, attribute: 16 });
  });
});

describe('a VAT rate derived from the pushed amounts (no catalogue tax)', () => {
  it('shows the catalogue rate within 0.05 points, else the derived rate with 2 decimals', async () => {
    const sale = (id: number, total: number, tax: number) =>
      invoice(id, [{ productId: 'not-in-catalogue', qty: 1, total }], { positions: [{ productId: 'not-in-catalogue', qty: 1, total, tax }], tax });
    const push = await t.gw.fetch('/invoice', {
      method: 'POST',
      body: JSON.stringify({ invoices: [sale(202611230100001, 4.94, 0.45), sale(202611230100002, 1.075, 0.075)] }),
    });
    expect(push.status).toBe(200);
    const report = (await t.admin('/days/current/report?cashRegisterName=TAB-1')).body;
    // 0.45 / 4.49 = 10.02 % is the demo's 10 % rate; 7.5 % is no catalogue rate (not "10", the nearest).
    expect(report.vatRates.map((r: { rate: string; vat: number }) => [r.rate, r.vat])).toEqual([
      ['7.5', 0.08],
      ['10', 0.45],
    ]);
    const text = await (await t.gw.fetch('/api/days/current/report?cashRegisterName=TAB-1&format=text', { auth: adminAuth })).text();
    expect(text).toContain('VAT 10% of');
    expect(text).toContain('VAT 7.5% of');
    expect(text).not.toContain('10.02');
  });
});
