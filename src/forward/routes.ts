import { Router } from 'express';
import { dismissReason, paging, stringParam } from '../api/http.js';
import { accountOf } from '../auth/basic-auth.js';
import { AppError, notFound } from '../errors.js';
import type { DeadLetterState, ForwardingStatus } from './status.js';

const STATES: ReadonlySet<string> = new Set(['open', 'dismissed', 'all']);

const plainObject = (body: unknown): body is Record<string, unknown> => body !== null && typeof body === 'object' && !Array.isArray(body);

/** A retry's body: none, {} or {"method": "PUT"}. */
function retryMethod(body: unknown): 'PUT' | undefined {
  if (body === undefined || body === null) return undefined;
  if (!plainObject(body)) throw new AppError('invalid_body', 'the body of a retry is {} or {"method": "PUT"}');
  const unknown = Object.keys(body).filter((k) => k !== 'method');
  if (unknown.length > 0)
    throw new AppError(
      'validation_failed',
      `unknown key ${unknown[0]}`,
      unknown.map((k) => ({ field: `/${k}`, message: 'unknown key' })),
    );
  if (body.method === undefined) return undefined;
  if (body.method !== 'PUT') throw new AppError('validation_failed', 'method must be "PUT"', [{ field: '/method', message: 'must be "PUT"' }]);
  return 'PUT';
}

/**
 * GET /outbox, GET /deadletters, POST /deadletters/{identifier}/retry and /dismiss on the srv4pos-style
 * API (admins only: the API's device rules let devices read articles and post sales, nothing else).
 */
export function forwardingRouter(forwarding: ForwardingStatus | undefined, now: () => Date): Router {
  const router = Router();

  router.get('/outbox', async (_req, res) => {
    await forwarding?.refresh?.();
    const targets = forwarding?.targets() ?? [];
    const ages = targets.map((t) => t.oldestAgeMs).filter((a): a is number => a !== null);
    res.json({
      mode: forwarding?.upstream().mode ?? 'standalone',
      depth: targets.reduce((n, t) => n + t.depth, 0),
      oldestAgeMs: ages.length > 0 ? Math.max(...ages) : null,
      deadLetters: targets.reduce((n, t) => n + t.deadLetters, 0),
      at: now().toISOString(),
      targets,
    });
  });

  router.get('/deadletters', async (req, res) => {
    const { firstResult, maxResults } = paging(req);
    const target = stringParam(req, 'target');
    const state = stringParam(req, 'state') ?? 'open';
    if (!STATES.has(state)) throw new AppError('bad_request', 'state must be open, dismissed or all', [{ field: 'state', message: 'invalid' }]);
    await forwarding?.refresh?.();
    const all = (forwarding?.deadLetters(state as DeadLetterState | 'all') ?? []).filter((d) => target === undefined || d.target === target);
    res.json({ items: all.slice(firstResult, firstResult + maxResults), total: all.length });
  });

  router.post('/deadletters/:identifier/retry', async (req, res) => {
    const id = req.params.identifier;
    const method = retryMethod(req.body);
    const target = stringParam(req, 'target');
    await forwarding?.refresh?.();
    const retried = (forwarding?.deadLetters('all') ?? []).filter(
      (d) => (d.identifier === id || d.key === id) && (target === undefined || d.target === target),
    ).length;
    if (retried === 0 || !(await forwarding!.retryDeadLetter(id, { method, target }))) throw notFound(`dead letter ${id}`);
    res.status(202).json({ identifier: req.params.identifier, retried, ...(method ? { method } : {}) });
  });

  router.post('/deadletters/:identifier/dismiss', async (req, res) => {
    const id = req.params.identifier;
    const reason = dismissReason(req.body);
    const target = stringParam(req, 'target');
    const matches = (d: { identifier: string; key: string; target: string }) =>
      (d.identifier === id || d.key === id) && (target === undefined || d.target === target);
    const dismissed = forwarding ? await forwarding.dismissDeadLetter(id, reason, accountOf(res).username, target) : 0;
    if (dismissed === 0) {
      const done = (forwarding?.deadLetters('dismissed') ?? []).find(matches);
      if (done) throw new AppError('not_open', `dead letter ${id} was dismissed already (${done.resolvedAt} by ${done.resolvedBy}); retry it to send it again`);
      throw notFound(`dead letter ${id}`);
    }
    req.log?.info({ event: 'deadletter.dismiss', identifier: id, dismissed, admin: accountOf(res).username }, `dead letter ${id} dismissed`);
    res.json({ identifier: id, dismissed, state: 'dismissed', reason });
  });

  return router;
}
