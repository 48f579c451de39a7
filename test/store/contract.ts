import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { Catalog } from '../../src/domain/catalog.js';
import type { BalanceMovement } from '../../src/domain/reports.js';
import type { Sale } from '../../src/domain/types.js';
import type { ClosedDay, PresenceDoc } from '../../src/store/back-office-port.js';
import { createStores, type Stores } from '../../src/store/open-stores.js';
import type { OutboxItem } from '../../src/store/outbox-store.js';
import type { PgStore } from '../../src/store/postgres/pg-store.js';
import type { JournalEntry, Modification, QuarantineItem, SaleRecord } from '../../src/store/records.js';
import type { LeaseTimings } from '../../src/store/postgres/connection.js';

/** One place a store keeps its data (a data dir, a database), opened as many times as a test needs. */
export interface StoreLocation {
  /** `store` part of the config that selects it. */
  storeConfig: Config['store'];
  /** Text a refusal of a second opener must contain (the data dir, the database). */
  name: string;
  /** The journal as stored, oldest first. */
  readJournal(): Promise<JournalEntry[]>;
}

export interface OpenedStores extends Stores {
  sales: SaleRecord[];
  quarantine: QuarantineItem[];
  modifications: Modification[];
  catalog: Catalog;
  rounds(): number;
  close(): Promise<void>;
}

export async function openStores(location: StoreLocation, lease?: Partial<LeaseTimings>): Promise<OpenedStores> {
  const stores = await createStores({ store: location.storeConfig } as Config, undefined, lease);
  const sales: SaleRecord[] = [];
  const quarantine: QuarantineItem[] = [];
  const modifications: Modification[] = [];
  const catalog = new Catalog(stores.store);
  stores.store.onRefresh?.((r) => catalog.refreshed(r));
  await stores.store.open({
    onSale: (r) => sales.push(r),
    onQuarantine: (q) => quarantine.push(q),
    onModification: (m) => {
      modifications.push(m);
      catalog.loadModification(m);
    },
  });
  catalog.finishLoading();
  if (stores.kind === 'postgres') {
    // PostgreSQL visits no stored sale or quarantine item at open (nothing grows with history in
    // memory): what it stores is read back from its tables instead.
    const pg = stores.store as PgStore;
    for await (const record of pg.allSales()) sales.push(record);
    const { rows } = await pg.pool.query<{ item: QuarantineItem }>('SELECT item FROM quarantine ORDER BY id');
    quarantine.push(...rows.map((r) => r.item));
  }
  return {
    ...stores,
    sales,
    quarantine,
    modifications,
    catalog,
    rounds: () => (stores.store as unknown as { commitQueue: { rounds: number } }).commitQueue.rounds,
    close: () => stores.store.close(),
  };
}

export function saleRecord(id: string, opts: { status?: Sale['status']; seq?: number; register?: string; name?: string; total?: number } = {}): SaleRecord {
  const register = opts.register ?? 'TAB-1';
  const seq = opts.seq ?? 1;
  const sale: Sale = {
    identifier: `${register}:${id}`,
    cashRegisterName: register,
    createdAt: '2026-11-23T10:00:00.000Z',
    status: opts.status ?? 'completed',
    lines: [{ lineNo: 1, product: '18', name: 'Cheese Burger', quantity: 0.5, subtotal: 3.99, discount: 0.79, vat: 0.29, total: 3.19, costPrice: 1.5 }],
    payments: [{ method: 'cash', code: '0', amount: opts.total ?? 3.19 }],
    total: opts.total ?? 3.19,
    vat: 0.29,
    discount: 0.79,
    costPrice: 1.5,
    customer: { name: opts.name ?? '', address: '', email: '' },
    receiptPrintedAt: null,
    version: seq,
    source: {
      kind: 'tabshop',
      device: 'tablet-1',
      invoiceId: id,
      checkoutType: '0',
      checkoutStatus: '10',
      invoice: { id, total: opts.total ?? 3.19, customer: { name: opts.name ?? '' }, positions: [{ productId: '18', qty: 0.5, total: 3.19 }] },
    },
  };
  return {
    sale,
    identity: `identity-${id}`,
    content: `content-${id}-${seq}`,
    history: Array.from({ length: seq }, (_, i) => ({ seq: i + 1, status: sale.status, at: `2026-11-23T10:0${i}:00.000Z`, dayId: `${register}:1` })),
  };
}

const quarantineItem = (id: string, payload: unknown): QuarantineItem => ({
  id,
  at: '2026-11-23T10:00:00.000Z',
  code: 'invalid_invoice',
  reason: 'no id',
  device: 'tablet-1',
  cashRegisterName: 'TAB-1',
  payload,
  problems: [{ path: '/id', message: 'required' }],
});

export const outboxItem = (identifier: string, seq: number, target = 'upstream'): OutboxItem => ({
  key: `${identifier}@${seq}`,
  target,
  identifier,
  cashRegisterName: 'TAB-1',
  seq,
  version: 1,
  kind: 'created',
  previousStatus: null,
  changedAt: '2026-11-23T10:00:00.000Z',
  sale: saleRecord(identifier.split(':')[1]).sale,
  enqueuedAt: '2026-11-23T10:00:00.000Z',
  attempts: 0,
  lastError: null,
  nextAttemptAt: null,
});

/**
 * The guarantees every store adapter gives (DESIGN §6): what commit() resolved is there after a
 * reopen, exactly once, exactly as written; concurrent commits share rounds; one opener at a time.
 */
export function storeContract(adapter: string, freshLocation: () => Promise<StoreLocation>, opts: { lockInProcess?: boolean } = {}): void {
  describe(`store contract: ${adapter}`, () => {
    it('keeps a committed sale exactly and once, and serves uncommitted changes to reads', async () => {
      const loc = await freshLocation();
      const a = await openStores(loc);
      const first = saleRecord('201409200100001');
      await a.store.putSale(first, first.history[0].at);
      expect(await a.store.getSale(first.sale.identifier)).toEqual(first);
      await a.store.commit();
      const refunded = saleRecord('201409200100001', { status: 'refunded', seq: 2 });
      await a.store.putSale(refunded, refunded.history[1].at);
      expect((await a.store.getSale(first.sale.identifier))?.sale.status).toBe('refunded');
      await a.store.commit();
      expect(await a.store.getSale('TAB-1:nope')).toBeUndefined();
      await a.close();

      const b = await openStores(loc);
      expect(b.sales).toEqual([refunded]);
      expect(await b.store.getSale(first.sale.identifier)).toEqual(refunded);
      await b.close();
    });

    it('keeps strings a database might refuse (NUL, lone surrogates, emoji) and amounts exactly', async () => {
      const loc = await freshLocation();
      const a = await openStores(loc);
      const odd = saleRecord('201409200100002', { name: 'Zoë \u0000 \ud800 🍔 "quoted" \\ back', total: 0.1 + 0.2 });
      await a.store.putSale(odd, odd.history[0].at);
      await a.store.putQuarantine(quarantineItem('q-odd', 'raw \u0000 body \udfff'));
      const nul = saleRecord('api\u0000sale');
      await a.store.putSale(nul, nul.history[0].at);
      await a.store.commit();
      await a.close();
      const b = await openStores(loc);
      expect(b.sales.sort((x, y) => x.sale.identifier.localeCompare(y.sale.identifier))).toEqual([odd, saleRecord('api\u0000sale')]);
      expect(await b.store.getSale('TAB-1:api\u0000sale')).toEqual(saleRecord('api\u0000sale'));
      expect(b.sales.find((r) => r.sale.identifier === odd.sale.identifier)!.sale.total).toBe(0.30000000000000004);
      expect(b.quarantine).toEqual([quarantineItem('q-odd', 'raw \u0000 body \udfff')]);
      await b.close();
    });

    it('lets concurrent committers share rounds, and every one of them sees its change durable', async () => {
      const loc = await freshLocation();
      const a = await openStores(loc);
      const before = a.rounds();
      // As the ledger does: changes one at a time, commits awaited concurrently.
      let chain = Promise.resolve();
      await Promise.all(
        Array.from({ length: 32 }, (_, i) => {
          const r = saleRecord(String(202611230100000 + i), { register: i % 2 ? 'TAB-2' : 'TAB-1' });
          const stored = (chain = chain.then(() => a.store.putSale(r, r.history[0].at)));
          return stored.then(() => a.store.commit());
        }),
      );
      expect(a.rounds() - before).toBeLessThanOrEqual(3);
      await a.close();
      const b = await openStores(loc);
      expect(b.sales).toHaveLength(32);
      expect(new Set(b.sales.map((r) => r.sale.identifier)).size).toBe(32);
      await b.close();
    });

    it('keeps quarantine items, articles and the change feed', async () => {
      const loc = await freshLocation();
      const a = await openStores(loc);
      await a.store.putQuarantine(quarantineItem('q-1', { invoices: 'nope' }));
      expect(await a.store.getQuarantine('q-1')).toEqual(quarantineItem('q-1', { invoices: 'nope' }));
      await a.catalog.replace('taxes', '1', { name: 'VAT', vat: 10 } as never);
      await a.catalog.replace('products', '18', { name: 'Cheese Burger', price: 3.99, tax: '1' } as never);
      await a.store.commit();
      await a.close();
      const b = await openStores(loc);
      expect(b.quarantine.map((q) => q.id)).toEqual(['q-1']);
      expect(await b.store.getQuarantine('q-1')).toMatchObject({ payload: { invoices: 'nope' } });
      expect(b.catalog.version).toBe(2);
      expect(b.store.articles.products['18']).toMatchObject({ name: 'Cheese Burger', price: 3.99 });
      expect(b.modifications.map((m) => `${m.version}:${m.entity}:${m.identifier}`).sort()).toEqual(['1:tax:1', '2:product:18']);
      await b.close();
    });

    it("keeps a quarantine item's state, resolution and counter as last written (one item, never two)", async () => {
      const loc = await freshLocation();
      const a = await openStores(loc);
      await a.store.putQuarantine({ ...quarantineItem('q-2', { id: 7 }), state: 'open' });
      await a.store.commit();
      const released: QuarantineItem = {
        ...quarantineItem('q-2', { id: 7 }),
        state: 'released',
        resolvedAt: '2026-11-23T11:00:00.000Z',
        resolvedBy: 'admin',
        resolution: 'created',
        sale: 'TAB-1:7',
        count: 3,
        lastAt: '2026-11-23T10:30:00.000Z',
      };
      await a.store.putQuarantine(released);
      await a.store.commit();
      const record = { ...saleRecord('8', { status: 'refunded', seq: 2 }), earlier: ['0123456789abcdef'] } as SaleRecord;
      record.ignored = [
        {
          at: '2026-11-23T10:40:00.000Z',
          lastAt: '2026-11-23T10:45:00.000Z',
          count: 2,
          status: 'completed',
          content: 'fedcba9876543210',
          reason: 'stale re-push',
        },
      ];
      await a.store.putSale(record, '2026-11-23T10:01:00.000Z');
      await a.store.commit();
      await a.close();
      const b = await openStores(loc);
      expect(b.quarantine).toEqual([released]);
      expect(await b.store.getQuarantine('q-2')).toEqual(released);
      expect(await b.store.getSale(record.sale.identifier)).toEqual(record);
      await b.close();
    });

    it('drops feed entries the articles never reached, and reuses their versions', async () => {
      const loc = await freshLocation();
      const first = await openStores(loc);
      await first.catalog.replace('taxes', '1', { name: 'VAT', vat: 10 } as never);
      await first.store.commit();
      await first.store.addModification({
        version: 2,
        entity: 'tax',
        identifier: '9',
        op: 'create',
        data: { identifier: '9' },
        at: '2026-01-01T00:00:00.000Z',
      });
      await first.store.commit();
      await first.close();
      const second = await openStores(loc);
      expect(second.catalog.version).toBe(1);
      expect(second.catalog.modificationsBetween(0, 10, 100).items.map((m) => m.identifier)).toEqual(['1']);
      await second.catalog.replace('taxes', '2', { name: 'Std', vat: 20 } as never);
      await second.store.commit();
      await second.close();
      const third = await openStores(loc);
      expect(third.catalog.modificationsBetween(0, 10, 100).items.map((m) => `${m.version}:${m.identifier}`)).toEqual(['1:1', '2:2']);
      await third.close();
    });

    it('journals raw bodies in order, text and binary, before anything else of the round', async () => {
      const loc = await freshLocation();
      const a = await openStores(loc);
      const entries: JournalEntry[] = [
        {
          at: '2026-11-23T10:00:00.000Z',
          method: 'POST',
          path: '/invoice',
          body: '{"invoices":[]}',
          device: 'tablet-1',
          cashRegisterName: 'TAB-1',
          contentType: 'text/plain',
        },
        { at: '2026-11-23T11:00:00.000Z', method: 'POST', path: '/invoice', body: 'not json \u0000 ünïcode' },
        {
          at: '2026-11-24T09:00:00.000Z',
          method: 'POST',
          path: '/invoice',
          bodyBase64: Buffer.from([0xff, 0xfe, 0x00, 0x41]).toString('base64'),
          legacy: true,
          query: 'user=[redacted]',
          headers: { 'user-agent': 'TabShop' },
        },
      ];
      a.store.journal(entries[0]);
      a.store.journal(entries[1]);
      await a.store.commit();
      a.store.journal(entries[2]);
      await a.store.commit();
      await a.close();
      expect(await loc.readJournal()).toEqual(entries);
    });

    it('keeps closed days, cash movements and presence (back office)', async () => {
      const loc = await freshLocation();
      const a = await openStores(loc);
      await a.backOffice.open({ onClosedDay: () => undefined, onMovement: () => undefined });
      const day = {
        dayId: 'TAB-1:1',
        cashRegisterName: 'TAB-1',
        dayNo: 1,
        openedAt: '2026-11-23T08:00:00.000Z',
        closedAt: '2026-11-23T20:00:00.000Z',
        closedBy: 'admin',
        report: { type: 'Z', total: 12.5 },
      } as unknown as ClosedDay;
      const movement: BalanceMovement = {
        id: 'm-1',
        cashRegisterName: 'TAB-1',
        dayId: 'TAB-1:2',
        action: 'deposit',
        amount: 50.05,
        note: 'float',
        at: '2026-11-24T08:00:00.000Z',
        by: 'admin',
      };
      const presence: PresenceDoc = { registers: { 'TAB-1': { lastSeenAt: '2026-11-24T08:00:00.000Z', lastPushAt: null, devices: {} } } };
      await a.backOffice.putClosedDay(day);
      await a.backOffice.putMovement(movement);
      a.backOffice.savePresence(presence);
      await a.store.commit();
      await a.close();
      const b = await openStores(loc);
      const days: ClosedDay[] = [];
      const movements: BalanceMovement[] = [];
      expect(await b.backOffice.open({ onClosedDay: (d) => days.push(d), onMovement: (m) => movements.push(m) })).toEqual(presence);
      expect(days).toEqual([day]);
      expect(movements).toEqual([movement]);
      await b.close();
    });

    it('keeps the outbox: items written with the round, removals, updates, recovery marks', async () => {
      const loc = await freshLocation();
      const a = await openStores(loc);
      const outbox = a.outbox();
      expect(await outbox.load()).toEqual([]);
      await outbox.prepare('upstream');
      const items = [outboxItem('TAB-1:1', 1), outboxItem('TAB-1:2', 2), outboxItem('TAB-1:3', 3)];
      for (const item of items) outbox.add(item);
      expect(outbox.isWritten(items[0])).toBe(false);
      await a.store.commit();
      expect(items.every((i) => outbox.isWritten(i))).toBe(true);
      outbox.remove(items[0]);
      items[1].attempts = 3;
      items[1].dead = { at: '2026-11-23T10:05:00.000Z', error: 'HTTP 400', status: 400, response: 'bad' };
      outbox.update(items[1]);
      outbox.state.targets.upstream = { baseline: 0, registers: { 'TAB-1': 1 } };
      outbox.saveState();
      await a.store.commit();
      await a.close();
      const b = await openStores(loc);
      const again = b.outbox();
      const loaded = await again.load();
      expect(loaded.sort((x, y) => x.seq - y.seq)).toEqual([items[1], items[2]]);
      expect(again.state.targets.upstream).toEqual({ baseline: 0, registers: { 'TAB-1': 1 } });
      await b.close();
    });

    // The data-dir lock is per process (a pid): it is tested with another pid in store.test.ts. A database takes any number of openers.
    it.skipIf(opts.lockInProcess === false)('refuses a second opener, naming the location, and lets one in after close', async () => {
      const loc = await freshLocation();
      const a = await openStores(loc);
      const err = await openStores(loc).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain(loc.name);
      await a.close();
      const b = await openStores(loc);
      await b.close();
    });
  });
}
