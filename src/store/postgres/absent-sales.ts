/** Lookups of sales that are then never stored (refused invoices, reads of unknown ids) must not grow the set for ever. */
const MAX_IDS = 10_000;
/** How many committed rounds a lookup may overlap and still count (their sales are kept to compare). */
const KEEP_ROUNDS = 16;

export interface LookupMark {
  rounds: number;
  resets: number;
}

/**
 * Sales the database did not have when this process looked them up (the push's upsert lookup),
 * and that nobody has written since: their round inserts lines and payments without deleting any
 * first. Whatever cannot be known for sure counts as stored (the delete runs, as it always did):
 * a lookup that overlapped a round writing the same sale, or too many rounds; everything, once
 * another process may have written (a refresh found its writes).
 */
export class AbsentSales {
  private readonly ids = new Set<string>();
  /** The sales of the last rounds that committed, oldest first. */
  private recent: ReadonlySet<string>[] = [];
  private rounds = 0;
  private resets = 0;

  /** Taken before a lookup, handed to absent() after it. */
  mark(): LookupMark {
    return { rounds: this.rounds, resets: this.resets };
  }

  /** The lookup found the sale neither in the database nor pending. */
  absent(identifier: string, mark: LookupMark): void {
    if (mark.resets !== this.resets) return;
    const since = this.rounds - mark.rounds;
    if (since > this.recent.length) return;
    for (let i = this.recent.length - since; i < this.recent.length; i++) if (this.recent[i].has(identifier)) return;
    if (this.ids.size >= MAX_IDS) this.ids.clear();
    this.ids.add(identifier);
  }

  /** A round writes this sale: whether it was known absent (forgotten now either way; a failed round's retry deletes first). */
  take(identifier: string): boolean {
    return this.ids.delete(identifier);
  }

  /** A round committed, with the sales it wrote. */
  committed(sales: ReadonlySet<string>): void {
    this.recent.push(sales);
    if (this.recent.length > KEEP_ROUNDS) this.recent.shift();
    this.rounds++;
  }

  /** Another process wrote (or this one's pending writes were dropped): nothing known is trusted any more. */
  reset(): void {
    this.ids.clear();
    this.resets++;
  }
}
