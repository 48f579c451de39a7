import type { Request, Response } from 'express';
import { badRequest } from '../errors.js';
import { objectsToCsv } from '../render/csv.js';
import { paging } from './http.js';

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

/**
 * A list answered as JSON `{...extra, items, total}` (paged: firstResult, maxResults) or as CSV
 * rows — every row unless paging is asked for (an export). `row` maps only what is sent.
 * `columns` lead the CSV header, so an empty list still has one.
 */
export function sendList<S>(
  req: Request,
  res: Response,
  all: S[],
  row: (s: S) => unknown,
  extra: Record<string, unknown>,
  filename: string,
  columns: string[] = [],
): void {
  const asCsv = wantsCsv(req);
  const { firstResult, maxResults } = listRange(req, asCsv);
  const items = all.slice(firstResult, firstResult + maxResults).map(row);
  if (asCsv) sendCsv(res, objectsToCsv(items, columns), filename);
  else res.json({ ...extra, items, total: all.length });
}

export const wantsCsv = (req: Request) => representation(req, ['json', 'csv']) === 'csv';

/** The rows to send: the page asked for, or, for a CSV without paging parameters (an export), all of them. */
export function listRange(req: Request, asCsv: boolean): { firstResult: number; maxResults: number } {
  const exportAll = asCsv && req.query.firstResult === undefined && req.query.maxResults === undefined;
  return exportAll ? { firstResult: 0, maxResults: Number.MAX_SAFE_INTEGER } : paging(req);
}
