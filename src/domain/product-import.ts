import { Decimal } from 'decimal.js';
import { csv, isFormulaLike } from '../render/csv.js';
import { decodeBody } from '../translate/body-encoding.js';
import { categoryPath, normaliseCategoryPath } from '../translate/articles.js';
import type { Catalog } from './catalog.js';
import type { Category, Commodity, Product, Tax } from './types.js';

/** TabShop's stock field names, in the order of its stock list; Export CSV writes exactly these. */
export const EXPORT_COLUMNS = ['id', 'category', 'title', 'price', 'costprice', 'discountid', 'description', 'attribute', 'stockqty', 'taxid'] as const;

type Field = 'identifier' | 'category' | 'name' | 'price' | 'costPrice' | 'discount' | 'description' | 'attribute' | 'stock' | 'tax' | 'vat';

/** Header names (lower case, without spaces, "_" and "-") → what they mean. */
const HEADERS: Record<string, Field> = {
  id: 'identifier',
  identifier: 'identifier',
  barcode: 'identifier',
  ean: 'identifier',
  sku: 'identifier',
  code: 'identifier',
  productid: 'identifier',
  articlenumber: 'identifier',
  category: 'category',
  categorypath: 'category',
  group: 'category',
  title: 'name',
  name: 'name',
  productname: 'name',
  product: 'name',
  price: 'price',
  saleprice: 'price',
  sellingprice: 'price',
  unitprice: 'price',
  costprice: 'costPrice',
  cost: 'costPrice',
  purchaseprice: 'costPrice',
  discountid: 'discount',
  discount: 'discount',
  description: 'description',
  desc: 'description',
  attribute: 'attribute',
  attributes: 'attribute',
  stockqty: 'stock',
  stock: 'stock',
  quantity: 'stock',
  qty: 'stock',
  stocklevel: 'stock',
  onhand: 'stock',
  taxid: 'tax',
  tax: 'tax',
  vat: 'vat',
  vatrate: 'vat',
  taxrate: 'vat',
  'vat%': 'vat',
  vatpercent: 'vat',
};

/** TabShop sends untracked products with this quantity; it is not a level. */
const UNTRACKED = 999999;

export interface ImportRowResult {
  /** Line number in the file (the header is line 1). */
  row: number;
  identifier: string;
  name: string;
  /** For a changed row: which fields change. */
  changes?: string[];
}

export interface ImportPlan {
  encoding: 'utf-8' | 'windows-1252';
  delimiter: ',' | ';' | '\t';
  /** Header cell → field it was read as; ignored headers are absent. */
  columns: Record<string, string>;
  ignoredColumns: string[];
  created: ImportRowResult[];
  changed: ImportRowResult[];
  unchanged: ImportRowResult[];
  refused: { row: number; identifier: string; reason: string }[];
  /** Category paths that will be created. */
  newCategories: string[];
  /** What apply() writes, row by row. */
  writes: { product: Product; categoryPath: string | null; stock: number | null }[];
}

/** UTF-8 (with or without BOM) when the bytes are valid UTF-8, else Windows-1252 (Excel on Windows). */
export function decodeCsv(bytes: Uint8Array): { text: string; encoding: ImportPlan['encoding'] } {
  return decodeBody(bytes);
}

/** Our own exports neutralise formula-like text with a leading apostrophe; an import takes it off again. */
const unneutralise = (value: string) => (value.startsWith("'") && isFormulaLike(value.slice(1)) ? value.slice(1) : value);

/** The delimiter that splits the header line into the most cells (quotes respected). */
export function detectDelimiter(text: string): ImportPlan['delimiter'] {
  const header = text.split(/\r?\n/, 1)[0] ?? '';
  const count = (d: string) => parseCsv(header, d)[0]?.length ?? 0;
  return ([',', ';', '\t'] as const).reduce((best, d) => (count(d) > count(best) ? d : best), ',' as ImportPlan['delimiter']);
}

/** RFC 4180 CSV with any one-character delimiter: quoted cells, doubled quotes, CRLF or LF. */
export function parseCsv(text: string, delimiter: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === delimiter) {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** "3.50", "3,50", "1.234,50", "1,234.50" → a number; null when it is not one. */
export function parseDecimal(raw: string): number | null {
  let s = raw.trim().replace(/\s/g, '');
  if (s.endsWith('%')) s = s.slice(0, -1);
  if (/^-?\d{1,3}(\.\d{3})+,\d+$/.test(s)) s = s.replace(/\./g, '').replace(',', '.');
  else if (/^-?\d{1,3}(,\d{3})+\.\d+$/.test(s)) s = s.replace(/,/g, '');
  else if (/^-?\d*,\d+$/.test(s)) s = s.replace(',', '.');
  if (!/^-?(\d+\.?\d*|\.\d+)$/.test(s)) return null;
  return Number(s);
}

const headerKey = (h: string) =>
  h
    .trim()
    .toLowerCase()
    .replace(/[\s_-]/g, '');
const refOf = (raw: string) => (raw.trim() === '' || raw.trim() === '0' ? null : String(Number(raw.trim())));

/**
 * Reads a products CSV and decides, row by row, what importing it would create, change, leave
 * unchanged or refuse (with the reason). Columns absent from the file keep their values, so
 * re-importing the same file, or an export, changes nothing.
 */
export function planProductImport(catalog: Catalog, bytes: Uint8Array): ImportPlan {
  const { text, encoding } = decodeCsv(bytes);
  const delimiter = detectDelimiter(text);
  const [header = [], ...body] = parseCsv(text, delimiter);
  const columns: Record<string, string> = {};
  const ignoredColumns: string[] = [];
  const fieldAt = new Map<Field, number>();
  header.forEach((h, i) => {
    const field = HEADERS[headerKey(h)];
    if (field && !fieldAt.has(field)) {
      fieldAt.set(field, i);
      columns[h.trim()] = field;
    } else if (h.trim()) ignoredColumns.push(h.trim());
  });
  const plan: ImportPlan = {
    encoding,
    delimiter,
    columns,
    ignoredColumns,
    created: [],
    changed: [],
    unchanged: [],
    refused: [],
    newCategories: [],
    writes: [],
  };
  if (!fieldAt.has('identifier') && !fieldAt.has('name')) {
    plan.refused.push({
      row: 1,
      identifier: '',
      reason: `no id or title column in the header (${header.join(', ') || 'empty'}); expected TabShop's names such as id, title, price`,
    });
    return plan;
  }
  const categories = catalog.all<Category>('categories');
  const pathOfCategory = new Map(
    categories.map((c) => [categoryPath(c.identifier, Object.fromEntries(categories.map((k) => [k.identifier, k]))), c.identifier]),
  );
  const taxes = catalog.all<Tax>('taxes');
  const seen = new Map<string, number>();
  const firstCategory = new Map<string, string>();
  for (const c of catalog.all<Commodity>('commodities').sort((a, b) => a.identifier.localeCompare(b.identifier))) {
    if (!firstCategory.has(c.product)) firstCategory.set(c.product, c.category);
  }
  let nextId =
    Math.max(
      0,
      ...catalog
        .all('products')
        .map((p) => p.identifier)
        .filter((id) => /^\d{1,9}$/.test(id))
        .map(Number),
    ) + 1;

  for (const [index, cells] of body.entries()) {
    const row = index + 2;
    if (cells.every((c) => c.trim() === '')) continue;
    const get = (f: Field) => (fieldAt.has(f) ? unneutralise((cells[fieldAt.get(f)!] ?? '').trim()) : undefined);
    const refuse = (identifier: string, reason: string) => plan.refused.push({ row, identifier, reason });
    let id = get('identifier') ?? '';
    if (id !== '' && !/^[A-Za-z0-9_.:-]{1,64}$/.test(id)) {
      refuse(id, `id "${id}" may only have letters, digits, "_", ".", ":", "-" (at most 64)`);
      continue;
    }
    if (id !== '' && seen.has(id)) {
      refuse(id, `id ${id} is also on line ${seen.get(id)}`);
      continue;
    }
    const existing = id ? catalog.find<Product>('products', id) : undefined;
    const updates: Partial<Product> = {};
    const problems: string[] = [];

    const name = get('name');
    if (name !== undefined && name !== '') updates.name = name;
    else if (!existing) problems.push('no title');
    const number = (f: Field, label: string): number | undefined => {
      const raw = get(f);
      if (raw === undefined || raw === '') return undefined;
      const n = parseDecimal(raw);
      if (n === null) problems.push(`${label} "${raw}" is not a number`);
      return n ?? undefined;
    };
    const price = number('price', 'price');
    if (price !== undefined) updates.price = price;
    else if (!existing && (get('price') ?? '') === '') problems.push('no price');
    const cost = number('costPrice', 'cost price');
    if (cost !== undefined) updates.costPrice = cost;
    const description = get('description');
    if (description !== undefined && description !== (existing?.description ?? '')) updates.description = description;
    const attribute = number('attribute', 'attribute');
    if (attribute !== undefined) {
      if (!Number.isInteger(attribute) || attribute < 0) problems.push(`attribute "${get('attribute')}" is not a whole number`);
      else if (attribute !== (existing?.attribute ?? 0)) updates.attribute = attribute;
    }
    const taxRaw = get('tax');
    if (taxRaw !== undefined) {
      const ref = /^\d*$/.test(taxRaw) ? refOf(taxRaw) : undefined;
      if (ref === undefined) problems.push(`taxid "${taxRaw}" is not a tax id`);
      else if (ref !== null && !catalog.find('taxes', ref)) problems.push(`tax ${ref} does not exist`);
      else updates.tax = ref;
    } else {
      const vat = number('vat', 'VAT');
      if (vat !== undefined) {
        const tax = taxes.find((t) => new Decimal(t.vat).eq(vat));
        if (tax) updates.tax = tax.identifier;
        else if (vat === 0) updates.tax = null;
        else problems.push(`no tax with a VAT of ${vat} % (create it under Taxes first)`);
      }
    }
    const discountRaw = get('discount');
    if (discountRaw !== undefined) {
      const ref = /^\d*$/.test(discountRaw) ? refOf(discountRaw) : undefined;
      if (ref === undefined) problems.push(`discountid "${discountRaw}" is not a discount id`);
      else if (ref !== null && !catalog.find('discounts', ref)) problems.push(`discount ${ref} does not exist`);
      else updates.discount = ref;
    }
    let stock: number | null = null;
    const stockValue = number('stock', 'stockqty');
    if (stockValue !== undefined && stockValue !== UNTRACKED) stock = stockValue;
    const pathRaw = get('category');
    const path = pathRaw === undefined ? null : normaliseCategoryPath(pathRaw);
    if (problems.length) {
      refuse(id, problems.join('; '));
      continue;
    }

    if (!id) id = String(nextId++);
    seen.set(id, row);
    const product: Product = { ...(existing ?? { identifier: id, name: '', price: 0 }), ...updates, identifier: id };
    const changes = existing
      ? ((Object.keys(updates) as (keyof Product)[]).filter((k) => JSON.stringify(existing[k] ?? null) !== JSON.stringify(updates[k] ?? null)) as string[])
      : [];
    let wantedCategory: string | null = null;
    if (path !== null) {
      const current = firstCategory.get(id);
      const currentPath = current ? categoryPath(current, Object.fromEntries(categories.map((k) => [k.identifier, k]))) : '/';
      if (path !== currentPath) {
        changes.push('category');
        wantedCategory = path;
        if (path !== '/' && !pathOfCategory.has(path) && !plan.newCategories.includes(path)) plan.newCategories.push(path);
      }
    }
    if (stock !== null) {
      const level = catalog.quantityOf(id);
      if (!existing || level === null || !level.eq(stock)) changes.push('stock');
      else stock = null;
    }
    const result = { row, identifier: id, name: product.name };
    if (!existing) plan.created.push(result);
    else if (changes.length) plan.changed.push({ ...result, changes });
    else {
      plan.unchanged.push(result);
      continue;
    }
    plan.writes.push({ product, categoryPath: wantedCategory, stock });
  }
  return plan;
}

/** Writes a plan as one unit of work (durable when it resolves): categories first, then each product, its category, its stock level. */
export function applyProductImport(catalog: Catalog, plan: ImportPlan, salesSeq: number): Promise<void> {
  return catalog.transact(async () => {
    const byPath = new Map<string, string>();
    const all = () => Object.fromEntries(catalog.all<Category>('categories').map((k) => [k.identifier, k]));
    for (const c of catalog.all<Category>('categories')) byPath.set(categoryPath(c.identifier, all()), c.identifier);
    const ensure = async (path: string): Promise<string | null> => {
      if (path === '/') return null;
      const known = byPath.get(path);
      if (known) return known;
      const segments = path.split('/').filter(Boolean);
      const parent = await ensure(`/${segments.slice(0, -1).join('/')}`);
      let id =
        segments
          .join('-')
          .toLowerCase()
          .replace(/[^a-z0-9_.:-]+/g, '-')
          .replace(/^-+|-+$/g, '')
          .slice(0, 60) || 'category';
      for (let n = 2; catalog.find('categories', id); n++) id = `${id.replace(/-\d+$/, '')}-${n}`;
      await catalog.replace('categories', id, { name: segments[segments.length - 1], parent } as never);
      byPath.set(path, id);
      return id;
    };
    for (const w of plan.writes) {
      await catalog.replace('products', w.product.identifier, w.product as never);
      if (w.categoryPath !== null) await placeInCategory(catalog, w.product.identifier, await ensure(w.categoryPath));
      if (w.stock !== null) await catalog.setStock(w.product.identifier, w.stock, salesSeq);
    }
  });
}

/** Puts a product in one category (its first commodity), or in none. */
export async function placeInCategory(catalog: Catalog, product: string, category: string | null): Promise<void> {
  const placed = catalog
    .all<Commodity>('commodities')
    .filter((c) => c.product === product)
    .sort((a, b) => a.identifier.localeCompare(b.identifier));
  if (!category) {
    for (const c of placed) await catalog.remove('commodities', c.identifier);
    return;
  }
  if (placed[0]?.category === category) return;
  if (placed[0]) await catalog.replace('commodities', placed[0].identifier, { product, category } as never);
  else {
    const natural = `${product}.${category}`;
    await catalog.create('commodities', { product, category, ...(natural.length <= 64 ? { identifier: natural } : {}) } as never);
  }
}

/** The products as a CSV with TabShop's stock columns (stockqty empty when not tracked); imports back unchanged. */
export function exportProductsCsv(catalog: Catalog): string {
  const categories = Object.fromEntries(catalog.all<Category>('categories').map((c) => [c.identifier, c]));
  const first = new Map<string, string>();
  for (const c of catalog.all<Commodity>('commodities').sort((a, b) => a.identifier.localeCompare(b.identifier)))
    if (!first.has(c.product)) first.set(c.product, c.category);
  const rows = catalog
    .all<Product>('products')
    .sort((a, b) => a.identifier.localeCompare(b.identifier, undefined, { numeric: true }))
    .map((p) => {
      const level = catalog.quantityOf(p.identifier);
      return [
        p.identifier,
        categoryPath(first.get(p.identifier) ?? null, categories),
        p.name,
        String(p.price),
        p.costPrice === undefined ? '' : String(p.costPrice),
        p.discount ?? '0',
        p.description ?? '',
        String(p.attribute ?? 0),
        level === null ? '' : level.toString(),
        p.tax ?? '0',
      ];
    });
  return csv([...EXPORT_COLUMNS], rows);
}
