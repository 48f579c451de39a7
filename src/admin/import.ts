import express, { Router, type Request, type Response } from 'express';
import { applyProductImport, exportProductsCsv, planProductImport, type ImportPlan } from '../domain/product-import.js';
import { articlesSubnav } from './articles.js';
import { type AdminDeps, isStale, redirectTo, rootOf, send, sessionOf, STALE_FORM } from './context.js';
import { parseMultipart } from './multipart.js';
import { csrfField, html, type Notice, table } from './page.js';

const MAX_BYTES = 5 * 1024 * 1024;
const DELIMITERS: Record<string, string> = { ',': 'comma', ';': 'semicolon', '\t': 'tab' };

/** What a session uploaded and has not confirmed yet (kept server-side: the preview page carries no data). */
const pending = new WeakMap<object, { filename: string; data: Buffer }>();

/** Products CSV: upload → preview (created, changed, refused) → Confirm import; Export CSV. */
export function importRoutes(deps: AdminDeps): Router {
  const { gateway } = deps;
  const { catalog, ledger } = gateway;
  const router = Router();

  const uploadPage = (req: Request, res: Response, notice: Notice | null, status = 200, error?: string) =>
    send(
      req,
      res,
      deps,
      {
        title: 'Import products',
        section: 'products',
        notice,
        content: html`${articlesSubnav('products/import', rootOf(req))}<h1>Import products from a CSV file</h1>
<p>The first line names the columns: TabShop's <code>id, category, title, price, costprice, discountid, description, attribute, stockqty, taxid</code>, or common names such as name, barcode, vat, quantity. Separated by commas, semicolons or tabs; UTF-8 or Windows-1252; decimal commas are fine. You see what will change before anything is saved.</p>
<form class="stack" method="post" action="${rootOf(req)}products/import" enctype="multipart/form-data">${csrfField(sessionOf(res).csrfToken)}
<div class="field" data-field="file"><label for="f-file">CSV file</label><input id="f-file" name="file" type="file" accept=".csv,.txt,text/csv"${error ? html` aria-invalid="true" aria-describedby="f-file-error"` : ''}>${error ? html`<p class="field-error" id="f-file-error">${error}</p>` : ''}</div>
<div class="actions"><button class="primary" type="submit">Import</button> <a href="${rootOf(req)}products/export.csv" download>Export CSV</a></div></form>`,
      },
      status,
    );

  router.get('/products/export.csv', (_req, res) => {
    res.type('text/csv; charset=utf-8').set('Content-Disposition', 'attachment; filename="products.csv"').send(exportProductsCsv(catalog));
  });

  router.get('/products/import', (req, res) => uploadPage(req, res, null));

  router.post('/products/import', express.raw({ type: 'multipart/form-data', limit: MAX_BYTES }), (req, res) => {
    const form = Buffer.isBuffer(req.body) ? parseMultipart(req.body, req.headers['content-type']) : null;
    req.body = form?.fields ?? {};
    if (isStale(req, sessionOf(res)))
      return uploadPage(
        req,
        res,
        { ...STALE_FORM, text: `${STALE_FORM.text.replace(/ What you entered.*$/, '')} Choose the file again and press Import.` },
        403,
      );
    const file = form?.files.file;
    if (!file || file.data.length === 0) return uploadPage(req, res, { kind: 'fail', text: 'Nothing was imported.' }, 400, 'Choose a CSV file.');
    const plan = planProductImport(catalog, file.data);
    pending.set(sessionOf(res), file);
    previewPage(req, res, plan, file.filename);
  });

  const previewPage = (req: Request, res: Response, plan: ImportPlan, filename: string, notice: Notice | null = null, status = 200) => {
    const rows = (list: ImportPlan['created']) =>
      list.map((r) => ({ attrs: html`data-row="${r.row}"`, cells: [r.row, r.identifier, r.name, (r.changes ?? []).join(', ')] }));
    const writes = plan.created.length + plan.changed.length;
    send(
      req,
      res,
      deps,
      {
        title: 'Import preview',
        section: 'products',
        notice,
        content: html`${articlesSubnav('products/import', rootOf(req))}<h1>Import preview: ${filename}</h1>
<p class="meta">Read as ${plan.encoding}, ${DELIMITERS[plan.delimiter]}-separated. Columns: ${
          Object.entries(plan.columns)
            .map(([h, f]) => `${h} → ${f}`)
            .join(', ') || 'none recognised'
        }${plan.ignoredColumns.length ? `; ignored: ${plan.ignoredColumns.join(', ')}` : ''}.</p>
<p id="import-summary"><strong data-field="created">${plan.created.length}</strong> to create, <strong data-field="changed">${plan.changed.length}</strong> to change, <strong data-field="unchanged">${plan.unchanged.length}</strong> unchanged, <strong data-field="refused">${plan.refused.length}</strong> refused${plan.newCategories.length ? `; new categories: ${plan.newCategories.join(', ')}` : ''}.</p>
${
  writes
    ? html`<form method="post" action="${rootOf(req)}products/import/confirm" class="actions">${csrfField(sessionOf(res).csrfToken)}<button class="primary" type="submit">Confirm import</button> <a href="${rootOf(req)}products/import">Cancel</a></form>`
    : html`<p class="notice ok">Nothing to import: every valid row matches the catalogue already.</p>`
}
<h2>Refused</h2>${table(
          'import-refused',
          [{ label: 'Line' }, { label: 'Id' }, { label: 'Reason' }],
          plan.refused.map((r) => ({ attrs: html`data-row="${r.row}"`, cells: [r.row, r.identifier, r.reason] })),
          'None.',
        )}
<h2>To create</h2>${table('import-created', [{ label: 'Line' }, { label: 'Id' }, { label: 'Title' }, { label: '' }], rows(plan.created), 'None.')}
<h2>To change</h2>${table('import-changed', [{ label: 'Line' }, { label: 'Id' }, { label: 'Title' }, { label: 'Changes' }], rows(plan.changed), 'None.')}`,
      },
      status,
    );
  };

  router.post('/products/import/confirm', async (req, res) => {
    const session = sessionOf(res);
    const file = pending.get(session);
    if (isStale(req, session)) {
      if (file)
        return previewPage(
          req,
          res,
          planProductImport(catalog, file.data),
          file.filename,
          {
            kind: 'fail',
            text: 'This form had expired or did not come from this back office, so nothing was imported. Your upload is kept: check the preview and confirm again.',
          },
          403,
        );
      return uploadPage(req, res, STALE_FORM, 403);
    }
    if (!file)
      return uploadPage(
        req,
        res,
        { kind: 'fail', text: 'No upload is waiting to be confirmed (it may have been imported already). Choose the file again.' },
        409,
      );
    if (gateway.config.upstream)
      return uploadPage(req, res, { kind: 'fail', text: 'Articles are owned by the upstream server in bridge mode; import them there.' }, 409);
    // Planned again now: the catalogue may have changed since the preview.
    const plan = planProductImport(catalog, file.data);
    await applyProductImport(catalog, plan, ledger.salesSeq);
    pending.delete(session);
    req.log?.info(
      { event: 'admin.products_imported', created: plan.created.length, changed: plan.changed.length, refused: plan.refused.length, admin: session.username },
      'products imported from CSV in the back office',
    );
    redirectTo(
      req,
      res,
      'products',
      `Import done: ${plan.created.length} created, ${plan.changed.length} changed, ${plan.unchanged.length} unchanged, ${plan.refused.length} refused.`,
    );
  });

  return router;
}
