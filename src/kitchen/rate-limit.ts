/** Per source address: `ratePerSecond` tokens a second, bursts of the same size. */
export class AddressRateLimit {
  private readonly buckets = new Map<string, { tokens: number; last: number }>();
  private readonly burst: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.burst = Math.max(1, ratePerSecond);
  }

  /** True when `address` may send one more message now. */
  take(address: string): boolean {
    const t = this.now();
    const bucket = this.buckets.get(address) ?? { tokens: this.burst, last: t };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((t - bucket.last) * this.ratePerSecond) / 1000);
    bucket.last = t;
    this.buckets.set(address, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Forgets addresses whose bucket has refilled (memory stays bounded by the active senders). */
  sweep(): void {
    const t = this.now();
    for (const [address, b] of this.buckets) {
      if (b.tokens + ((t - b.last) * this.ratePerSecond) / 1000 >= this.burst) this.buckets.delete(address);
    }
  }
}
