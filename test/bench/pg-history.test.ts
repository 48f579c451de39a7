import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openInProcess } from '../../bench/lib/in-process.js';
import { historyRecords } from '../../bench/lib/pg-history.js';
import { saleRow } from '../../src/store/postgres/pg-store.js';
import { catalogue, prng, tabshopInvoice } from '../../bench/lib/workload.js';
import type { Gateway } from '../../src/gateway.js';
import { seedCatalogue } from '../../src/gateway.js';
import { removeDir } from '../helpers.js';

let open: { g: Gateway; dir: string } | undefined;
afterEach(async () => {
  await open?.g.close();
  if (open) await removeDir(open.dir);
  open = undefined;
});

describe('bench: the PostgreSQL history written with COPY (bench/lib/pg-history.ts)', () => {
  it('generates the record the ledger stores for the same pushed invoice, byte for byte', async () => {
    const cat = catalogue(300);
    const register = { username: 't', password: 'p', cashRegister: 'TAB-1' };
    const dir = await mkdtemp(join(tmpdir(), 'tsg-bench-history-'));
    const g = await openInProcess(dir);
    open = { g, dir };
    await seedCatalogue(g.catalog, g.ledger, cat);
    const [generated] = historyRecords({ sales: 1, registers: [register], catalogue: cat });
    // The generator's first invoice, pushed through the ledger at the generator's receipt time.
    const invoice = tabshopInvoice({
      seq: 1_000_000_000,
      products: cat.products.map((p) => p.identifier),
      date: Date.parse(generated.sale.createdAt),
      rnd: prng(17),
    });
    await g.ledger.ingestInvoices([invoice], { device: 't', cashRegisterName: 'TAB-1', at: new Date(generated.history[0].at) });
    await g.store.commit();
    const stored = await g.store.getSale('TAB-1:1000000000');
    expect(JSON.stringify(generated)).toBe(JSON.stringify(stored));
  });

  it('spreads sales over registers and days, seqs 1…n, one row per sale and per line', () => {
    const registers = ['TAB-1', 'TAB-2'].map((r) => ({ username: r, password: 'p', cashRegister: r }));
    const records = [...historyRecords({ sales: 10, registers, catalogue: catalogue(50), days: 5 })];
    expect(records.map((r) => r.history[0].seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(new Set(records.map((r) => r.sale.cashRegisterName))).toEqual(new Set(['TAB-1', 'TAB-2']));
    expect(new Set(records.map((r) => r.sale.createdAt.slice(0, 10))).size).toBe(5);
    const { row, lines } = saleRow(records[0]);
    expect(row.slice(0, 4)).toEqual(['TAB-1:1000000000', 'TAB-1', '1000000000', 'completed']);
    expect(JSON.parse(row[row.length - 1] as string)).toEqual(records[0]);
    expect(lines).toHaveLength(records[0].sale.lines.length);
  });
});
