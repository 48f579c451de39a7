import { Router, type Request, type Response } from 'express';
import type { ReleaseInput } from '../domain/ledger.js';
import { AppError } from '../errors.js';
import { when } from '../ops/html.js';
import { safeTarget, safeText } from '../ops/safe-target.js';
import type { QuarantineItem, QuarantineState } from '../store/records.js';
import { validateInvoice } from '../translate/invoice-schema.js';
import { type AdminDeps, isStale, noticeOf, redirectTo, rootOf, send, sessionOf, STALE_FORM, text } from './context.js';
import { badge, csrfField, field, html, type FieldErrors, type Notice, type SafeHtml, table } from './page.js';

const pretty = (payload: unknown) => (typeof payload === 'string' ? payload : JSON.stringify(payload, null, 2));
const STATES: [QuarantineState | 'all', string][] = [
  ['open', 'Open'],
  ['released', 'Released'],
  ['dismissed', 'Dismissed'],
  ['all', 'All'],
];
const stateBadge = (state: QuarantineState) => badge(state === 'open' ? 'warn' : state === 'released' ? 'ok' : 'grey', state);

/** Quarantine (reason, payload; release as pushed, dated when received or corrected; dismiss with a reason) and dead letters (retry, dismiss). */
export function quarantineRoutes(deps: AdminDeps): Router {
  const { gateway } = deps;
  const { ledger, store } = gateway;
  const router = Router();

  /** A dead letter's dismiss form that came back (stale or without a reason): what was typed, what is wrong. */
  interface DismissForm {
    identifier: string;
    target?: string;
    reason: string;
    error?: string;
  }

  const deadLettersSection = (req: Request, res: Response, kept?: DismissForm): SafeHtml => {
    const fwd = gateway.forwarding;
    if (!fwd) return html`<p class="muted" id="no-dead-letters">This gateway forwards nothing (no upstream, no webhooks), so it has no dead letters.</p>`;
    const now = gateway.now();
    const root = rootOf(req);
    const token = csrfField(sessionOf(res).csrfToken);
    const action = (d: { identifier: string }, what: string) => `${root}quarantine/deadletters/${encodeURIComponent(d.identifier)}/${what}`;
    // A sale refused by several targets has a dead letter per target: each row's forms act on their own target only.
    const target = (d: { target: string }) => html`<input type="hidden" name="target" value="${d.target}">`;
    const open = fwd.deadLetters('open').map((d, i) => {
      const back = kept?.identifier === d.identifier && (!kept.target || kept.target === d.target) ? kept : undefined;
      return {
        attrs: html`data-dead-letter="${d.identifier}"`,
        cells: [
          d.identifier,
          safeTarget(d.target),
          d.attempts,
          safeText(d.lastError),
          when(d.at, now),
          html`<div class="actions"><form method="post" action="${action(d, 'retry')}">${token}${target(d)}<button type="submit">Retry</button></form>
<form method="post" action="${action(d, 'retry')}">${token}${target(d)}<input type="hidden" name="method" value="PUT"><button type="submit" title="Send it as a PUT, overwriting the upstream's version (after a collision)">Retry as PUT</button></form>
<form method="post" action="${action(d, 'dismiss')}" class="inline">${token}${target(d)}<label for="dl-reason-${i}">Reason</label><input id="dl-reason-${i}" name="reason" value="${back?.reason ?? ''}" required${back?.error ? html` aria-invalid="true" aria-describedby="dl-reason-${i}-error"` : ''}><button type="submit">Dismiss</button>${back?.error ? html`<p class="field-error" id="dl-reason-${i}-error">${back.error}</p>` : ''}</form></div>`,
        ],
      };
    });
    const dismissed = fwd.deadLetters('dismissed').map((d) => ({
      attrs: html`data-dismissed-dead-letter="${d.identifier}"`,
      cells: [
        d.identifier,
        safeTarget(d.target),
        d.resolution ?? '',
        html`${d.resolvedBy ?? ''} ${when(d.resolvedAt, now)}`,
        html`<form method="post" action="${action(d, 'retry')}">${token}${target(d)}<button type="submit">Retry</button></form>`,
      ],
    }));
    return html`${
      open.length
        ? table(
            'dead-letters-table',
            [{ label: 'Sale' }, { label: 'Target' }, { label: 'Attempts', num: true }, { label: 'Reason' }, { label: 'Since' }, { label: '' }],
            open,
            '',
          )
        : html`<p class="muted" id="no-dead-letters">None open: everything was delivered, is still being retried, or was dismissed.</p>`
    }
${dismissed.length ? html`<h3>Dismissed</h3>${table('dismissed-dead-letters', [{ label: 'Sale' }, { label: 'Target' }, { label: 'Why dismissed' }, { label: 'By' }, { label: '' }], dismissed, '')}` : ''}`;
  };

  const listPage = async (req: Request, res: Response, notice: Notice | null, status = 200, kept?: DismissForm) => {
    const now = gateway.now();
    const root = rootOf(req);
    const wanted = STATES.find(([s]) => s === req.query.state)?.[0] ?? 'open';
    const items = (await ledger.quarantineSummaries(wanted)).reverse();
    const openCount = await ledger.openQuarantineCount();
    const rows = items.map((q) => ({
      attrs: html`data-quarantine="${q.id}"`,
      cells: [
        when(q.at, now),
        q.cashRegisterName ?? '',
        q.invoiceId ?? '',
        badge(q.code === 'collision' ? 'fail' : 'warn', q.code),
        q.reason,
        stateBadge(q.state),
        html`<a href="${root}quarantine/${encodeURIComponent(q.id)}">${q.state === 'open' ? 'Review' : 'Details'}</a>`,
      ],
    }));
    const tabs = STATES.map(
      ([s, label]) =>
        html`<a href="${root}quarantine${s === 'open' ? '' : `?state=${s}`}"${s === wanted ? html` aria-current="page"` : ''}>${label}${s === 'open' ? ` (${openCount})` : ''}</a>`,
    );
    send(
      req,
      res,
      deps,
      {
        title: 'Quarantine',
        section: 'quarantine',
        live: true,
        liveUrl: req.method === 'GET' ? undefined : `${root}quarantine`,
        notice,
        content: html`<h1>Quarantine</h1>
<p>Pushed invoices the gateway could not store as they were. Each one waits here, open, until you release it (as pushed, dated when received, or corrected) or dismiss it with a reason; nothing is ever deleted.</p>
<nav class="sub" aria-label="Quarantine states">${tabs}</nav>
<div id="live-quarantine" data-live>${table('quarantine-table', [{ label: 'When' }, { label: 'Register' }, { label: 'Invoice' }, { label: 'Kind' }, { label: 'Reason' }, { label: 'State' }, { label: '' }], rows, wanted === 'open' ? 'Nothing to review: every pushed invoice was stored or dealt with.' : 'None.')}</div>
<h2 id="dead-letters">Dead letters</h2>
<p>Sales the upstream server or a webhook refused for good. Retry once the cause is fixed, or dismiss with a reason.</p>
<div id="live-dead-letters" data-live>${deadLettersSection(req, res, kept)}</div>`,
      },
      status,
    );
  };

  router.get('/quarantine', (req, res) => listPage(req, res, noticeOf(res)));

  interface ItemForm {
    corrected?: string;
    reason?: string;
    errors?: FieldErrors;
    notice?: Notice | null;
    status?: number;
  }

  const itemPage = (req: Request, res: Response, item: QuarantineItem, o: ItemForm = {}) => {
    const root = rootOf(req);
    const here = `${root}quarantine/${encodeURIComponent(item.id)}`;
    const state = item.state ?? 'open';
    const token = csrfField(sessionOf(res).csrfToken);
    const errors = o.errors ?? {};
    const problems = (item.problems ?? []).map((p) => ({ cells: [p.path, p.message] }));
    const editable = typeof item.payload === 'object' && item.payload !== null;
    const actions =
      state !== 'open'
        ? html`<h2>Resolved</h2><p id="quarantine-resolution">${stateBadge(state)} ${when(item.resolvedAt, gateway.now())} by <strong>${item.resolvedBy ?? '?'}</strong>: ${item.resolution ?? ''}${item.sale ? html` · sale <a href="${root}sales/${encodeURIComponent(item.sale)}">${item.sale}</a>` : ''}</p>`
        : html`<h2>Release</h2>
<p>Store it as a sale now, by the usual push rules (an identical sale already stored stays as it is).</p>
<div class="actions">
<form method="post" action="${here}/release">${token}<input type="hidden" name="mode" value="stored"><button class="primary" type="submit">Release as pushed</button></form>
<form method="post" action="${here}/release">${token}<input type="hidden" name="mode" value="received"><button type="submit">Release with the received date</button></form>
</div>
<p class="muted">"With the received date": the sale is dated when the gateway received it (${when(item.at, gateway.now())}), for a tablet whose clock was wrong.</p>
${
  editable
    ? html`<h3>Correct and release</h3>
<form class="stack" method="post" action="${here}/release" novalidate>${token}<input type="hidden" name="mode" value="corrected">
${field({ label: 'Corrected invoice (JSON)', name: 'invoice', textarea: true, value: o.corrected ?? pretty(item.payload), error: errors.invoice, hint: 'Edit what is wrong (a field, an amount, the date as epoch milliseconds) and release.' })}
<div class="actions"><button type="submit">Release corrected</button></div></form>`
    : ''
}
<h2>Dismiss</h2>
<form class="stack" method="post" action="${here}/dismiss" novalidate>${token}
${field({ label: 'Reason', name: 'reason', value: o.reason ?? '', error: errors.reason, hint: 'Why it may stay unstored (kept with the item)' })}
<div class="actions"><button class="danger" type="submit">Dismiss</button></div></form>`;
    send(
      req,
      res,
      deps,
      {
        title: `Quarantine ${item.id}`,
        section: 'quarantine',
        notice: o.notice ?? noticeOf(res),
        content: html`<p><a href="${root}quarantine">← Quarantine</a></p>
<h1>Quarantined ${item.invoiceId ? `invoice ${item.invoiceId}` : 'push'} ${badge(item.code === 'collision' ? 'fail' : 'warn', item.code)} ${stateBadge(state)}</h1>
<p class="meta">${when(item.at, gateway.now())} · register ${item.cashRegisterName ?? 'unknown'} · device ${item.device ?? 'unknown'}${(item.count ?? 1) > 1 ? ` · arrived ${item.count} times` : ''} · id <code>${item.id}</code></p>
<h2>Reason</h2><p id="quarantine-reason">${item.reason}</p>
${problems.length ? table('quarantine-problems', [{ label: 'Field' }, { label: 'Problem' }], problems, '') : ''}
<h2>What was pushed</h2><pre id="quarantine-payload">${pretty(item.payload)}</pre>
${item.stored !== undefined ? html`<h2>The sale already stored under this id</h2><pre id="quarantine-stored">${pretty(item.stored)}</pre>` : ''}
${actions}`,
      },
      o.status,
    );
  };

  const itemOf = async (req: Request) => store.getQuarantine(String(req.params.id));
  const missing = (req: Request, res: Response) =>
    send(
      req,
      res,
      deps,
      {
        title: 'Not found',
        section: 'quarantine',
        content: html`<h1>No quarantine item ${String(req.params.id)}</h1><p><a href="${rootOf(req)}quarantine">Quarantine</a></p>`,
      },
      404,
    );

  router.get('/quarantine/:id', async (req, res) => {
    const item = await itemOf(req);
    if (!item) return missing(req, res);
    itemPage(req, res, item);
  });

  router.post('/quarantine/:id/release', async (req, res) => {
    const item = await itemOf(req);
    if (!item) return missing(req, res);
    const mode = text(req, 'mode');
    const corrected = mode === 'corrected' ? text(req, 'invoice') : undefined;
    const admin = sessionOf(res).username;
    if (isStale(req, sessionOf(res))) return itemPage(req, res, item, { corrected, notice: STALE_FORM, status: 403 });
    let input: ReleaseInput = mode === 'received' ? { kind: 'stored', date: 'received' } : { kind: 'stored' };
    if (corrected !== undefined) {
      let invoice: unknown;
      try {
        invoice = JSON.parse(corrected);
      } catch (err) {
        return itemPage(req, res, item, {
          corrected,
          errors: { invoice: `This is not valid JSON: ${(err as Error).message}.` },
          notice: { kind: 'fail', text: 'Nothing was released.' },
          status: 400,
        });
      }
      const checked = validateInvoice(invoice);
      if (!checked.ok) {
        const why = checked.problems?.length ? checked.problems.map((p) => `${p.path || '(invoice)'} ${p.message}`).join('; ') : checked.reason;
        return itemPage(req, res, item, {
          corrected,
          errors: { invoice: `Still not a valid TabShop invoice: ${why}.` },
          notice: { kind: 'fail', text: 'Nothing was released.' },
          status: 400,
        });
      }
      input = { kind: 'invoice', invoice };
    }
    try {
      const result = await ledger.releaseQuarantine(item.id, input, admin, gateway.now());
      req.log?.info(
        { event: 'quarantine.release', id: item.id, admin, outcome: result.outcome, sale: result.sale },
        `quarantine item ${item.id} released in the back office: ${result.outcome}`,
      );
      if (result.outcome === 'quarantined') {
        return itemPage(req, res, result.item, {
          corrected,
          errors: corrected !== undefined ? { invoice: result.reason ?? 'quarantined again' } : {},
          notice: { kind: 'fail', text: `Not released: it would be quarantined again (${result.reason}). The item stays open.` },
          status: 422,
        });
      }
      redirectTo(req, res, `quarantine/${encodeURIComponent(item.id)}`, `Released: sale ${result.sale} ${result.outcome}.`);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      itemPage(req, res, (await itemOf(req)) ?? item, { corrected, notice: { kind: 'fail', text: `Not released: ${err.message}.` }, status: err.status });
    }
  });

  router.post('/quarantine/:id/dismiss', async (req, res) => {
    const item = await itemOf(req);
    if (!item) return missing(req, res);
    const reason = text(req, 'reason').trim();
    if (isStale(req, sessionOf(res))) return itemPage(req, res, item, { reason, notice: STALE_FORM, status: 403 });
    if (!reason)
      return itemPage(req, res, item, { errors: { reason: 'Say why it is dismissed.' }, notice: { kind: 'fail', text: 'Not dismissed.' }, status: 400 });
    try {
      await ledger.dismissQuarantine(item.id, reason, sessionOf(res).username, gateway.now());
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return itemPage(req, res, (await itemOf(req)) ?? item, { reason, notice: { kind: 'fail', text: `Not dismissed: ${err.message}.` }, status: err.status });
    }
    req.log?.info({ event: 'quarantine.dismiss', id: item.id, admin: sessionOf(res).username }, `quarantine item ${item.id} dismissed in the back office`);
    redirectTo(req, res, 'quarantine', `Quarantine item ${item.invoiceId ?? item.id} dismissed.`);
  });

  router.post('/quarantine/deadletters/:id/retry', async (req, res) => {
    if (isStale(req, sessionOf(res))) return listPage(req, res, STALE_FORM, 403);
    const id = String(req.params.id);
    const method = text(req, 'method') === 'PUT' ? 'PUT' : undefined;
    const retried = (await gateway.forwarding?.retryDeadLetter(id, { method, target: text(req, 'target') || undefined })) ?? false;
    req.log?.info(
      { event: 'deadletter.retry', identifier: id, retried, method, admin: sessionOf(res).username },
      retried ? `dead letter ${id} moved back to the outbox` : `no dead letter ${id}`,
    );
    redirectTo(
      req,
      res,
      'quarantine#dead-letters',
      retried
        ? `Dead letter ${id} moved back to the outbox${method ? ' (to be sent as a PUT)' : ''}; it will be delivered again.`
        : { kind: 'warn', text: `No dead letter ${id} (already retried?).` },
    );
  });

  router.post('/quarantine/deadletters/:id/dismiss', async (req, res) => {
    const id = String(req.params.id);
    const reason = text(req, 'reason').trim();
    const target = text(req, 'target') || undefined;
    if (isStale(req, sessionOf(res))) return listPage(req, res, STALE_FORM, 403, { identifier: id, target, reason: text(req, 'reason') });
    if (!reason)
      return listPage(req, res, { kind: 'fail', text: `Dead letter ${id} not dismissed: say why (Reason).` }, 400, {
        identifier: id,
        target,
        reason: '',
        error: 'Say why it is dismissed.',
      });
    const dismissed = (await gateway.forwarding?.dismissDeadLetter(id, reason, sessionOf(res).username, target)) ?? 0;
    req.log?.info({ event: 'deadletter.dismiss', identifier: id, dismissed, admin: sessionOf(res).username }, `dead letter ${id} dismissed in the back office`);
    redirectTo(
      req,
      res,
      'quarantine#dead-letters',
      dismissed ? `Dead letter ${id} dismissed; it is kept and no longer counted.` : { kind: 'warn', text: `No open dead letter ${id}.` },
    );
  });

  return router;
}
