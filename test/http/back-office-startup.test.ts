import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adminAuth, invoice, removeDir, startTestGateway, type TestGateway } from '../helpers.js';

let gw: TestGateway;
afterEach(async () => {
  await gw.stop();
  await removeDir(gw.dir);
});

const admin = (path: string, method = 'GET') => gw.json(`/api${path}`, { method, auth: adminAuth });
const push = async (invoices: unknown[]) => expect((await gw.fetch('/invoice', { method: 'POST', body: JSON.stringify({ invoices }) })).status).toBe(200);
const restart = async () => {
  await gw.stop();
  gw = await startTestGateway({}, gw.dir);
};

async function editJson(path: string, edit: (data: any) => void) {
  const data = JSON.parse(await readFile(path, 'utf8'));
  edit(data);
  await writeFile(path, JSON.stringify(data));
}
/** The one chunk of register TAB-1's sales (all pushed the same UTC day). */
const salesChunk = async (dataDir: string) => {
  const [day] = await readdir(join(dataDir, 'sales', 'TAB-1'));
  return join(dataDir, 'sales', 'TAB-1', day, 'c-000001.json');
};

describe('start-up', () => {
  it('lists sales in the order received after a restart, even when an older sale changed since', async () => {
    gw = await startTestGateway();
    await push([invoice(1, [{ productId: 'a', qty: 1, total: 2 }]), invoice(2, [{ productId: 'a', qty: 1, total: 3 }])]);
    await push([invoice(1, [{ productId: 'a', qty: 1, total: 2 }], { checkoutStatus: '11' })]);
    const order = async () => (await admin('/sales')).body.items.map((s: { identifier: string; status: string }) => `${s.identifier} ${s.status}`);
    const before = await order();
    expect(before).toEqual(['TAB-1:1 refunded', 'TAB-1:2 completed']);
    await restart();
    expect(await order()).toEqual(before);
  });

  it('gives sales stored before days existed to the open day, once, and writes it back', async () => {
    gw = await startTestGateway();
    await push([invoice(1, [{ productId: 'a', qty: 1, total: 2 }])]);
    await restart();
    await gw.stop();
    await editJson(await salesChunk(gw.dataDir), (chunk) => {
      for (const r of chunk.records) {
        delete r.sale.dayId;
        delete r.lineFacts;
        for (const c of r.history) delete c.dayId;
      }
    });
    gw = await startTestGateway({}, gw.dir);
    expect(gw.logs.join('')).toMatch(/assigned sales stored before register days existed/);
    expect((await admin('/days/TAB-1:1/report')).body).toMatchObject({ saleCount: 1, gross: 2 });
    expect((await admin('/sales/stats')).body.items).toMatchObject([{ identifier: 'TAB-1:1', dayId: 'TAB-1:1', total: 2 }]);
    await restart(); // a clean stop writes the write-ahead log back into the chunks
    const stored = JSON.parse(await readFile(await salesChunk(gw.dataDir), 'utf8')).records[0];
    expect(stored.sale.dayId).toBe('TAB-1:1');
    expect(stored.history[0].dayId).toBe('TAB-1:1');
    expect(gw.logs.join('')).not.toMatch(/assigned sales/);
    expect((await admin('/days/TAB-1:1/report')).body).toMatchObject({ saleCount: 1, gross: 2 });
  });

  it('closes, from the stored sales, a day whose Z report was lost in a crash while the next day already had a sale', async () => {
    gw = await startTestGateway();
    await push([invoice(1, [{ productId: 'a', qty: 1, total: 2 }])]);
    const z = (await admin('/days/current?cashRegisterName=TAB-1', 'POST')).body;
    await push([invoice(2, [{ productId: 'a', qty: 1, total: 5 }])]);
    await gw.stop();
    await editJson(join(gw.dataDir, 'backoffice', 'days', 'TAB-1', 'c-000001.json'), (chunk) => (chunk.records = []));
    gw = await startTestGateway({}, gw.dir);
    expect(gw.logs.join('')).toMatch(/closed a day whose Z report was lost in a crash/);
    const recovered = (await admin('/days/TAB-1:1/report')).body;
    expect(recovered).toMatchObject({ type: 'Z', saleCount: z.saleCount, gross: z.gross, grandTotal: z.grandTotal, balance: z.balance });
    expect((await admin('/days/TAB-1:2/report')).body).toMatchObject({ type: 'X', gross: 5, grandTotal: 7 });
  });

  it('warns when the stored sales no longer add up to a Z report, and keeps the Z report as closed', async () => {
    gw = await startTestGateway();
    await push([invoice(1, [{ productId: 'a', qty: 1, total: 2 }])]);
    const z = (await admin('/days/current?cashRegisterName=TAB-1', 'POST')).body;
    await gw.stop();
    await editJson(await salesChunk(gw.dataDir), (chunk) => (chunk.records[0].sale.total = 3));
    gw = await startTestGateway({}, gw.dir);
    expect(gw.logs.join('')).toMatch(/"dayId":"TAB-1:1".*no longer add up/);
    expect((await admin('/days/TAB-1:1/report')).body).toEqual(z);
  });
});
