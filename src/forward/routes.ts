import { Router } from 'express';
import { paging, stringParam } from '../api/http.js';
import { notFound } from '../errors.js';
import type { ForwardingStatus } from './status.js';

/**
 * GET /outbox, GET /deadletters, POST /deadletters/{identifier}/retry on the srv4pos-style
 * API (admins only: the API's device rules let devices read articles and post sales, nothing else).
 */
export function forwardingRouter(forwarding: ForwardingStatus | undefined, now: () => Date): Router {
  const router = Router();

  router.get('/outbox', (_req, res) => {
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

  router.get('/deadletters', (req, res) => {
    const { firstResult, maxResults } = paging(req);
    const target = stringParam(req, 'target');
    const all = (forwarding?.deadLetters() ?? []).filter((d) => target === undefined || d.target === target);
    res.json({ items: all.slice(firstResult, firstResult + maxResults), total: all.length });
  });

  router.post('/deadletters/:identifier/retry', async (req, res) => {
    const id = req.params.identifier;
    const retried = (forwarding?.deadLetters() ?? []).filter((d) => d.identifier === id || d.key === id).length;
    if (retried === 0 || !(await forwarding!.retryDeadLetter(id))) throw notFound(`dead letter ${id}`);
    res.status(202).json({ identifier: req.params.identifier, retried });
  });

  return router;
}
