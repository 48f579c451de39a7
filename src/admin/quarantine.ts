import { Router, type Request, type Response } from 'express';
import { when } from '../ops/html.js';
import { safeTarget, safeText } from '../ops/safe-target.js';
import { type AdminDeps, isStale, noticeOf, redirectTo, rootOf, send, sessionOf, STALE_FORM } from './context.js';
import { badge, csrfField, html, type Notice, table } from './page.js';

const pretty = (payload: unknown) => (typeof payload === 'string' ? payload : JSON.stringify(payload, null, 2));

/** Quarantine (each item's reason and payload) and dead letters (retry). */
export function quarantineRoutes(deps: AdminDeps): Router {
  const { gateway } = deps;
  const router = Router();

  const deadLettersSection = (req: Request, res: Response) => {
    const fwd = gateway.forwarding;
    if (!fwd) return html`<p class="muted" id="no-dead-letters">This gateway forwards nothing (no upstream, no webhooks), so it has no dead letters.</p>`;
    const now = gateway.now();
    const rows = fwd.deadLetters().map((d) => ({
      attrs: html`data-dead-letter="${d.identifier}"`,
      cells: [
        d.identifier, safeTarget(d.target), d.attempts, safeText(d.lastError), when(d.at, now),
        html`<form method="post" action="${rootOf(req)}quarantine/deadletters/${encodeURIComponent(d.identifier)}/retry">${csrfField(sessionOf(res).csrfToken)}<button type="submit">Retry</button></form>`,
      ],
    }));
    return rows.length
      ? table('dead-letters-table', [{ label: 'Sale' }, { label: 'Target' }, { label: 'Attempts', num: true }, { label: 'Reason' }, { label: 'Since' }, { label: '' }], rows, '')
      : html`<p class="muted" id="no-dead-letters">None: everything was delivered or is still being retried.</p>`;
  };

  const listPage = (req: Request, res: Response, notice: Notice | null, status = 200) => {
    const now = gateway.now();
    const items = gateway.ledger.quarantineSummaries().slice().reverse();
    const rows = items.map((q) => ({
      attrs: html`data-quarantine="${q.id}"`,
      cells: [
        when(q.at, now), q.cashRegisterName ?? '', q.invoiceId ?? '', badge(q.code === 'collision' ? 'fail' : 'warn', q.code), q.reason,
        html`<a href="${rootOf(req)}quarantine/${encodeURIComponent(q.id)}">Details and payload</a>`,
      ],
    }));
    send(req, res, deps, {
      title: 'Quarantine', section: 'quarantine', live: true, notice,
      content: html`<h1>Quarantine</h1>
<p>Pushed invoices the gateway could not store as they were: each waits here with the reason, nothing is lost.</p>
<div id="live-quarantine" data-live>${table('quarantine-table', [{ label: 'When' }, { label: 'Register' }, { label: 'Invoice' }, { label: 'Kind' }, { label: 'Reason' }, { label: '' }], rows, 'Empty: every pushed invoice was stored.')}</div>
<h2 id="dead-letters">Dead letters</h2>
<p>Sales the upstream server or a webhook refused for good. Retry once the cause is fixed.</p>
<div id="live-dead-letters" data-live>${deadLettersSection(req, res)}</div>`,
    }, status);
  };

  router.get('/quarantine', (req, res) => listPage(req, res, noticeOf(res)));

  router.get('/quarantine/:id', async (req, res) => {
    const item = await gateway.store.getQuarantine(String(req.params.id));
    if (!item) return send(req, res, deps, { title: 'Not found', section: 'quarantine', content: html`<h1>No quarantine item ${String(req.params.id)}</h1><p><a href="../quarantine">Quarantine</a></p>` }, 404);
    const problems = (item.problems ?? []).map((p) => ({ cells: [p.path, p.message] }));
    send(req, res, deps, {
      title: `Quarantine ${item.id}`, section: 'quarantine',
      content: html`<p><a href="../quarantine">← Quarantine</a></p>
<h1>Quarantined ${item.invoiceId ? `invoice ${item.invoiceId}` : 'push'} ${badge(item.code === 'collision' ? 'fail' : 'warn', item.code)}</h1>
<p class="meta">${when(item.at, gateway.now())} · register ${item.cashRegisterName ?? 'unknown'} · device ${item.device ?? 'unknown'} · id <code>${item.id}</code></p>
<h2>Reason</h2><p id="quarantine-reason">${item.reason}</p>
${problems.length ? table('quarantine-problems', [{ label: 'Field' }, { label: 'Problem' }], problems, '') : ''}
<h2>What was pushed</h2><pre id="quarantine-payload">${pretty(item.payload)}</pre>
${item.stored !== undefined ? html`<h2>The sale already stored under this id</h2><pre id="quarantine-stored">${pretty(item.stored)}</pre>` : ''}`,
    });
  });

  router.post('/quarantine/deadletters/:id/retry', async (req, res) => {
    if (isStale(req, sessionOf(res))) return listPage(req, res, STALE_FORM, 403);
    const id = String(req.params.id);
    const retried = (await gateway.forwarding?.retryDeadLetter(id)) ?? false;
    req.log?.info({ event: 'deadletter.retry', identifier: id, retried, admin: sessionOf(res).username }, retried ? `dead letter ${id} moved back to the outbox` : `no dead letter ${id}`);
    redirectTo(req, res, 'quarantine#dead-letters', retried
      ? `Dead letter ${id} moved back to the outbox; it will be delivered again.`
      : { kind: 'warn', text: `No dead letter ${id} (already retried?).` });
  });

  return router;
}
