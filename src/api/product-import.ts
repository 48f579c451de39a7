import express, { type RequestHandler } from 'express';
import { applyProductImport, planProductImport, type ImportPlan } from '../domain/product-import.js';
import { badRequest } from '../errors.js';
import type { ArticlesDeps } from './articles.js';

/** The answer: what was (or, with dryRun, would be) created, changed, left unchanged and refused. */
export const importSummary = (plan: ImportPlan, dryRun: boolean) => ({
  dryRun,
  encoding: plan.encoding,
  delimiter: plan.delimiter,
  columns: plan.columns,
  ignoredColumns: plan.ignoredColumns,
  created: plan.created,
  changed: plan.changed,
  unchanged: plan.unchanged.length,
  refused: plan.refused,
  newCategories: plan.newCategories,
});

/** POST /products/import[?dryRun=true]: a products CSV as the raw body (any Content-Type). */
export function productImportRoute({ catalog, ledger, assertWritable }: ArticlesDeps, bodyLimit: string): RequestHandler[] {
  return [
    express.raw({ type: () => true, limit: bodyLimit }),
    async (req, res) => {
      const dryRun = req.query.dryRun === 'true' || req.query.dryRun === '1';
      if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw badRequest('the body must be the CSV file (header line first)');
      if (!dryRun) assertWritable();
      const plan = planProductImport(catalog, req.body);
      if (!dryRun) {
        await applyProductImport(catalog, plan, ledger.salesSeq);
      }
      res.json(importSummary(plan, dryRun));
    },
  ];
}
