import { Router } from 'express';
import { formatDuration, when } from '../ops/html.js';
import { safeTarget, safeText } from '../ops/safe-target.js';
import { type AdminDeps, noticeOf, send } from './context.js';
import { badge, html, table } from './page.js';

/** Bridge and webhook mode: the upstream server, each outbox, and where the dead letters are. */
export function forwardingRoutes(deps: AdminDeps): Router {
  const { gateway } = deps;
  const router = Router();

  router.get('/forwarding', (req, res) => {
    const fwd = gateway.forwarding;
    const now = gateway.now();
    if (!fwd)
      return send(req, res, deps, {
        title: 'Forwarding',
        section: 'forwarding',
        content: html`<h1>Forwarding</h1><p>Standalone: nothing is forwarded (no upstream, no webhooks).</p>`,
      });
    const up = fwd.upstream();
    const rows = fwd.targets().map((t) => ({
      attrs: html`data-target="${safeTarget(t.target)}"`,
      cells: [
        safeTarget(t.target),
        html`<span data-field="depth">${t.depth}</span>`,
        t.oldestAgeMs === null ? '' : formatDuration(t.oldestAgeMs),
        t.attempts,
        t.lastError ? safeText(t.lastError) : '',
        t.nextAttemptAt ? when(t.nextAttemptAt, now) : '',
        t.deadLetters,
      ],
    }));
    send(req, res, deps, {
      title: 'Forwarding',
      section: 'forwarding',
      live: true,
      notice: noticeOf(res),
      content: html`<h1>Forwarding</h1>
<div id="live-forwarding" data-live>
${up.mode === 'bridge' ? html`<p>Upstream server: ${up.reachable === null ? badge('grey', 'not contacted yet') : up.reachable ? badge('ok', 'reachable') : badge('fail', 'unreachable')} · catalogue ${up.catalogueCached ? 'cached' : 'not cached yet'} · last sync ${when(up.lastSyncAt, now)}${up.lastSyncError ? html` · <span class="muted">${safeText(up.lastSyncError)}</span>` : ''}</p>` : html`<p>No upstream server: webhooks only.</p>`}
${table('outbox-table', [{ label: 'Target' }, { label: 'Waiting', num: true }, { label: 'Oldest' }, { label: 'Attempts', num: true }, { label: 'Last error' }, { label: 'Next attempt' }, { label: 'Dead letters', num: true }], rows, 'No targets.')}
</div>
<p><a href="quarantine#dead-letters">Dead letters: retry</a></p>`,
    });
  });

  return router;
}
