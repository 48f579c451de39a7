import { describe, expect, it } from 'vitest';
import { Money } from '../../src/domain/reports.js';
import { receiptOf } from '../../src/domain/receipt.js';
import type { Sale } from '../../src/domain/types.js';
import { cell, csv, flatten, objectToCsv, objectsToCsv } from '../../src/render/csv.js';
import { receiptText } from '../../src/render/receipt-text.js';
import { reportText } from '../../src/render/report-text.js';
import { center, columns, shortTime, wrap } from '../../src/render/text.js';
import { computeFixture, fixtureDays } from '../reports/fixture-day.js';

const EUR = new Money('EUR');

describe('40-column helpers', () => {
  it.each([
    ['Total', '6.38', 'Total                               6.38'],
    ['A very long product name that does not fit at all', '12.00', 'A very long product name that does  12.00'.replace('does  12.00', 'does 12.00')],
    ['Crème brûlée', '3.50', 'Crème brûlée                        3.50'],
  ])('columns(%j, %j)', (left, right, expected) => {
    const line = columns(left, right);
    expect(line).toBe(expected);
    expect([...line].length).toBe(40);
  });

  it('centres, wraps and shows times', () => {
    expect(center('TAB-1')).toBe(`${' '.repeat(17)}TAB-1`);
    expect(wrap('Sale TAB-1:201409200100001 of a register with a long name', 20)).toEqual([
      'Sale',
      'TAB-1:20140920010000',
      '1 of a register with',
      'a long name',
    ]);
    expect(shortTime('2026-11-23T08:05:09.123Z')).toBe('2026-11-23 08:05 UTC');
    expect(shortTime(null)).toBe('-');
  });
});

describe('CSV', () => {
  it('quotes what needs quoting and defuses spreadsheet formulas in text, not in numbers', () => {
    expect(cell('plain')).toBe('plain');
    expect(cell('a,b')).toBe('"a,b"');
    expect(cell('say "hi"')).toBe('"say ""hi"""');
    expect(cell('two\nlines')).toBe('"two\nlines"');
    expect(cell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(cell('-1 free')).toBe("'-1 free");
    expect(cell(-4.4)).toBe('-4.4');
    // Issue 18 item 8: blanks before the formula character, LF, and ";" before one are neutralised too.
    expect(cell('  =1+1')).toBe("'  =1+1");
    expect(cell(' @SUM(A1)')).toBe("' @SUM(A1)");
    expect(cell('\tx')).toBe("'\tx");
    expect(cell('\nx')).toBe(`"'\nx"`);
    expect(cell('\rx')).toBe(`"'\rx"`);
    expect(cell(';=cmd')).toBe("';=cmd");
    expect(cell(';+1')).toBe("';+1");
    expect(cell('a;=b')).toBe('a;=b');
    // A decimal number written as text is a number to a spreadsheet, not a formula: left alone.
    expect(cell('-3.00')).toBe('-3.00');
    expect(cell('+3')).toBe('+3');
    expect(cell('-3.00+1')).toBe("'-3.00+1");
    expect(cell(null)).toBe('');
    expect(
      csv(
        ['a', 'b'],
        [
          [1, 'x'],
          [2, null],
        ],
      ),
    ).toBe('a,b\r\n1,x\r\n2,\r\n');
  });

  it('flattens nested figures into dotted columns, the union of all rows', () => {
    expect(flatten({ a: 1, vat: { 10: 0.5 }, list: [{ x: 1 }], empty: {} })).toEqual({ a: 1, 'vat.10': 0.5, 'list.0.x': 1, empty: '' });
    expect(
      objectsToCsv([
        { r: 'A', payments: { cash: 1 } },
        { r: 'B', payments: { card: 2 } },
      ]),
    ).toBe('r,payments.cash,payments.card\r\nA,1,\r\nB,,2\r\n');
    expect(objectToCsv({ type: 'Z', vat: { 20: 1 } })).toBe('field,value\r\ntype,Z\r\nvat.20,1\r\n');
  });
});

describe('report text', () => {
  it('prints the mixed fixture day as a Z report', () => {
    const fx = fixtureDays().find(([n]) => n === 'mixed-day.json')![1];
    const { day } = computeFixture(fx);
    for (const [i, m] of day.balance.movements.entries()) m.at = `2026-11-23T1${i}:30:00.000Z`;
    const text = reportText(
      { ...day, dayId: 'SHOP:2', cashRegisterName: 'SHOP', openedAt: '2026-11-23T08:00:00.000Z', closedAt: '2026-11-23T20:15:00.000Z', type: 'Z' },
      EUR,
    );
    expect(text).toBe(`========================================
         Z REPORT (day closed)
                 SHOP:2
========================================
Register                            SHOP
Day                                    2
Opened              2026-11-23 08:00 UTC
Closed              2026-11-23 20:15 UTC
Currency                             EUR
----------------------------------------
Sales (5)                          31.30
Refunds (2)                        -5.80
Cancels (1)                       -12.00
----------------------------------------
Gross                              13.50
  VAT 10% of 9.00                   0.90
  VAT 20% of 3.00                   0.60
VAT total                           1.50
Net                                12.00
Discounts                           0.40
Cost                                2.20
Margin                              9.80
----------------------------------------
Payments
  card                              5.80
  cash                              2.20
  credit_card                       5.50
  Total                            13.50
----------------------------------------
Cash drawer
  Opening                           2.20
  Deposits                        100.00
  Withdrawals                     -20.00
  Cash payments                     2.20
  Expected cash                    84.40
  10:30 deposit float             100.00
  11:30 withdraw bank             -20.00
----------------------------------------
Grand total                        15.70
========================================
`);
  });
});

describe('receipt', () => {
  const sale: Sale = {
    identifier: 'TAB-1:201409200100001',
    cashRegisterName: 'TAB-1',
    createdAt: '2014-09-20T13:24:51.162Z',
    status: 'refunded',
    lines: [
      { lineNo: 1, product: '18', name: 'Cheese Burger', quantity: 1, subtotal: 3.99, discount: 0.79, vat: 0.29, total: 3.19, costPrice: 1.5 },
      { lineNo: 2, product: '3', name: 'ApplePie', quantity: 3, subtotal: 10, discount: 0, vat: 0.909091, total: 10, costPrice: 1 },
    ],
    payments: [{ method: 'cash', code: '0', amount: 13.19, given: 20, returned: 6.81 }],
    total: 13.19,
    vat: 1.2,
    discount: 0.79,
    costPrice: 2.5,
    customer: { name: 'Ada', address: '', email: '' },
    receiptPrintedAt: '2014-09-20T13:25:00.000Z',
    dayId: 'TAB-1:17',
    source: { kind: 'tabshop', invoiceId: '201409200100001' },
  };

  it('sums VAT per rate, rounds once, and prints 40 columns', () => {
    const r = receiptOf(sale, () => ({ vatRate: '10', category: '/' }), EUR, true);
    expect(r).toMatchObject({ receiptNumber: '201409200100001', copy: true, vatTotal: 1.2, vat: [{ rate: '10', gross: 13.19, net: 11.99, vat: 1.2 }] });
    expect(r.lines[1]).toMatchObject({ unitPrice: 3.33, total: 10 });
    expect(receiptText(r, EUR)).toBe(`                 TAB-1
        Receipt 201409200100001
          2014-09-20 13:24 UTC
              *** COPY ***
            *** REFUNDED ***
----------------------------------------
Cheese Burger                       3.19
  1 x 3.99, discount -0.79, VAT 10%
ApplePie                           10.00
  3 x 3.33, VAT 10%
----------------------------------------
Discounts                          -0.79
TOTAL                          EUR 13.19
  VAT 10% of 11.99                  1.20
----------------------------------------
cash                               13.19
  Given                            20.00
  Change                            6.81
----------------------------------------
Ada
----------------------------------------
Sale TAB-1:201409200100001
Day TAB-1:17
`);
  });
});

describe('report text of a Z report closed before the arithmetic figures existed', () => {
  it('prints the counts as it did then', () => {
    const fx = fixtureDays().find(([n]) => n === 'mixed-day.json')![1];
    const { day } = computeFixture(fx);
    const { salesTotal: _s, paymentsTotal: _p, ...old } = day;
    const text = reportText(old as typeof day, EUR);
    expect(text).toContain('\nSales                                  5\nRefunds (2)                         5.80\n');
    expect(text).not.toContain('  Total');
  });
});
