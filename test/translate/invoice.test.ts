import { describe, expect, it } from 'vitest';
import type { Sale } from '../../src/domain/types.js';
import { validateBatch, validateInvoice } from '../../src/translate/invoice-schema.js';
import {
  checkoutStatusToSaleStatus,
  invoiceContentKey,
  invoiceIdentityKey,
  invoiceToSale,
  paymentMethod,
  saleContentKey,
  saleIdentityKey,
  stockMovements,
} from '../../src/translate/invoice.js';
import type { TabShopInvoice } from '../../src/translate/tabshop-types.js';
import { loadFixtures } from './fixtures.js';

interface InvoiceFixture {
  description: string;
  cashRegisterName: string;
  device?: string;
  invoice: unknown;
  expected: { sale: Sale } | { invalid: string };
}

const fixtures = loadFixtures<InvoiceFixture>('translate/invoices');
const valid = (name: string): TabShopInvoice => {
  const found = fixtures.find((f) => f.file === `${name}.json`);
  const checked = validateInvoice(structuredClone(found?.fixture.invoice));
  if (!checked.ok) throw new Error(`fixture ${name} is not a valid invoice: ${checked.reason}`);
  return checked.invoice;
};
const ctx = { cashRegisterName: 'TAB-1', device: 'tablet-1' };

describe('invoice fixtures', () => {
  it('has the cases the gateway relies on', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
  });

  for (const { file, fixture } of fixtures) {
    it(`${file}: ${fixture.description}`, () => {
      const checked = validateInvoice(fixture.invoice);
      if ('invalid' in fixture.expected) {
        expect(checked.ok).toBe(false);
        if (!checked.ok) expect(checked.reason).toContain(fixture.expected.invalid);
        return;
      }
      if (!checked.ok) throw new Error(checked.reason);
      const context = { cashRegisterName: fixture.cashRegisterName, ...(fixture.device !== undefined && { device: fixture.device }) };
      const sale = invoiceToSale(checked.invoice, context);
      expect(sale).toStrictEqual(fixture.expected.sale);
      expect(JSON.parse(JSON.stringify(sale))).toStrictEqual(sale);
      expect(saleIdentityKey(sale)).toBe(invoiceIdentityKey(checked.invoice));
    });
  }
});

describe('validateInvoice', () => {
  it('reports every problem with its path', () => {
    const checked = validateInvoice({ id: 'a b', date: 'yesterday', positions: [{ productId: {}, qty: '1,5', total: 1 }], checkoutStatus: 9 });
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.problems).toStrictEqual([
      { path: '/id', message: 'must match pattern "^[A-Za-z0-9]{1,64}$"' },
      { path: '/date', message: 'must be number or numeric string' },
      { path: '/positions/0/productId', message: 'must be string,number' },
      { path: '/positions/0/qty', message: 'must be number or numeric string' },
      { path: '/checkoutStatus', message: 'must be 10, 11 or 12, got 9' },
    ]);
    expect(checked.reason).toMatch(/^invalid invoice: \/id must match pattern .*; \/checkoutStatus must be 10, 11 or 12, got 9$/);
  });

  it.each([null, 5, 'x', [], true])('refuses %j as not an object', (item) => {
    expect(validateInvoice(item)).toStrictEqual({
      ok: false,
      reason: 'invalid invoice: not an object',
      problems: [{ path: '', message: 'not an object' }],
    });
  });

  it.each([
    ['a 65-character id', { id: 'A'.repeat(65) }],
    ['a fractional numeric id', { id: 1.5 }],
    ['a negative numeric id', { id: -1 }],
    ['an empty id', { id: '' }],
    ['a fractional date', { date: '1411219491162.5' }],
    ['a date after 2100', { date: 4102444800000 }],
    ['a customer that is not an object', { customer: 'Zoë' }],
    ['positions that are not an array', { positions: {} }],
  ])('refuses %s', (_name, change) => {
    const invoice = { id: 201409200100001, date: '1411219491162', positions: [], ...change };
    expect(validateInvoice(invoice).ok).toBe(false);
  });

  it('accepts extra fields, "10.0" as status 10 and a 64-character id', () => {
    const invoice = { id: 'A'.repeat(64), date: 1411219491162, positions: [], checkoutStatus: '10.0', newField: { x: 1 } };
    expect(validateInvoice(invoice)).toStrictEqual({ ok: true, invoice });
  });
});

describe('validateBatch', () => {
  it('accepts any invoices array and refuses anything else', () => {
    expect(validateBatch({ invoices: [1, 'x'] })).toStrictEqual({ ok: true, invoices: [1, 'x'] });
    expect(validateBatch({ invoices: [] })).toStrictEqual({ ok: true, invoices: [] });
    expect(validateBatch({ invoice: [] })).toMatchObject({ ok: false, reason: "invalid invoice batch: must have required property 'invoices'" });
    expect(validateBatch({ invoices: {} })).toMatchObject({ ok: false, reason: 'invalid invoice batch: /invoices must be array' });
    expect(validateBatch('[]')).toMatchObject({ ok: false, reason: 'invalid invoice batch: not an object' });
  });
});

describe('checkoutStatusToSaleStatus', () => {
  it.each([
    [10, 'completed'],
    ['10', 'completed'],
    ['11', 'refunded'],
    [11, 'refunded'],
    ['12', 'cancelled'],
    [undefined, 'completed'],
  ] as const)('%j → %s', (status, expected) => {
    expect(checkoutStatusToSaleStatus(status)).toBe(expected);
  });

  it('throws on an unknown status', () => {
    expect(() => checkoutStatusToSaleStatus('13')).toThrow(/13/);
  });
});

describe('paymentMethod', () => {
  it.each([
    [0, 'cash', '0'],
    ['1', 'credit_card', '1'],
    [2, 'card', '2'],
    ['3', 'paypal', '3'],
    ['4', 'check', '4'],
    ['5', 'paypal_here', '5'],
    ['6', 'invoice', '6'],
    ['7', 'bitcoin', '7'],
    ['8', 'authorize_net', '8'],
    ['9', 'payleven', '9'],
    ['10', 'yodo', '10'],
    [11, 'stripe', '11'],
    ['12', 'custom', '12'],
    ['42', 'custom', '42'],
    [-1, 'custom', '-1'],
    ['2.0', 'card', '2.0'],
  ] as const)('%j → %s (code %j)', (type, method, code) => {
    expect(paymentMethod(type)).toStrictEqual({ method, code });
  });

  it('missing → unknown without a code', () => {
    expect(paymentMethod(undefined)).toStrictEqual({ method: 'unknown', code: null });
  });
});

describe('invoice keys', () => {
  const base = valid('seed-1-cash');
  const variant = (change: (invoice: TabShopInvoice) => void) => {
    const copy = structuredClone(base);
    change(copy);
    return copy;
  };

  it('1 = "1" = 1.0: numbers and numeric strings give the same identity and content', () => {
    const asStrings = variant((i) => {
      i.date = Number(i.date);
      i.total = '6.380';
      for (const p of i.positions) {
        p.qty = '1.0';
        p.total = String(p.total);
        p.costPrice = '1.5';
      }
    });
    expect(invoiceIdentityKey(asStrings)).toBe(invoiceIdentityKey(base));
    expect(invoiceContentKey(asStrings)).toBe(invoiceContentKey(base));
  });

  it('reordered positions and keys: same identity, same content', () => {
    const reordered = variant((i) => {
      i.positions.reverse();
      i.positions[0] = Object.fromEntries(Object.entries(i.positions[0]).reverse()) as (typeof i.positions)[0];
    });
    expect(invoiceIdentityKey(reordered)).toBe(invoiceIdentityKey(base));
    expect(invoiceContentKey(reordered)).toBe(invoiceContentKey(base));
  });

  it('changed status, customer or payment: same identity, different content', () => {
    for (const change of [
      (i: TabShopInvoice) => {
        i.checkoutStatus = '11';
      },
      (i: TabShopInvoice) => {
        i.customer = { ...i.customer, name: 'Zoë' };
      },
      (i: TabShopInvoice) => {
        i.checkoutType = '1';
      },
      (i: TabShopInvoice) => {
        i.positions[0].productName = 'Cheeseburger';
      },
      (i: TabShopInvoice) => {
        i.extra = true;
      },
    ]) {
      const changed = variant(change);
      expect(invoiceIdentityKey(changed)).toBe(invoiceIdentityKey(base));
      expect(invoiceContentKey(changed)).not.toBe(invoiceContentKey(base));
    }
  });

  it('changed qty, total, product or date: different identity', () => {
    for (const change of [
      (i: TabShopInvoice) => {
        i.positions[0].qty = 2;
      },
      (i: TabShopInvoice) => {
        i.positions[1].total = '3.20';
      },
      (i: TabShopInvoice) => {
        i.positions[1].productId = '25';
      },
      (i: TabShopInvoice) => {
        i.date = '1411219491163';
      },
      (i: TabShopInvoice) => {
        i.positions.pop();
      },
    ]) {
      expect(invoiceIdentityKey(variant(change))).not.toBe(invoiceIdentityKey(base));
    }
  });

  it('names that look numeric are compared as written', () => {
    const named = (name: string) =>
      variant((i) => {
        i.customer = { name, address: '', email: '' };
      });
    expect(invoiceContentKey(named('007'))).not.toBe(invoiceContentKey(named('7')));
  });

  it('sale keys: same identity for reordered lines; content ignores version, day, printing and device', () => {
    const sale = invoiceToSale(base, ctx);
    const stored: Sale = { ...structuredClone(sale), version: 3, dayId: 'TAB-1:2', receiptPrintedAt: '2014-09-20T13:30:00.000Z' };
    stored.source = { ...stored.source!, device: 'tablet-9' };
    expect(saleContentKey(stored)).toBe(saleContentKey(sale));

    const reordered = { ...structuredClone(sale), lines: [...sale.lines].reverse() };
    expect(saleIdentityKey(reordered)).toBe(saleIdentityKey(sale));

    const refunded = invoiceToSale(
      variant((i) => {
        i.checkoutStatus = 11;
      }),
      ctx,
    );
    expect(saleIdentityKey(refunded)).toBe(saleIdentityKey(sale));
    expect(saleContentKey(refunded)).not.toBe(saleContentKey(sale));

    const moreCheese = structuredClone(sale);
    moreCheese.lines[0].quantity = 2;
    expect(saleIdentityKey(moreCheese)).not.toBe(saleIdentityKey(sale));
  });

  it('a re-push with numbers as strings leaves the sale content unchanged', () => {
    const asStrings = variant((i) => {
      i.total = '6.38';
      i.positions[0].qty = '1';
    });
    expect(saleContentKey(invoiceToSale(asStrings, ctx))).toBe(saleContentKey(invoiceToSale(base, ctx)));
  });
});

describe('invoiceToSale', () => {
  it('keeps the pushed invoice as a copy, not a reference', () => {
    const invoice = valid('seed-2-cash');
    const sale = invoiceToSale(invoice, ctx);
    expect(sale.source?.invoice).toStrictEqual(invoice);
    expect(sale.source?.invoice).not.toBe(invoice);
  });
});

describe('stockMovements', () => {
  it('one movement per line, fractional quantities kept', () => {
    expect(stockMovements(invoiceToSale(valid('fractional-qty'), ctx))).toStrictEqual([{ product: '601', quantity: 0.5 }]);
    expect(stockMovements(invoiceToSale(valid('credit-card-payment'), ctx))).toStrictEqual([
      { product: '102', quantity: 2 },
      { product: '401', quantity: 1 },
    ]);
  });
});

describe('canonicalJson (content keys of stored sales)', () => {
  const rules = (numericStrings: boolean) => ({
    numericStrings,
    verbatim: new Set(['id', 'name']),
    unordered: new Set(['positions', 'lines']),
    nested: {},
  });
  const samples: unknown[] = [
    ...fixtures.map((f) => f.fixture.invoice),
    ...fixtures.flatMap((f) => ('sale' in f.fixture.expected ? [f.fixture.expected.sale] : [])),
    JSON.parse('{"b":[3,"2",{"10":1,"9":2,"x":"1.50"}],"positions":[{"q":"2.0"},{"q":1},{"q":"1"}]}'),
    JSON.parse('{"__proto__":{"a":1},"b":1}'),
    { '2': 'b', '10': 'a', a: [true, false, null], n: 1e21, m: 1e-7, s: '007', id: '007', name: '1.0', u: undefined, arr: [undefined, -0] },
    { positions: [[2, 1], [1, 2], { z: 1, a: '0.10' }, 'x', null], nested: { positions: ['b', 'a'] } },
    { a: 'he said "hi"\n', b: 'Crème brûlée', c: '\ud83d\ude00', d: '\ud800', e: 'x'.repeat(100), 'k"ey': 'back\\slash', '\u0001': '\u001f' },
  ];

  it('writes the same text as the reference (canonical tree, then JSON.stringify)', async () => {
    const { canonicalJson, canonicalJsonReference } = await import('../../src/translate/canonical.js');
    for (const sample of samples) {
      for (const numericStrings of [true, false]) {
        const outcome = (f: typeof canonicalJson) => {
          try {
            return f(sample, rules(numericStrings));
          } catch (err) {
            return `throws ${(err as Error).name}`;
          }
        };
        expect(outcome(canonicalJson)).toBe(outcome(canonicalJsonReference));
      }
    }
  });
});
