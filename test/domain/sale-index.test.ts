import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SaleIndex, type IndexedSale, type SaleQuery } from '../../src/domain/sale-index.js';

const hex = (s: string) => createHash('sha256').update(s).digest('hex');

function sale(n: number, extra: Partial<IndexedSale> = {}): IndexedSale {
  return {
    identifier: `TAB-${n % 3}:${n}`,
    cashRegisterName: `TAB-${n % 3}`,
    createdAt: `2026-11-${String(10 + (n % 20)).padStart(2, '0')}T10:00:00.000Z`,
    status: n % 4 === 0 ? 'refunded' : 'completed',
    identity: hex(`id${n}`),
    content: hex(`c${n}`),
    seq: n,
    ...extra,
  };
}

describe('SaleIndex', () => {
  it('gives back what was stored, across growth of its columns', () => {
    const index = new SaleIndex();
    for (let n = 1; n <= 3000; n++) index.set(sale(n));
    expect(index.size).toBe(3000);
    const e = index.get('TAB-2:2000')!;
    expect(e).toMatchObject({ identifier: 'TAB-2:2000', cashRegisterName: 'TAB-2', createdAt: '2026-11-10T10:00:00.000Z', status: 'refunded', seq: 2000 });
    expect(e.identity).toHaveLength(16);
    expect(index.get('TAB-0:1')).toBeUndefined();
    expect(index.has('TAB-1:1')).toBe(true);
  });

  it('compares identity and content keys by their first 128 bits', () => {
    const index = new SaleIndex();
    index.set(sale(1));
    expect(index.sameIdentity('TAB-1:1', hex('id1'))).toBe(true);
    expect(index.sameIdentity('TAB-1:1', hex('id2'))).toBe(false);
    expect(index.sameContent('TAB-1:1', hex('c1'))).toBe(true);
    expect(index.sameContent('TAB-1:1', hex('c1').slice(0, 32) + '0'.repeat(32))).toBe(true);
    expect(index.sameContent('TAB-1:1', hex('c2'))).toBe(false);
    expect(index.sameContent('TAB-9:9', hex('c1'))).toBe(false);
  });

  it('accepts keys that are not hex digests (digesting them)', () => {
    const index = new SaleIndex();
    index.set(sale(1, { identity: 'plain', content: 'other' }));
    expect(index.sameIdentity('TAB-1:1', 'plain')).toBe(true);
    expect(index.sameContent('TAB-1:1', 'plain')).toBe(false);
  });

  it('updates a sale in place, keeping its place in the order', () => {
    const index = new SaleIndex();
    for (let n = 1; n <= 3; n++) index.set(sale(n));
    index.set(sale(1, { status: 'cancelled', content: hex('changed'), seq: 9 }));
    expect([...index.entries()].map((e) => [e.identifier, e.status, e.seq])).toEqual([
      ['TAB-1:1', 'cancelled', 9],
      ['TAB-2:2', 'completed', 2],
      ['TAB-0:3', 'completed', 3],
    ]);
    expect(index.sameContent('TAB-1:1', hex('changed'))).toBe(true);
    expect(index.size).toBe(3);
  });

  it('orders a load by the sequence number each sale was first stored with', () => {
    const index = new SaleIndex();
    for (const n of [5, 2, 9, 1]) index.set(sale(n));
    index.set({ ...sale(3), seq: 12, firstSeq: 3 });
    index.sortByFirstStored();
    expect([...index.entries()].map((e) => e.seq)).toEqual([1, 2, 12, 5, 9]);
  });

  it.each<[SaleQuery, number]>([
    [{}, 40],
    [{ cashRegisterName: 'TAB-1' }, 14],
    [{ cashRegisterName: 'TAB-7' }, 0],
    [{ status: 'refunded' }, 10],
    [{ from: '2026-11-20T00:00:00.000Z' }, 20],
    [{ to: '2026-11-20T00:00:00.000Z' }, 20],
    [{ cashRegisterName: 'TAB-0', status: 'completed', from: '2026-11-12T00:00:00.000Z', to: '2026-11-25T00:00:00.000Z' }, 6],
  ])('selects %j like a filter over entries() would (%i)', (query, count) => {
    const index = new SaleIndex();
    for (let n = 1; n <= 40; n++) index.set(sale(n));
    const expected = [
      ...index.entries(
        (e) =>
          (query.cashRegisterName === undefined || e.cashRegisterName === query.cashRegisterName)
          && (query.status === undefined || e.status === query.status)
          && (query.from === undefined || e.createdAt >= query.from)
          && (query.to === undefined || e.createdAt < query.to),
      ),
    ];
    expect(expected).toHaveLength(count);
    expect([...index.select(query)]).toEqual(expected);
    const page = index.page(query, 2, 3);
    expect(page.total).toBe(count);
    expect(page.items).toEqual(expected.slice(2, 5));
  });

  it('keeps createdAt exactly as given and filters by it as strings compare, canonical or not', () => {
    const index = new SaleIndex();
    const times = ['2026-11-10T10:00:00.000Z', '2026-11-10T10:00:00Z', '2026-11-11', '+012026-01-01T00:00:00.000Z', 'not a time', '2026-11-12T23:59:59.999Z'];
    for (const [n, createdAt] of times.entries()) index.set(sale(n, { identifier: `R:${n}`, cashRegisterName: 'R', createdAt }));
    expect([...index.entries()].map((e) => e.createdAt)).toEqual(times);
    index.set(sale(1, { identifier: 'R:1', cashRegisterName: 'R', createdAt: '2026-11-13T00:00:00.000Z' }));
    index.set(sale(0, { identifier: 'R:0', cashRegisterName: 'R', createdAt: 'odd again' }));
    const all = [...index.entries()].map((e) => e.createdAt);
    expect(all).toEqual(['odd again', '2026-11-13T00:00:00.000Z', ...times.slice(2)]);
    for (const q of [
      { from: '2026-11-10T12:00:00.000Z' },
      { to: '2026-11-12T00:00:00.000Z' },
      { from: '2026-11-11', to: '2026-11-12T23:59:59.999Z' },
      { from: '2026-11-11T00:00:00Z' },
      { from: '+0', to: 'z' },
      { from: '2026-11-12T23:59:59.999Z', to: '2026-11-13T00:00:00.001Z' },
    ] as SaleQuery[]) {
      const expected = all.filter((c) => (q.from === undefined || c >= q.from) && (q.to === undefined || c < q.to));
      expect(
        [...index.select(q)].map((e) => e.createdAt),
        JSON.stringify(q),
      ).toEqual(expected);
    }
  });

  it('keeps the summary of each sale in its own columns: given on set, kept while a set gives none, unknown sales have none', () => {
    const index = new SaleIndex();
    const summary = (n: number, dayId: string | null) => ({
      total: n + 0.5,
      vat: n / 10,
      lines: n % 4,
      firstSeq: n,
      receivedAt: `2026-11-10T10:00:0${n % 10}.000Z`,
      dayId,
    });
    for (let n = 1; n <= 2000; n++) index.set(sale(n, { summary: summary(n, n % 2 ? `TAB-${n % 3}:1` : null) }));
    expect(index.summary('TAB-1:7')).toEqual(summary(7, 'TAB-1:1'));
    expect(index.dayIdOf('TAB-2:8')).toBeNull();
    expect(index.firstSeqOf('TAB-0:1500')).toBe(1500);
    index.set(sale(7, { status: 'refunded', seq: 2001, summary: summary(7, 'TAB-1:2') }));
    expect(index.summary('TAB-1:7')).toEqual(summary(7, 'TAB-1:2'));
    index.set(sale(7, { seq: 2002 }));
    expect(index.summary('TAB-1:7')).toEqual(summary(7, 'TAB-1:2'));
    index.set(sale(2001));
    expect(index.summary('TAB-0:2001')).toBeUndefined();
    expect(index.summary('TAB-9:9')).toBeUndefined();
    expect(index.dayIdOf('TAB-9:9')).toBeUndefined();
    expect(index.firstSeqOf('TAB-9:9')).toBeUndefined();
  });
});
