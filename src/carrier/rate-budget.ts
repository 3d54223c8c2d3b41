/**
 * A token bucket on an injected clock: `capacity` units at most, refilled at `perSecond`. Bounds
 * the work a peer can make us do per second (packets handled, bytes inflated, packets sent), so
 * a flood costs a counted drop instead of CPU or phone.sendSignalingData calls.
 */
export class RateBudget {
  private tokens: number;
  private last: number | undefined;

  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
  ) {
    if (!(capacity > 0) || !(perSecond >= 0)) throw new RangeError('a budget needs capacity > 0 and perSecond >= 0');
    this.tokens = capacity;
  }

  /** Takes `amount` when the bucket holds that much; false (nothing taken) otherwise. */
  take(now: number, amount = 1): boolean {
    this.refill(now);
    if (this.tokens < amount) return false;
    this.tokens -= amount;
    return true;
  }

  /**
   * For work whose cost is known only afterwards (inflating): allowed while the balance is
   * positive, then `charge` may take it into debt, which later refills pay back.
   */
  available(now: number): boolean {
    this.refill(now);
    return this.tokens > 0;
  }

  charge(amount: number): void {
    this.tokens -= amount;
  }

  private refill(now: number): void {
    if (this.last !== undefined && now > this.last) this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    if (this.last === undefined || now > this.last) this.last = now;
  }
}
