import { Router, type Request, type Response } from 'express';
import { problemsOf } from '../api/validate.js';
import { type Catalog, type Collection, ENTITY_OF } from '../domain/catalog.js';
import type { Category, Commodity, Discount, Tax } from '../domain/types.js';
import { AppError } from '../errors.js';
import { placeInCategory } from '../domain/product-import.js';
import { type AdminDeps, isStale, rootOf, noticeOf, redirectTo, send, sessionOf, STALE_FORM, text } from './context.js';
import { csrfField, field, html, type FieldErrors, type Notice, type SafeHtml, table } from './page.js';

type Values = Record<string, string>;
type Item = Record<string, unknown> & { identifier: string };

interface FieldSpec {
  name: string;
  label: string;
  kind?: 'text' | 'number' | 'select' | 'textarea';
  required?: boolean;
  hint?: string;
  options?: (catalog: Catalog) => [string, string][];
}

/** One kind of article the back office edits: its form fields and how they map to the API's body. */
interface ArticleKind {
  collection: Collection;
  path: string;
  one: string;
  many: string;
  fields: FieldSpec[];
  /** Identifiers TabShop needs as integers. */
  numericIds?: boolean;
  valuesOf(item: Item, catalog: Catalog): Values;
  bodyOf(values: Values, errors: FieldErrors): Record<string, unknown>;
  columns: { label: string; num?: boolean; cell: (item: Item, catalog: Catalog) => string | number | SafeHtml }[];
  /** After the article itself is stored (a product's category is a commodity). */
  afterSave?(catalog: Catalog, id: string, values: Values): Promise<void>;
  search?: (item: Item, q: string, catalog: Catalog) => boolean;
}

const DECIMAL = /^-?\d+(?:[.,]\d+)?$/;

/** "3,50" and "3.50" are both 3.5; anything else is an error on that field. */
function decimal(values: Values, name: string, errors: FieldErrors, required: boolean): number | undefined {
  const raw = (values[name] ?? '').trim();
  if (raw === '') {
    if (required) errors[name] = 'Enter a number, such as 3.50.';
    return undefined;
  }
  if (!DECIMAL.test(raw)) {
    errors[name] = `"${raw}" is not a number; enter one such as 3.50.`;
    return undefined;
  }
  return Number(raw.replace(',', '.'));
}

const optional = (v: string | undefined) => (v === undefined || v.trim() === '' ? undefined : v.trim());
const money = (n: unknown) => (typeof n === 'number' ? n.toFixed(Math.max(2, (String(n).split('.')[1] ?? '').length)) : '');

/** The category a product is placed in: its first commodity's (as TabShop sees it). */
export function categoryOf(catalog: Catalog, product: string): string {
  return (
    catalog
      .all<Commodity>('commodities')
      .filter((c) => c.product === product)
      .sort((a, b) => a.identifier.localeCompare(b.identifier))[0]?.category ?? ''
  );
}

const taxOptions = (catalog: Catalog): [string, string][] => [
  ['', 'No tax'],
  ...catalog.all<Tax>('taxes').map((t): [string, string] => [t.identifier, `${t.name} (${t.vat} %)`]),
];
const discountOptions = (catalog: Catalog): [string, string][] => [
  ['', 'No discount'],
  ...catalog.all<Discount>('discounts').map((d): [string, string] => [d.identifier, `${d.name} (${d.percentage} %)`]),
];
const categoryOptions =
  (none: string) =>
  (catalog: Catalog): [string, string][] => [['', none], ...catalog.all<Category>('categories').map((c): [string, string] => [c.identifier, c.name])];

export const PRODUCTS: ArticleKind = {
  collection: 'products',
  path: 'products',
  one: 'product',
  many: 'Products',
  fields: [
    { name: 'name', label: 'Name', required: true },
    { name: 'price', label: 'Price', kind: 'number', required: true, hint: 'Selling price, such as 3.50' },
    { name: 'tax', label: 'Tax', kind: 'select', options: taxOptions },
    { name: 'category', label: 'Category', kind: 'select', options: categoryOptions('No category') },
    { name: 'discount', label: 'Discount', kind: 'select', options: discountOptions },
    { name: 'costPrice', label: 'Cost price', kind: 'number' },
    { name: 'description', label: 'Description', kind: 'textarea' },
  ],
  valuesOf: (p, catalog) => ({
    identifier: p.identifier,
    name: String(p.name ?? ''),
    price: money(p.price),
    tax: String(p.tax ?? ''),
    discount: String(p.discount ?? ''),
    costPrice: p.costPrice === undefined ? '' : money(p.costPrice),
    description: String(p.description ?? ''),
    category: categoryOf(catalog, p.identifier),
  }),
  bodyOf(v, errors) {
    const price = decimal(v, 'price', errors, true);
    const costPrice = decimal(v, 'costPrice', errors, false);
    if (!(v.name ?? '').trim()) errors.name = 'Enter a name.';
    return {
      name: (v.name ?? '').trim(),
      price,
      tax: optional(v.tax) ?? null,
      discount: optional(v.discount) ?? null,
      costPrice,
      description: v.description ?? '',
    };
  },
  columns: [
    { label: 'Identifier', cell: (p) => p.identifier },
    { label: 'Name', cell: (p) => html`<a href="products/${encodeURIComponent(p.identifier)}">${String(p.name)}</a>` },
    { label: 'Price', num: true, cell: (p) => money(p.price) },
    {
      label: 'Tax',
      cell: (p, c) => {
        const t = c.find<Tax>('taxes', p.tax as string);
        return t ? `${t.name} (${t.vat} %)` : '';
      },
    },
    { label: 'Category', cell: (p, c) => c.find<Category>('categories', categoryOf(c, p.identifier))?.name ?? '' },
  ],
  search: (p, q, c) =>
    [p.identifier, p.name, p.description, c.find<Category>('categories', categoryOf(c, p.identifier))?.name].some(
      (s) => typeof s === 'string' && s.toLowerCase().includes(q),
    ),
  async afterSave(catalog, id, values) {
    await placeInCategory(catalog, id, optional(values.category) ?? null);
  },
};

const percentKind = (collection: 'taxes' | 'discounts', one: string, many: string, key: 'vat' | 'percentage', label: string): ArticleKind => ({
  collection,
  path: collection,
  one,
  many,
  numericIds: true,
  fields: [
    { name: 'name', label: 'Name', required: true },
    { name: key, label, kind: 'number', required: true, hint: 'In percent, such as 10 for 10 %' },
  ],
  valuesOf: (t) => ({ identifier: t.identifier, name: String(t.name ?? ''), [key]: String(t[key] ?? '') }),
  bodyOf(v, errors) {
    const n = decimal(v, key, errors, true);
    if (n !== undefined && (n < 0 || n > 100)) errors[key] = 'Enter a percentage from 0 to 100.';
    if (!(v.name ?? '').trim()) errors.name = 'Enter a name.';
    return { name: (v.name ?? '').trim(), [key]: n };
  },
  columns: [
    { label: 'Identifier', cell: (t) => t.identifier },
    { label: 'Name', cell: (t) => html`<a href="${collection}/${encodeURIComponent(t.identifier)}">${String(t.name)}</a>` },
    { label: label, num: true, cell: (t) => String(t[key]) },
  ],
});

export const TAXES = percentKind('taxes', 'tax', 'Taxes', 'vat', 'VAT %');
export const DISCOUNTS = percentKind('discounts', 'discount', 'Discounts', 'percentage', 'Percentage');
export const CATEGORIES: ArticleKind = {
  collection: 'categories',
  path: 'categories',
  one: 'category',
  many: 'Categories',
  fields: [
    { name: 'name', label: 'Name', required: true, hint: 'No "/" (TabShop uses it between levels)' },
    { name: 'parent', label: 'Parent category', kind: 'select', options: categoryOptions('None (top level)') },
  ],
  valuesOf: (c) => ({ identifier: c.identifier, name: String(c.name ?? ''), parent: String(c.parent ?? '') }),
  bodyOf(v, errors) {
    const name = (v.name ?? '').trim();
    if (!name) errors.name = 'Enter a name.';
    else if (name.includes('/')) errors.name = 'A category name cannot contain "/".';
    return { name, parent: optional(v.parent) ?? null };
  },
  columns: [
    { label: 'Identifier', cell: (c) => c.identifier },
    { label: 'Name', cell: (c) => html`<a href="categories/${encodeURIComponent(c.identifier)}">${String(c.name)}</a>` },
    { label: 'Parent', cell: (c, catalog) => catalog.find<Category>('categories', c.parent as string)?.name ?? '' },
  ],
};

export const KINDS = [PRODUCTS, TAXES, DISCOUNTS, CATEGORIES];

export function articlesSubnav(active: string, root: string): SafeHtml {
  const links: [string, string][] = [
    ['products', 'Products'],
    ['taxes', 'Taxes'],
    ['discounts', 'Discounts'],
    ['categories', 'Categories'],
    ['products/import', 'Import CSV'],
  ];
  return html`<nav class="sub" aria-label="Articles">${links.map(([path, label]) => html`<a href="${root}${path}"${path === active ? html` aria-current="page"` : ''}>${label}</a>`)}<a href="${root}products/export.csv" download>Export CSV</a></nav>`;
}

/** An error from the domain, as a message for the page and, when it names one, for its field. */
function domainProblem(err: unknown, errors: FieldErrors): string {
  if (!(err instanceof AppError)) throw err;
  for (const d of (err.details ?? []) as { field?: string; message?: string }[]) {
    const name = d.field?.replace(/^\//, '');
    if (name && !errors[name]) errors[name] = d.message ?? err.message;
  }
  return err.message;
}

function nextNumericId(catalog: Catalog, collection: Collection): string {
  const ids = catalog
    .all(collection)
    .map((a) => a.identifier)
    .filter((id) => /^\d{1,9}$/.test(id))
    .map(Number);
  return String(ids.length ? Math.max(...ids) + 1 : 1);
}

/** List (with search), create, edit and delete for one kind of article. */
export function articleRoutes(deps: AdminDeps, kind: ArticleKind): Router {
  const { gateway } = deps;
  const { catalog, uow } = gateway;
  const router = Router();
  const base = `/${kind.path}`;
  /** Bridge mode: upstream owns the articles (the API answers bridge_mode_read_only likewise). */
  const canWrite = () => (gateway.config.upstream ? 'Articles are owned by the upstream server in bridge mode; change them there.' : null);

  router.get(base, (req, res) => {
    const q = typeof req.query.q === 'string' ? req.query.q.trim() : '';
    const all = (catalog.all(kind.collection) as unknown as Item[]).sort((a, b) => a.identifier.localeCompare(b.identifier, undefined, { numeric: true }));
    const shown = q && kind.search ? all.filter((i) => kind.search!(i, q.toLowerCase(), catalog)) : all;
    const rows = shown.map((item) => ({ attrs: html`data-id="${item.identifier}"`, cells: kind.columns.map((c) => c.cell(item, catalog)) }));
    send(req, res, deps, {
      title: kind.many,
      section: 'products',
      notice: noticeOf(res),
      content: html`${articlesSubnav(kind.path, rootOf(req))}<h1>${kind.many}</h1>
${kind.search ? html`<form class="filters" method="get" action="${kind.path}" role="search">${field({ label: 'Search', name: 'q', value: q, type: 'search' })}<button type="submit">Search</button></form>` : ''}
<p class="actions"><a class="button primary" href="${kind.path}/new">New ${kind.one}</a> <span class="muted">${shown.length} of ${all.length}</span></p>
${table(`${kind.path}-table`, kind.columns, rows, q ? `No ${kind.one} matches "${q}".` : `No ${kind.many.toLowerCase()} yet.`)}`,
    });
  });

  const formPage = (req: Request, res: Response, o: { id?: string; values: Values; errors: FieldErrors; notice?: Notice | null; status?: number }) => {
    const session = sessionOf(res);
    const fields = kind.fields.map((f) =>
      field({
        label: f.label,
        name: f.name,
        value: o.values[f.name] ?? '',
        error: o.errors[f.name],
        hint: f.hint,
        required: f.required,
        textarea: f.kind === 'textarea',
        options: f.options?.(catalog),
        inputmode: f.kind === 'number' ? 'decimal' : undefined,
      }),
    );
    const idField = o.id
      ? html`<p>Identifier: <strong data-field="identifier">${o.id}</strong></p>`
      : field({
          label: 'Identifier',
          name: 'identifier',
          value: o.values.identifier ?? '',
          error: o.errors.identifier,
          hint: kind.numericIds || kind === PRODUCTS ? 'Leave empty for the next free number' : 'Leave empty to generate one',
        });
    const title = o.id ? `Edit ${kind.one} ${o.values.name || o.id}` : `New ${kind.one}`;
    send(
      req,
      res,
      deps,
      {
        title,
        section: 'products',
        notice: o.notice ?? (Object.keys(o.errors).length ? { kind: 'fail', text: 'Nothing was saved: correct the fields marked below.' } : noticeOf(res)),
        content: html`${articlesSubnav(kind.path, rootOf(req))}<h1>${title}</h1>
<form class="stack" method="post" novalidate>${csrfField(session.csrfToken)}${idField}${fields}
<div class="actions"><button class="primary" type="submit">Save</button> <a href="${o.id ? '../' : ''}${kind.path}">Cancel</a></div></form>
${o.id ? html`<h2>Delete</h2><p><a class="button" href="${encodeURIComponent(o.id)}/delete">Delete this ${kind.one}…</a></p>` : ''}`,
      },
      o.status,
    );
  };

  const save = async (req: Request, res: Response, existing?: string) => {
    const values: Values = {};
    for (const f of [{ name: 'identifier' }, ...kind.fields]) values[f.name] = text(req, f.name);
    if (isStale(req, sessionOf(res))) return formPage(req, res, { id: existing, values, errors: {}, notice: STALE_FORM, status: 403 });
    const readOnly = canWrite();
    if (readOnly) return formPage(req, res, { id: existing, values, errors: {}, notice: { kind: 'fail', text: readOnly }, status: 409 });
    const errors: FieldErrors = {};
    // Fields the form does not show (attribute bits, priceIncludesVat, …) keep their values; a field emptied is removed.
    const current = existing ? (catalog.find(kind.collection, existing) as unknown as Item | undefined) : undefined;
    const { identifier: _id, ...kept } = current ?? { identifier: '' };
    const body: Record<string, unknown> = { ...kept, ...kind.bodyOf(values, errors) };
    for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
    let id = existing ?? optional(values.identifier) ?? '';
    if (!existing && id && catalog.find(kind.collection, id)) errors.identifier = `There is already a ${kind.one} ${id}.`;
    if (!id && (kind.numericIds || kind === PRODUCTS)) id = nextNumericId(catalog, kind.collection);
    for (const p of problemsOf(ENTITY_OF[kind.collection], id ? { ...body, identifier: id } : body)) {
      const name = p.field.replace(/^\//, '');
      if (!errors[name]) errors[name] = `${kind.fields.find((f) => f.name === name)?.label ?? 'Identifier'} ${p.message}.`;
    }
    if (Object.keys(errors).length) return formPage(req, res, { id: existing, values, errors, status: 400 });
    let message: string;
    try {
      // A product whose category cannot be set stays saved (and durable); the form shows why.
      const { item, failed } = await uow.transact(async () => {
        const saved = id ? (await catalog.replace(kind.collection, id, body as never)).item : await catalog.create(kind.collection, body as never);
        try {
          await kind.afterSave?.(catalog, saved.identifier, values);
          return { item: saved, failed: null };
        } catch (err) {
          return { item: saved, failed: err };
        }
      });
      if (failed) throw failed;
      message = `${kind.one[0].toUpperCase()}${kind.one.slice(1)} ${values.name || item.identifier} saved.`;
      req.log?.info(
        { event: 'admin.article_saved', collection: kind.collection, identifier: item.identifier, admin: sessionOf(res).username },
        `${kind.one} ${item.identifier} saved in the back office`,
      );
    } catch (err) {
      const problem = domainProblem(err, errors);
      return formPage(req, res, {
        id: existing,
        values,
        errors,
        notice: { kind: 'fail', text: `Nothing was saved: ${problem}.` },
        status: (err as AppError).status,
      });
    }
    redirectTo(req, res, kind.path, message);
  };

  router.get(`${base}/new`, (req, res) => formPage(req, res, { values: {}, errors: {} }));
  router.post(`${base}/new`, (req, res) => save(req, res));

  const found = (req: Request) => catalog.find(kind.collection, String(req.params.id)) as unknown as Item | undefined;
  const missing = (req: Request, res: Response) =>
    send(
      req,
      res,
      deps,
      {
        title: 'Not found',
        section: 'products',
        content: html`<h1>No ${kind.one} ${String(req.params.id)}</h1><p><a href="../${kind.path}">Back to ${kind.many.toLowerCase()}</a></p>`,
      },
      404,
    );

  router.get(`${base}/:id`, (req, res) => {
    const item = found(req);
    if (!item) return missing(req, res);
    formPage(req, res, { id: item.identifier, values: kind.valuesOf(item, catalog), errors: {} });
  });
  router.post(`${base}/:id`, (req, res) => {
    if (!found(req)) return missing(req, res);
    return save(req, res, String(req.params.id));
  });

  const deletePage = (req: Request, res: Response, item: Item, notice: Notice | null, status = 200) =>
    send(
      req,
      res,
      deps,
      {
        title: `Delete ${kind.one}`,
        section: 'products',
        notice,
        content: html`<h1>Delete ${kind.one} ${String(item.name ?? item.identifier)}?</h1>
<p>This removes ${kind.one} <strong>${item.identifier}</strong> from the catalogue; tablets stop offering it at their next sync. Sales already made keep their lines.</p>
<form method="post" class="actions">${csrfField(sessionOf(res).csrfToken)}<button class="danger" type="submit">Delete</button> <a href="../${encodeURIComponent(item.identifier)}">Cancel</a></form>`,
      },
      status,
    );

  router.get(`${base}/:id/delete`, (req, res) => {
    const item = found(req);
    if (!item) return missing(req, res);
    deletePage(req, res, item, null);
  });
  router.post(`${base}/:id/delete`, async (req, res) => {
    const item = found(req);
    if (!item) return missing(req, res);
    if (isStale(req, sessionOf(res))) return deletePage(req, res, item, STALE_FORM, 403);
    const readOnly = canWrite();
    if (readOnly) return deletePage(req, res, item, { kind: 'fail', text: readOnly }, 409);
    try {
      await catalog.remove(kind.collection, item.identifier);
    } catch (err) {
      const problem = domainProblem(err, {});
      return deletePage(req, res, item, { kind: 'fail', text: `Not deleted: ${problem}.` }, (err as AppError).status);
    }
    redirectTo(req, res, kind.path, `${kind.one[0].toUpperCase()}${kind.one.slice(1)} ${String(item.name ?? item.identifier)} deleted.`);
  });

  return router;
}
