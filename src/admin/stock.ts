import { Router, type Request, type Response } from 'express';
import { Decimal } from 'decimal.js';
import type { Product } from '../domain/types.js';
import { AppError } from '../errors.js';
import { when } from '../ops/html.js';
import { type AdminDeps, isStale, noticeOf, rootOf, redirectTo, send, sessionOf, STALE_FORM, text } from './context.js';
import { badge, csrfField, field, html, type FieldErrors, type Notice, table } from './page.js';

const NUMBER = /^-?\d+(?:[.,]\d+)?$/;
const parse = (raw: string) => (NUMBER.test(raw.trim()) ? Number(raw.trim().replace(',', '.')) : null);

/** Stock: levels with low stock highlighted (threshold per product), set a level, record a delivery or a correction. */
export function stockRoutes(deps: AdminDeps): Router {
  const { gateway } = deps;
  const { catalog, ledger, uow, adminSettings } = gateway;
  const router = Router();
  // Updated in place when this or (PostgreSQL) another process changes a threshold.
  const thresholds = adminSettings.lowStock;
  const isLow = (product: string, quantity: number, tracked: boolean) =>
    tracked && thresholds[product] !== undefined && new Decimal(quantity).lte(thresholds[product]);

  router.get('/stock', async (req, res) => {
    await adminSettings.syncForReading();
    const onlyLow = req.query.low === '1';
    const products = catalog.all<Product>('products').sort((a, b) => a.identifier.localeCompare(b.identifier, undefined, { numeric: true }));
    const rows = products
      .map((p) => ({ p, s: catalog.stockOf(p.identifier) }))
      .filter(({ p, s }) => !onlyLow || isLow(p.identifier, s.quantity, s.tracked))
      .map(({ p, s }) => {
        const low = isLow(p.identifier, s.quantity, s.tracked);
        return {
          attrs: html`data-product="${p.identifier}"${low ? html` class="low"` : ''}`,
          cells: [
            p.identifier,
            html`<a href="stock/${encodeURIComponent(p.identifier)}">${p.name}</a>`,
            html`<span data-field="quantity">${s.tracked ? String(s.quantity) : 'not tracked'}</span>`,
            thresholds[p.identifier] ?? '',
            low ? badge('warn', 'Low stock') : s.tracked ? badge('ok', 'OK') : html`<span class="muted">sold without limit</span>`,
          ],
        };
      });
    send(req, res, deps, {
      title: 'Stock',
      section: 'stock',
      live: true,
      notice: noticeOf(res),
      content: html`<h1>Stock</h1>
<p>${onlyLow ? html`Showing low stock only. <a href="stock">Show all</a>` : html`<a href="stock?low=1">Show low stock only</a>`}</p>
<div id="live-stock" data-live>${table('stock-table', [{ label: 'Identifier' }, { label: 'Product' }, { label: 'Quantity', num: true }, { label: 'Low at', num: true }, { label: 'State' }], rows, onlyLow ? 'No product is low on stock.' : 'No products yet.')}</div>
<p class="muted">Products whose level was never set are not tracked: tablets may sell them without limit. Set a level to start counting.</p>`,
    });
  });

  interface FormState {
    values: Record<string, string>;
    errors: FieldErrors;
    notice?: Notice | null;
    status?: number;
  }

  const productPage = (req: Request, res: Response, product: Product, o: FormState = { values: {}, errors: {} }) => {
    const s = catalog.stockOf(product.identifier);
    const level = gateway.store.articles.stock[product.identifier];
    const token = csrfField(sessionOf(res).csrfToken);
    // Root-relative: this page is also shown at the URL of a form that was posted (one level deeper).
    const here = `${rootOf(req)}stock/${encodeURIComponent(product.identifier)}`;
    const v = o.values;
    const history = (level?.adjustments ?? [])
      .slice()
      .reverse()
      .map((a) => ({ cells: [when(a.at, gateway.now()), a.delta, a.reason] }));
    send(
      req,
      res,
      deps,
      {
        title: `Stock of ${product.name}`,
        section: 'stock',
        notice: o.notice ?? noticeOf(res),
        content: html`<p><a href="${rootOf(req)}stock">← All stock</a></p>
<h1>Stock of ${product.name}</h1>
<p class="cards"><span class="card"><span class="muted">Quantity now</span><br><span class="big" data-field="quantity">${s.tracked ? String(s.quantity) : 'not tracked'}</span>${s.setAt ? html`<br><span class="muted">level set ${when(s.setAt, gateway.now())}</span>` : ''}</span></p>
<h2>Set the level</h2><p>After a count: the quantity on the shelf now. Sales from now on are counted from it.</p>
<form class="stack" method="post" action="${here}/level" novalidate>${token}
${field({ label: 'Quantity', name: 'quantity', value: v.quantity, error: o.errors.quantity, inputmode: 'decimal' })}
<div class="actions"><button class="primary" type="submit">Set level</button></div></form>
<h2>Delivery or correction</h2>
<form class="stack" method="post" action="${here}/adjustments" novalidate>${token}
${field({
  label: 'Kind',
  name: 'kind',
  value: v.kind ?? 'delivery',
  options: [
    ['delivery', 'Delivery (adds to stock)'],
    ['correction', 'Correction (adds or removes)'],
  ],
})}
${field({ label: 'Quantity change', name: 'delta', value: v.delta, error: o.errors.delta, inputmode: 'decimal', hint: 'A delivery of 24: 24. A correction of two broken: -2.' })}
${field({ label: 'Reason', name: 'reason', value: v.reason, error: o.errors.reason, hint: 'Required for a correction' })}
<div class="actions"><button class="primary" type="submit">Record</button></div></form>
<h2>Low-stock threshold</h2>
<form class="stack" method="post" action="${here}/threshold" novalidate>${token}
${field({ label: 'Low-stock threshold', name: 'threshold', value: v.threshold ?? thresholds[product.identifier] ?? '', error: o.errors.threshold, inputmode: 'decimal', hint: 'Shown as low at or below this quantity; empty for none' })}
<div class="actions"><button type="submit">Save threshold</button></div></form>
<h2>Recent deliveries and corrections</h2>${table('stock-adjustments', [{ label: 'When' }, { label: 'Change', num: true }, { label: 'Reason' }], history, 'None since the level was set.')}`,
      },
      o.status,
    );
  };

  const productOf = (req: Request) => catalog.find<Product>('products', String(req.params.id));
  const notFoundPage = (req: Request, res: Response) =>
    send(
      req,
      res,
      deps,
      { title: 'Not found', section: 'stock', content: html`<h1>No product ${String(req.params.id)}</h1><p><a href="../stock">All stock</a></p>` },
      404,
    );

  router.get('/stock/:id', async (req, res) => {
    await adminSettings.syncForReading();
    const product = productOf(req);
    if (!product) return notFoundPage(req, res);
    productPage(req, res, product);
  });

  /** Shared by the three forms: stale check, bridge mode, field errors, domain errors. */
  const change =
    (fields: string[], apply: (product: Product, values: Record<string, string>, errors: FieldErrors) => Promise<string | null>) =>
    async (req: Request, res: Response) => {
      const product = productOf(req);
      if (!product) return notFoundPage(req, res);
      const values = Object.fromEntries(fields.map((f) => [f, text(req, f)]));
      if (isStale(req, sessionOf(res))) return productPage(req, res, product, { values, errors: {}, notice: STALE_FORM, status: 403 });
      if (gateway.config.upstream)
        return productPage(req, res, product, {
          values,
          errors: {},
          notice: { kind: 'fail', text: 'In bridge mode the upstream server owns the stock; change it there.' },
          status: 409,
        });
      const errors: FieldErrors = {};
      let message: string | null;
      try {
        message = await uow.transact(() => apply(product, values, errors));
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        return productPage(req, res, product, { values, errors, notice: { kind: 'fail', text: `Nothing was saved: ${err.message}.` }, status: err.status });
      }
      if (message === null)
        return productPage(req, res, product, {
          values,
          errors,
          notice: { kind: 'fail', text: 'Nothing was saved: correct the field marked below.' },
          status: 400,
        });
      redirectTo(req, res, `stock/${encodeURIComponent(product.identifier)}`, message);
    };

  router.post(
    '/stock/:id/level',
    change(['quantity'], async (p, v, errors) => {
      const q = parse(v.quantity);
      if (q === null) {
        errors.quantity = 'Enter a quantity, such as 12 or 2.5.';
        return null;
      }
      await catalog.setStock(p.identifier, q, ledger.salesSeq);
      return `Stock of ${p.name} set to ${q}.`;
    }),
  );

  router.post(
    '/stock/:id/adjustments',
    change(['kind', 'delta', 'reason'], async (p, v, errors) => {
      const delta = parse(v.delta);
      const kind = v.kind === 'correction' ? 'correction' : 'delivery';
      if (delta === null || delta === 0) errors.delta = 'Enter the change in quantity, such as 24 or -2.';
      else if (kind === 'delivery' && delta < 0) errors.delta = 'A delivery adds stock: enter a positive quantity, or choose Correction.';
      if (kind === 'correction' && !v.reason.trim()) errors.reason = 'Say why the stock is corrected (broken, count, theft…).';
      if (Object.keys(errors).length) return null;
      await catalog.adjustStock(p.identifier, delta!, `${kind}${v.reason.trim() ? `: ${v.reason.trim()}` : ''}`, ledger.salesSeq);
      return `${kind === 'delivery' ? 'Delivery' : 'Correction'} of ${delta} recorded for ${p.name}.`;
    }),
  );

  router.post(
    '/stock/:id/threshold',
    change(['threshold'], async (p, v, errors) => {
      const raw = v.threshold.trim();
      let threshold: string | null = null;
      if (raw !== '') {
        const t = parse(raw);
        if (t === null || t < 0) {
          errors.threshold = 'Enter a quantity of 0 or more, or leave empty for no threshold.';
          return null;
        }
        threshold = String(t);
      }
      await adminSettings.setThreshold(p.identifier, threshold);
      return raw === '' ? `No low-stock threshold for ${p.name}.` : `${p.name} is shown as low at ${thresholds[p.identifier]} or below.`;
    }),
  );

  return router;
}
