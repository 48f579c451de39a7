/** Lookups of sales that are then never stored (refused invoices, reads of unknown ids) must not grow the set for ever. */
const MAX_ABSENT = 10_000;
/** How many committed rounds a lookup may overlap and still count (their sales are kept to compare). */
const KEEP_ROUNDS = 16;

/** When a lookup read the database (taken before its query was sent). */
export interface LookupMark {
  rounds: number;
  resets: number;
}

/**
 * What this process's lookups of stored sales (the push's upsert lookup) may still rely on after
 * the fact. A row read at a mark still holds while no round that committed since wrote that sale
 * and no other process may have written (a refresh found its writes); whatever cannot be known
 * for sure does not hold (the lookup is made again, the delete runs, as they always did).
 *
 * Sales found absent are remembered until a round writes them: that round inserts their lines and
 * payments without deleting any first.
 */
export class SaleLookups {
  private readonly absentIds = new Set<string>();
  /** The sales of the last rounds that committed, oldest first. */
  private recent: ReadonlySet<string>[] = [];
  private rounds = 0;
  private resets = 0;

  mark(): LookupMark {
    return { rounds: this.rounds, resets: this.resets };
  }

  /** Nothing may have changed this sale in the database since the mark. */
  unchanged(identifier: string, mark: LookupMark): boolean {
    if (mark.resets !== this.resets) return false;
    const since = this.rounds - mark.rounds;
    if (since > this.recent.length) return false;
    for (let i = this.recent.length - since; i < this.recent.length; i++) if (this.recent[i].has(identifier)) return false;
    return true;
  }

  /** A lookup made at the mark found the sale neither in the database nor pending. */
  absent(identifier: string, mark: LookupMark): void {
    if (!this.unchanged(identifier, mark)) return;
    if (this.absentIds.size >= MAX_ABSENT) this.absentIds.clear();
    this.absentIds.add(identifier);
  }

  /** A round writes this sale: whether it is known absent (forgotten now either way; a failed round's retry deletes first). */
  take(identifier: string): boolean {
    return this.absentIds.delete(identifier);
  }

  /** A round committed, with the sales it wrote. */
  committed(sales: ReadonlySet<string>): void {
    this.recent.push(sales);
    if (this.recent.length > KEEP_ROUNDS) this.recent.shift();
    this.rounds++;
  }

  /** Another process wrote (or this one's pending writes were dropped): nothing read before holds. */
  reset(): void {
    this.absentIds.clear();
    this.resets++;
  }
}
