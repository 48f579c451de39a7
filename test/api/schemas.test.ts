import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateBody } from '../../src/api/validate.js';
import { AppError } from '../../src/errors.js';

const demo = JSON.parse(readFileSync(new URL('../../fixtures/demo/catalogue.json', import.meta.url), 'utf8'));

describe('srv4pos payload schemas', () => {
  it.each([
    ['tax', 'taxes'],
    ['discount', 'discounts'],
    ['category', 'categories'],
    ['product', 'products'],
    ['commodity', 'commodities'],
  ])('accept every %s of the demo catalogue', (schema, key) => {
    for (const item of demo[key]) expect(validateBody(schema, item)).toBe(item);
  });

  it.each([
    ['tax', { name: 'VAT', vat: 120 }, '/vat'],
    ['tax', { identifier: 'x1', name: 'VAT', vat: 10 }, '/identifier'],
    ['product', { name: 'Tea' }, '/price'],
    ['product', { name: 'Tea', price: '2.5' }, '/price'],
    ['product', { name: 'Tea', price: 2.5, typo: 1 }, '/typo'],
    ['category', { name: 'A/B' }, '/name'],
    ['sale', { cashRegisterName: 'TAB 1', createdAt: 'yesterday', lines: [] }, '/createdAt'],
  ])('reject an invalid %s, naming the field', (schema, body, field) => {
    const err = (() => {
      try {
        validateBody(schema, body);
      } catch (e) {
        return e as AppError;
      }
    })();
    expect(err).toBeInstanceOf(AppError);
    expect(err!.code).toBe('validation_failed');
    expect((err!.details as { field: string }[]).map((d) => d.field)).toContain(field);
  });
});
