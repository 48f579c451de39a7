import { Decimal } from 'decimal.js';
import { isReversed, type Sale, type SaleStatus } from '../domain/types.js';

export interface UnacknowledgedChange {
  key: string;
  sale: Pick<Sale, 'status' | 'lines'>;
  previousStatus: SaleStatus | null;
}

/** −1 when a change sold the lines, +1 when it put them back, 0 otherwise (the ledger's stock rule). */
export function moveSign(previous: SaleStatus | null, status: SaleStatus): -1 | 0 | 1 {
  const isSold = !isReversed(status);
  if (previous === null) return isSold ? -1 : 0;
  const wasSold = !isReversed(previous);
  return wasSold === isSold ? 0 : isSold ? -1 : 1;
}

/**
 * Net quantity per product moved by sale changes upstream has not acknowledged (negative =
 * taken out). Bridge-mode tablets see upstream's level plus this. Each change counts once.
 */
export function unacknowledgedMoves(changes: Iterable<UnacknowledgedChange>): Map<string, Decimal> {
  const seen = new Set<string>();
  const moves = new Map<string, Decimal>();
  for (const change of changes) {
    if (seen.has(change.key)) continue;
    seen.add(change.key);
    const sign = moveSign(change.previousStatus, change.sale.status);
    if (sign === 0) continue;
    for (const line of change.sale.lines) {
      const delta = new Decimal(String(line.quantity)).times(sign);
      moves.set(line.product, (moves.get(line.product) ?? new Decimal(0)).plus(delta));
    }
  }
  return moves;
}
