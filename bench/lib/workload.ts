/**
 * Deterministic bench workloads: a 10,000-product catalogue and realistic TabShop invoices.
 * Seeded, so every run (and every machine) measures the same data.
 */

export interface CatalogueFile {
  taxes: { identifier: string; name: string; vat: number }[];
  discounts: { identifier: string; name: string; percentage: number }[];
  categories: { identifier: string; name: string; parent: string | null }[];
  products: {
    identifier: string;
    name: string;
    description: string;
    price: number;
    priceIncludesVat: boolean;
    tax: string | null;
    discount: string | null;
    costPrice: number;
    attribute: number;
    custom: null;
  }[];
  commodities: { identifier: string; product: string; category: string }[];
  stock: { product: string; quantity: number }[];
}

/** mulberry32: small, fast, good enough to spread test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'Espresso',
  'Latte',
  'Oat',
  'Almond',
  'Croissant',
  'Bagel',
  'Organic',
  'Classic',
  'Spicy',
  'Smoked',
  'Cheddar',
  'Vegan',
  'Large',
  'Small',
  'Double',
  'Iced',
  'Honey',
  'Lemon',
  'Berry',
  'Chocolate',
  'Käse',
  'Crème',
  'Matcha',
];

const money = (x: number) => Math.round(x * 100) / 100;

/** `products` products in 10 top-level × 5 sub categories; every 5th product has a tracked stock level, every 100th is a voucher. */
export function catalogue(products: number, seed = 1): CatalogueFile {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const file: CatalogueFile = {
    taxes: [
      { identifier: '1', name: 'Reduced 10 %', vat: 10 },
      { identifier: '2', name: 'Standard 20 %', vat: 20 },
      { identifier: '3', name: 'Zero', vat: 0 },
    ],
    discounts: [
      { identifier: '1', name: 'Staff 10 %', percentage: 10 },
      { identifier: '2', name: 'Happy hour 20 %', percentage: 20 },
    ],
    categories: [],
    products: [],
    commodities: [],
    stock: [],
  };
  for (let top = 0; top < 10; top++) {
    file.categories.push({ identifier: `c${top}`, name: `${pick(WORDS)} ${top}`, parent: null });
    for (let sub = 0; sub < 5; sub++) file.categories.push({ identifier: `c${top}-${sub}`, name: `${pick(WORDS)} ${top}.${sub}`, parent: `c${top}` });
  }
  for (let i = 0; i < products; i++) {
    const id = String(1000 + i);
    const price = money(0.5 + rnd() * 40);
    file.products.push({
      identifier: id,
      name: `${pick(WORDS)} ${pick(WORDS)} ${i}`,
      description: rnd() < 0.5 ? '' : `${pick(WORDS)} and ${pick(WORDS)}, freshly made`,
      price,
      priceIncludesVat: true,
      tax: pick(['1', '2', '3']),
      discount: rnd() < 0.2 ? pick(['1', '2']) : null,
      costPrice: money(price * 0.3),
      attribute: i % 100 === 99 ? 16 : 0,
      custom: null,
    });
    file.commodities.push({ identifier: `${id}.c${i % 10}-${i % 5}`, product: id, category: `c${i % 10}-${i % 5}` });
    if (i % 5 === 0) file.stock.push({ product: id, quantity: 1_000_000 });
  }
  return file;
}

export interface InvoiceOptions {
  /** The invoice's own number, unique per register. */
  seq: number;
  /** Products to sell from (identifiers). */
  products: readonly string[];
  /** Epoch ms of the sale. */
  date: number;
  rnd: () => number;
}

/** One TabShop invoice as a tablet pushes it: 1–3 positions, numbers as JSON numbers, amounts in cents. */
export function tabshopInvoice({ seq, products, date, rnd }: InvoiceOptions) {
  const positions = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => {
    const productId = products[Math.floor(rnd() * products.length)];
    const qty = 1 + Math.floor(rnd() * 3);
    const subtotal = money(qty * (1 + rnd() * 9));
    const tax = money(subtotal / 11);
    return {
      productId,
      productName: `Product ${productId}`,
      posTitle: `Product ${productId}`,
      qty,
      subtotal,
      discount: 0,
      tax,
      total: subtotal,
      costPrice: money(subtotal * 0.3),
    };
  });
  const total = money(positions.reduce((s, p) => s + Math.round(p.total * 100), 0) / 100);
  const tax = money(positions.reduce((s, p) => s + Math.round(p.tax * 100), 0) / 100);
  return {
    id: seq,
    date: String(date),
    checkoutType: '0',
    checkoutStatus: '10',
    total,
    tax,
    discount: 0,
    costPrice: money(total * 0.3),
    givenCash: total,
    returnedCash: 0,
    customer: { name: '', address: '', email: '' },
    positions,
  };
}
