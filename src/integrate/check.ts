import { isReversed, type Sale } from '../domain/types.js';
import { validateInvoice } from '../translate/invoice-schema.js';
import { invoiceContentKey, invoiceIdentityKey, invoiceToSale } from '../translate/invoice.js';
import type { FixturePush } from './fixtures.js';

export const DEFAULT_REGISTER = 'TAB-1';

export interface Problem {
  source: string;
  /** JSON pointer into the push body; '' for the whole body. */
  path: string;
  message: string;
}

export interface Outcomes {
  created: number;
  updated: number;
  unchanged: number;
  quarantined: number;
}

export interface CheckResult {
  pushes: number;
  invoices: number;
  /** Captured requests that are not invoice pushes (legacy reads). */
  skipped: number;
  problems: Problem[];
  /** What the gateway would answer, summed over the pushes (as replay into an empty gateway would see). */
  outcomes: Outcomes;
  /** The sales the gateway would store, in the order first stored; a later push of the same invoice replaces it. */
  sales: Sale[];
}

/** `file: /invoices/3/positions/0/qty: must be number or numeric string` */
export function formatProblem(p: Problem): string {
  return p.path ? `${p.source}: ${p.path}: ${p.message}` : `${p.source}: ${p.message}`;
}

interface Stored {
  sale: Sale;
  identity: string;
  content: string;
  /** Contents the sale had before (a push of one again is a stale re-push). */
  earlier: Set<string>;
  source: string;
}

/**
 * Checks pushes offline as the gateway would take them, in order: the body shape, every invoice
 * against schemas/tabshop-invoice.schema.json and the translation rules, and the upsert rules
 * across pushes (the same invoice id with another date or positions is a collision).
 * `register` overrides each push's own register (capture metadata), which defaults to TAB-1;
 * `device` is the pushing device for pushes that do not name one.
 */
export function checkPushes(pushes: FixturePush[], opts: { register?: string; device?: string } = {}): CheckResult {
  const result: CheckResult = {
    pushes: 0,
    invoices: 0,
    skipped: 0,
    problems: [],
    outcomes: { created: 0, updated: 0, unchanged: 0, quarantined: 0 },
    sales: [],
  };
  const stored = new Map<string, Stored>();
  const order: string[] = [];
  for (const push of pushes) {
    if (push.skip) {
      result.skipped++;
      continue;
    }
    result.pushes++;
    if (!push.invoices) {
      result.problems.push({ source: push.source, path: '', message: push.bodyProblem ?? 'not a push body' });
      continue;
    }
    const register = opts.register ?? push.register ?? DEFAULT_REGISTER;
    push.invoices.forEach((item, i) => {
      result.invoices++;
      const at = `/invoices/${i}`;
      const problem = (path: string, message: string) => result.problems.push({ source: push.source, path: at + path, message });
      const checked = validateInvoice(item);
      if (!checked.ok) {
        for (const p of checked.problems) problem(p.path, p.message);
        result.outcomes.quarantined++;
        return;
      }
      let sale: Sale;
      try {
        const device = push.device ?? opts.device;
        sale = invoiceToSale(checked.invoice, { cashRegisterName: register, ...(device !== undefined && { device }) });
      } catch (err) {
        problem('', `cannot be translated: ${(err as Error).message}`);
        result.outcomes.quarantined++;
        return;
      }
      const identity = invoiceIdentityKey(checked.invoice);
      const content = invoiceContentKey(checked.invoice);
      const previous = stored.get(sale.identifier);
      if (previous && previous.identity !== identity) {
        problem(
          '',
          `invoice ${sale.source?.invoiceId} of register ${register} was pushed before (${previous.source}) with another date or positions: the gateway quarantines it as a collision`,
        );
        result.outcomes.quarantined++;
        return;
      }
      // Re-pushes change nothing: the same content, an earlier version, or a completed version of a reversed sale (DESIGN §4.1).
      const stale = previous !== undefined && (previous.earlier.has(content) || (!isReversed(sale.status) && isReversed(previous.sale.status)));
      if (previous && (previous.content === content || stale)) {
        result.outcomes.unchanged++;
        return;
      }
      const version = (previous?.sale.version ?? 0) + 1;
      const earlier = new Set(previous ? [...previous.earlier, previous.content] : []);
      stored.set(sale.identifier, { sale: { ...sale, version }, identity, content, earlier, source: `${push.source} ${at}` });
      if (previous) result.outcomes.updated++;
      else {
        result.outcomes.created++;
        order.push(sale.identifier);
      }
    });
  }
  result.sales = order.map((id) => stored.get(id)!.sale);
  return result;
}
