export interface KitchenPosition {
  product: string;
  /** Decimal string, exactly as sent when it was a plain decimal ("2", "1.5"). */
  amount: string;
}

export type KitchenState = 'open' | 'done' | 'rejected';

/** Why a message was not an order. */
export type RejectCode = 'invalid' | 'too_large' | 'timeout' | 'interrupted';

/** One message received on the kitchen port, as stored. */
export interface KitchenOrder {
  /** "1", "2", … in the order received; never reused. */
  id: string;
  /** Sequence number of the order's last change (received, done, reopened): the event id of the live screen. */
  seq: number;
  receivedAt: string;
  /** The sender's address. */
  source: string;
  state: KitchenState;
  table: string | null;
  positions: KitchenPosition[];
  doneAt?: string;
  /** Rejected messages: why, how many bytes arrived, and the first of them (at most RAW_KEPT), base64; the journal has all. */
  reject?: { code: RejectCode; reason: string; bytes: number; raw: string; truncated: boolean };
  encoding?: 'utf-8' | 'windows-1252';
  /** Webhook targets (`webhook:<url>`) still to be told about the order; absent or empty: none. */
  pendingHooks?: string[];
}

/** What the journal keeps of every message: the bytes, where from, when. */
export interface KitchenJournalEntry {
  at: string;
  source: string;
  orderId: string;
  bytes: number;
  /** Base64 of every byte received (at most the 64 KB limit). */
  raw: string;
}

/** The order as the API and the screen show it. */
export interface KitchenOrderView {
  id: string;
  receivedAt: string;
  table: string | null;
  positions: KitchenPosition[];
  state: KitchenState;
  source: string;
  doneAt?: string;
  /** Rejected: why, and the first bytes received (base64, at most 4 KB; all of them in the journal). */
  reason?: string;
  rawBase64?: string;
  /** Rejected: how many bytes arrived (at most 64 KB are read). */
  bytes?: number;
}

export function viewOf(o: KitchenOrder): KitchenOrderView {
  const view: KitchenOrderView = { id: o.id, receivedAt: o.receivedAt, table: o.table, positions: o.positions, state: o.state, source: o.source };
  if (o.doneAt) view.doneAt = o.doneAt;
  if (o.reject) {
    view.reason = o.reject.reason;
    view.rawBase64 = o.reject.raw;
    view.bytes = o.reject.bytes;
  }
  return view;
}

/** A kitchen_order_rejected error: done/reopen of a message that is not an order. */
export class NotAnOrderError extends Error {}
