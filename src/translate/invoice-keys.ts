import type { Sale } from '../domain/types.js';
import { canonicalJson, sha256Hex, type CanonicalRules } from './canonical.js';
import { decimalKey, toNumber } from './decimal.js';
import type { TabShopInvoice } from './tabshop-types.js';

const INVOICE_RULES: CanonicalRules = {
  numericStrings: true,
  verbatim: new Set(['id', 'productId', 'productName', 'posTitle', 'name', 'address', 'email']),
  unordered: new Set(['positions']),
  nested: {},
};

// A sale's own strings are names and codes, kept as given; only its embedded TabShop invoice is lenient.
const SALE_RULES: CanonicalRules = {
  numericStrings: false,
  verbatim: new Set(),
  unordered: new Set(['lines']),
  nested: { invoice: INVOICE_RULES },
};

/**
 * "Same invoice" (DESIGN §4.1): date + positions (productId, qty, total) by decimal value, order ignored.
 * Built in the same form as saleIdentityKey, so an invoice and the sale translated from it share a key.
 */
export function invoiceIdentityKey(invoice: TabShopInvoice): string {
  return identityKey(
    epochMsToIso(invoice.date),
    invoice.positions.map((p) => [idString(p.productId), decimalKey(p.qty), decimalKey(p.total)]),
  );
}

/** Everything the tablet sent, by decimal value, position order ignored: unchanged vs updated. */
export function invoiceContentKey(invoice: TabShopInvoice): string {
  return sha256Hex(canonicalJson(invoice, INVOICE_RULES));
}

export function saleIdentityKey(sale: Sale): string {
  return identityKey(
    sale.createdAt,
    sale.lines.map((l) => [l.product, decimalKey(l.quantity), decimalKey(l.total)]),
  );
}

/** The sale minus what the gateway assigns (version, day, printing) and who delivered it. */
export function saleContentKey(sale: Sale): string {
  const { version: _version, dayId: _dayId, receiptPrintedAt: _printed, source, ...rest } = sale;
  const content: Record<string, unknown> = { ...rest };
  if (source !== undefined) {
    const { device: _device, ...sourceContent } = source;
    content.source = sourceContent;
  }
  return sha256Hex(canonicalJson(content, SALE_RULES));
}

export function epochMsToIso(date: TabShopInvoice['date']): string {
  return new Date(toNumber(date)).toISOString();
}

export function idString(id: string | number): string {
  return typeof id === 'number' ? String(id) : id;
}

function identityKey(createdAt: string, lines: string[][]): string {
  const sorted = lines.map((l) => JSON.stringify(l)).sort();
  return sha256Hex(JSON.stringify([createdAt, sorted]));
}
