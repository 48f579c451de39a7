/**
 * Generates fixtures/pushes/large-batch.json (one push of 1,000 invoices) and its expected
 * aggregate, large-batch.expected.json. Deterministic (seeded); money is computed in integer
 * cents here, independently of the gateway's translation code.
 *
 *   npx tsx scripts/generate-large-batch.ts            # writes both files
 *   npx tsx scripts/generate-large-batch.ts --count 10000 --out /tmp/big.json   # a bigger set, no expected file
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface Item {
  id: string;
  name: string;
  cents: number;
  vat: number;
  costCents: number;
  byWeight?: boolean;
}

const ITEMS: Item[] = [
  { id: '101', name: 'Espresso', cents: 220, vat: 10, costCents: 35 },
  { id: '102', name: 'Cappuccino', cents: 320, vat: 10, costCents: 55 },
  { id: '103', name: 'Flat White', cents: 360, vat: 10, costCents: 60 },
  { id: '104', name: 'Caffè Latte', cents: 340, vat: 10, costCents: 55 },
  { id: '201', name: 'English Breakfast', cents: 240, vat: 10, costCents: 20 },
  { id: '203', name: '抹茶ラテ', cents: 390, vat: 10, costCents: 80 },
  { id: '301', name: 'Still Water 0.5 l', cents: 180, vat: 20, costCents: 30 },
  { id: '303', name: 'Fresh Orange Juice', cents: 380, vat: 20, costCents: 125 },
  { id: '401', name: 'Croissant', cents: 210, vat: 10, costCents: 45 },
  { id: '403', name: 'Käsekuchen', cents: 380, vat: 10, costCents: 90 },
  { id: '501', name: 'Ham & Cheese', cents: 590, vat: 10, costCents: 180 },
  { id: '601', name: 'Coffee beans (kg)', cents: 2400, vat: 10, costCents: 950, byWeight: true },
];
const METHODS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '31'];
const METHOD_NAMES = [
  'cash',
  'credit_card',
  'card',
  'paypal',
  'check',
  'paypal_here',
  'invoice',
  'bitcoin',
  'authorize_net',
  'payleven',
  'yodo',
  'stripe',
  'custom',
];
const START_MS = Date.UTC(2026, 10, 23, 7, 0, 0);

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const money = (cents: number) => `${cents < 0 ? '-' : ''}${Math.floor(Math.abs(cents) / 100)}.${String(Math.abs(cents) % 100).padStart(2, '0')}`;

export interface LargeBatch {
  body: string;
  expected: {
    description: string;
    register: string;
    outcomes: { received: number; created: number; updated: number; unchanged: number; quarantined: number };
    aggregate: { sales: number; lines: number; total: string; byStatus: Record<string, number>; byMethod: Record<string, number> };
  };
}

export function generateLargeBatch(count = 1000, seed = 146): LargeBatch {
  const random = mulberry32(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
  // Tablets send amounts as JSON numbers or as BigDecimal strings; both are mixed in.
  const amount = (cents: number, asString: boolean) => (asString ? money(cents) : Number(money(cents)));
  const invoices: string[] = [];
  let grandTotal = 0;
  let lines = 0;
  const byStatus: Record<string, number> = {};
  const byMethod: Record<string, number> = {};
  for (let n = 1; n <= count; n++) {
    const strings = random() < 0.3;
    const positions = [];
    let total = 0;
    let tax = 0;
    let cost = 0;
    for (let k = 1 + Math.floor(random() * 4); k > 0; k--) {
      const item = pick(ITEMS);
      // Quantities in thousandths: whole units, or weights for items sold by weight.
      const milli = item.byWeight ? 250 * (1 + Math.floor(random() * 6)) : 1000 * (1 + Math.floor(random() * 3));
      const lineCents = Math.round((item.cents * milli) / 1000);
      const lineTax = Math.round((lineCents * item.vat) / (100 + item.vat));
      const lineCost = Math.round((item.costCents * milli) / 1000);
      total += lineCents;
      tax += lineTax;
      cost += lineCost;
      const qty = milli / 1000;
      positions.push({
        productId: item.id,
        productName: item.name,
        posTitle: item.name,
        qty: strings ? String(qty) : qty,
        subtotal: amount(lineCents, strings),
        discount: amount(0, strings),
        tax: amount(lineTax, strings),
        total: amount(lineCents, strings),
        costPrice: amount(lineCost, strings),
      });
    }
    const methodIndex = Math.floor(random() * METHODS.length);
    const statusRoll = random();
    const status = statusRoll < 0.9 ? '10' : statusRoll < 0.95 ? '11' : '12';
    const seq = String(n).padStart(5, '0');
    const invoice: Record<string, unknown> = {
      id: strings ? `20261123${'02'}${seq}` : Number(`20261123${'02'}${seq}`),
      date: String(START_MS + n * 37_000 + Math.floor(random() * 30_000)),
      checkoutType: METHODS[methodIndex],
      checkoutStatus: status,
      total: amount(total, strings),
      tax: amount(tax, strings),
      discount: amount(0, strings),
      costPrice: amount(cost, strings),
    };
    if (METHODS[methodIndex] === '0') {
      const given = Math.ceil(total / 500) * 500;
      invoice.givenCash = amount(given, strings);
      invoice.returnedCash = amount(given - total, strings);
    }
    invoice.customer =
      n % 50 === 0
        ? { name: `Stammgast ${n / 50}`, address: `Neubaugasse ${n / 50}, 1070 Wien`, email: `gast${n / 50}@example.at` }
        : { name: '', address: '', email: '' };
    invoice.positions = positions;
    invoices.push(`  ${JSON.stringify(invoice)}`);
    grandTotal += total;
    lines += positions.length;
    const saleStatus = status === '10' ? 'completed' : status === '11' ? 'refunded' : 'cancelled';
    byStatus[saleStatus] = (byStatus[saleStatus] ?? 0) + 1;
    byMethod[METHOD_NAMES[methodIndex]] = (byMethod[METHOD_NAMES[methodIndex]] ?? 0) + 1;
  }
  const sorted = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    body: `{"invoices": [\n${invoices.join(',\n')}\n]}\n`,
    expected: {
      description: `One push of ${count} invoices (generated by scripts/generate-large-batch.ts, seed ${seed}): every payment method, reversed statuses, weights, numbers and numeric strings`,
      register: 'TAB-1',
      outcomes: { received: count, created: count, updated: 0, unchanged: 0, quarantined: 0 },
      aggregate: { sales: count, lines, total: money(grandTotal), byStatus: sorted(byStatus), byMethod: sorted(byMethod) },
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '1000' }, seed: { type: 'string', default: '146' }, out: { type: 'string' } } });
  const batch = generateLargeBatch(Number(values.count), Number(values.seed));
  const dir = new URL('../fixtures/pushes/', import.meta.url);
  const out = values.out ?? fileURLToPath(new URL('large-batch.json', dir));
  writeFileSync(out, batch.body);
  if (!values.out) writeFileSync(new URL('large-batch.expected.json', dir), `${JSON.stringify(batch.expected, null, 2)}\n`);
  process.stdout.write(`wrote ${out} (${values.count} invoices)\n`);
}
