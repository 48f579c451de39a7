/**
 * The sales change feed: every sale change takes the next global seq; the feed lists each sale once,
 * at its latest seq (a sale changed again moves to the end). A consumer that pages with `from` =
 * the last `to` it got sees every sale's latest state, in seq order, without missing a change.
 */
export class SalesFeed {
  private seqs: number[] = [];
  private ids: string[] = [];
  private stale = 0;

  constructor(private readonly currentSeq: (identifier: string) => number | undefined) {}

  /** Start-up: (seq, identifier) of every stored sale, any order. */
  load(entries: Iterable<{ seq: number; identifier: string }>): void {
    // Straight into the two columns (no array of 100,000 entry objects); sorted only when needed.
    const seqs: number[] = [];
    const ids: string[] = [];
    let sorted = true;
    for (const e of entries) {
      if (seqs.length > 0 && e.seq < seqs[seqs.length - 1]) sorted = false;
      seqs.push(e.seq);
      ids.push(e.identifier);
    }
    if (sorted) {
      this.seqs = seqs;
      this.ids = ids;
    } else {
      const order = seqs.map((_, i) => i).sort((a, b) => seqs[a] - seqs[b]);
      this.seqs = order.map((i) => seqs[i]);
      this.ids = order.map((i) => ids[i]);
    }
    this.stale = 0;
  }

  /** A change stored with `seq` (called in seq order). */
  record(seq: number, identifier: string, hadEntry: boolean): void {
    this.seqs.push(seq);
    this.ids.push(identifier);
    if (hadEntry && ++this.stale > this.seqs.length / 2) this.compact();
  }

  /** Sales whose latest change has from < seq ≤ to, oldest first, at most `max`. */
  between(from: number, to: number, max: number): { seq: number; identifier: string }[] {
    const out: { seq: number; identifier: string }[] = [];
    for (let i = this.firstAfter(from); i < this.seqs.length && out.length < max; i++) {
      const seq = this.seqs[i];
      if (seq > to) break;
      if (this.currentSeq(this.ids[i]) === seq) out.push({ seq, identifier: this.ids[i] });
    }
    return out;
  }

  private firstAfter(from: number): number {
    let lo = 0;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqs[mid] <= from) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private compact(): void {
    const keep = this.seqs.map((seq, i) => this.currentSeq(this.ids[i]) === seq);
    this.seqs = this.seqs.filter((_, i) => keep[i]);
    this.ids = this.ids.filter((_, i) => keep[i]);
    this.stale = 0;
  }
}
