import type { Payment, Sale, SaleLine, SaleSource, SaleStatus } from '../domain/types.js';
import { decimalKey, isNumeric, sumDecimals, toNumber } from './decimal.js';
import { epochMsToIso, idString } from './invoice-keys.js';
import type { TabShopInvoice, TabShopNumeric, TabShopPosition } from './tabshop-types.js';

export { invoiceContentKey, invoiceIdentityKey, saleContentKey, saleIdentityKey } from './invoice-keys.js';

export interface InvoiceContext {
  cashRegisterName: string;
  device?: string;
  /**
   * The caller hands the invoice over (parsed for this call, kept by nothing else, never changed
   * later): the sale keeps it as its source instead of a copy.
   */
  adopt?: boolean;
  /** The push body's encoding when it was not UTF-8 (e.g. windows-1252). */
  encoding?: string;
}

export interface StockMovement {
  product: string;
  quantity: number;
}

/**
 * 11 and 12 are the two states of TabShop's undoInvoice (money and stock returned). Which one is
 * the refund and which the cancel is INFERRED, not confirmed (tabshop-protocol-notes §4.4): the
 * manual lists "Refund/Cancel" in that order. Either way both mean "reversed".
 */
const STATUS_BY_CODE: Record<string, SaleStatus> = { '10': 'completed', '11': 'refunded', '12': 'cancelled' };

const METHOD_BY_CODE: Record<string, string> = {
  '0': 'cash',
  '1': 'credit_card',
  '2': 'card',
  '3': 'paypal',
  '4': 'check',
  '5': 'paypal_here',
  '6': 'invoice',
  '7': 'bitcoin',
  '8': 'authorize_net',
  '9': 'payleven',
  '10': 'yodo',
  '11': 'stripe',
};

/** A missing status is a plain checkout; anything but 10/11/12 is refused (validateInvoice rejects it first). */
export function checkoutStatusToSaleStatus(status: TabShopNumeric | undefined): SaleStatus {
  if (status === undefined) return 'completed';
  const saleStatus = isNumeric(status) ? STATUS_BY_CODE[decimalKey(status)] : undefined;
  if (saleStatus === undefined) throw new RangeError(`unknown TabShop checkoutStatus: ${String(status)}`);
  return saleStatus;
}

/** Codes beyond 11 are the merchant's own payment methods: 'custom', with the raw code kept. */
export function paymentMethod(checkoutType: TabShopNumeric | undefined): { method: string; code: string | null } {
  if (checkoutType === undefined) return { method: 'unknown', code: null };
  const known = isNumeric(checkoutType) ? METHOD_BY_CODE[decimalKey(checkoutType)] : undefined;
  return { method: known ?? 'custom', code: String(checkoutType) };
}

export function invoiceToSale(invoice: TabShopInvoice, ctx: InvoiceContext): Sale {
  const lines = invoice.positions.map(positionToLine);
  const total = amountOr(invoice.total, invoice.positions, (p) => p.total);
  return {
    identifier: `${ctx.cashRegisterName}:${idString(invoice.id)}`,
    cashRegisterName: ctx.cashRegisterName,
    createdAt: epochMsToIso(invoice.date),
    status: checkoutStatusToSaleStatus(invoice.checkoutStatus),
    lines,
    payments: [payment(invoice, total)],
    total,
    vat: amountOr(invoice.tax, invoice.positions, (p) => p.tax ?? 0),
    discount: amountOr(invoice.discount, invoice.positions, (p) => p.discount ?? 0),
    // Whether a position's costPrice is per unit or per line is unknown; we keep it as pushed and sum it.
    costPrice: amountOr(invoice.costPrice, invoice.positions, (p) => p.costPrice ?? 0),
    customer: {
      name: invoice.customer?.name ?? '',
      address: invoice.customer?.address ?? '',
      email: invoice.customer?.email ?? '',
    },
    receiptPrintedAt: null,
    source: source(invoice, ctx),
  };
}

/** What a sale takes out of stock, line by line; the caller skips vouchers and unknown products. */
export function stockMovements(sale: Sale): StockMovement[] {
  return sale.lines.map((line) => ({ product: line.product, quantity: toNumber(line.quantity) }));
}

function positionToLine(position: TabShopPosition, index: number): SaleLine {
  return {
    lineNo: index + 1,
    product: idString(position.productId),
    name: position.productName ?? position.posTitle ?? '',
    ...(position.posTitle !== undefined && { title: position.posTitle }),
    quantity: toNumber(position.qty),
    subtotal: toNumber(position.subtotal ?? position.total),
    discount: toNumber(position.discount ?? 0),
    vat: toNumber(position.tax ?? 0),
    total: toNumber(position.total),
    costPrice: toNumber(position.costPrice ?? 0),
  };
}

function payment(invoice: TabShopInvoice, amount: number): Payment {
  return {
    ...paymentMethod(invoice.checkoutType),
    amount,
    ...(invoice.givenCash !== undefined && { given: toNumber(invoice.givenCash) }),
    ...(invoice.returnedCash !== undefined && { returned: toNumber(invoice.returnedCash) }),
  };
}

function source(invoice: TabShopInvoice, ctx: InvoiceContext): SaleSource {
  return {
    kind: 'tabshop',
    ...(ctx.device !== undefined && { device: ctx.device }),
    invoiceId: idString(invoice.id),
    ...(invoice.checkoutType !== undefined && { checkoutType: String(invoice.checkoutType) }),
    ...(invoice.checkoutStatus !== undefined && { checkoutStatus: String(invoice.checkoutStatus) }),
    invoice: ctx.adopt ? invoice : structuredClone(invoice),
    ...(ctx.encoding !== undefined && { encoding: ctx.encoding }),
  };
}

function amountOr(pushed: TabShopNumeric | undefined, positions: TabShopPosition[], part: (p: TabShopPosition) => TabShopNumeric): number {
  return toNumber(pushed ?? sumDecimals(positions.map(part)));
}
