import type { Request, Response } from 'express';
import { badRequest } from '../errors.js';
import { objectsToCsv } from '../render/csv.js';

export type Representation = 'json' | 'text' | 'csv';

const MEDIA: Record<Representation, string> = { json: 'application/json', text: 'text/plain', csv: 'text/csv' };

/**
 * JSON, printable text or CSV: `?format=` wins (handy in a browser), else the Accept header;
 * anything else (or nothing) gets JSON.
 */
export function representation(req: Request, offered: Representation[]): Representation {
  const format = req.query.format;
  if (format !== undefined) {
    if (typeof format !== 'string' || !offered.includes(format as Representation)) {
      throw badRequest(`format must be one of ${offered.join(', ')}`, [{ field: 'format', message: 'invalid' }]);
    }
    return format as Representation;
  }
  const best = req.accepts(offered.map((r) => MEDIA[r]));
  const found = offered.find((r) => MEDIA[r] === best);
  return found ?? 'json';
}

export function sendText(res: Response, text: string): void {
  res.type('text/plain; charset=utf-8').send(text);
}

export function sendCsv(res: Response, body: string, filename: string): void {
  res.type('text/csv; charset=utf-8').set('Content-Disposition', `attachment; filename="${filename}"`).send(body);
}

/** A list answered as JSON `{items, total, ...extra}` or as CSV rows. */
export function sendList(req: Request, res: Response, items: unknown[], total: number, extra: Record<string, unknown>, filename: string, columns: string[] = []): void {
  if (representation(req, ['json', 'csv']) === 'csv') sendCsv(res, objectsToCsv(items, columns), filename);
  else res.json({ ...extra, items, total });
}
