import type { SaleRecord } from '../records.js';
import type { LookupMark, SaleLookups } from './sale-lookups.js';

/** Rows read ahead and never asked for (a refused push, an id the translation names otherwise) are dropped beyond this. */
const MAX_AHEAD = 5_000;

interface Read {
  rows: Map<string, SaleRecord>;
  mark: LookupMark;
}

/**
 * The push path's upsert lookups, read ahead and together. The ledger looks sales up one at a
 * time in its serialised step, each a round trip of its own; a push announces its invoices as it
 * arrives (prefetchSales), and what the pushes of one turn of the event loop announced is read in
 * ONE query while they wait for their turn. getSale then takes the row read ahead when nothing may
 * have changed that sale since the query was sent (SaleLookups.unchanged), else reads it again.
 */
export class SalePrefetch {
  private wanted = new Set<string>();
  private scheduled = false;
  private readonly ahead = new Map<string, Promise<Read | null>>();
  /** Lookups answered from a read ahead, for operators and tests. */
  hits = 0;

  constructor(
    private readonly read: (identifiers: string[]) => Promise<Map<string, SaleRecord>>,
    private readonly lookups: SaleLookups,
  ) {}

  want(identifiers: readonly string[]): void {
    for (const id of identifiers) if (!this.ahead.has(id)) this.wanted.add(id);
    if (this.wanted.size === 0 || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const ids = [...this.wanted];
    this.wanted = new Set();
    if (ids.length === 0) return;
    if (this.ahead.size + ids.length > MAX_AHEAD) this.ahead.clear();
    const mark = this.lookups.mark();
    // A failed read costs nothing but the lookups it would have saved: each is made on its own.
    const read = this.read(ids).then(
      (rows) => ({ rows, mark }),
      () => null,
    );
    for (const id of ids) this.ahead.set(id, read);
  }

  /**
   * The sale as read ahead (record undefined: not stored), with the read's mark, when that still
   * holds; null when there is none or it may be stale (the caller reads it again). Used once.
   */
  async take(identifier: string): Promise<{ record: SaleRecord | undefined; mark: LookupMark } | null> {
    // Not read yet: the caller's own lookup answers it, no need to read it ahead as well.
    this.wanted.delete(identifier);
    const read = this.ahead.get(identifier);
    if (!read) return null;
    this.ahead.delete(identifier);
    const r = await read;
    if (!r || !this.lookups.unchanged(identifier, r.mark)) return null;
    this.hits++;
    return { record: r.rows.get(identifier), mark: r.mark };
  }
}
