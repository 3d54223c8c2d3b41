/**
 * A token bucket on an injected clock (sans-I/O): `capacity` tokens at most, refilled at
 * `perSecond`. The signaling channels use it to bound work per packet (the capacity) and per
 * second (the rate) — messages decoded, bytes inflated, packets and bytes sent.
 */
export interface RateLimit {
  /** Tokens available at once: the largest burst. */
  readonly capacity: number;
  /** Tokens added per second, up to `capacity`. */
  readonly perSecond: number;
}

export class TokenBucket {
  readonly capacity: number;
  readonly perSecond: number;
  private tokens: number;
  private last: number | undefined;

  constructor(limit: RateLimit) {
    if (!(limit.capacity > 0) || !(limit.perSecond > 0)) throw new RangeError('a rate limit needs a positive capacity and rate');
    this.capacity = limit.capacity;
    this.perSecond = limit.perSecond;
    this.tokens = limit.capacity;
  }

  /** Whole tokens available at `now`. */
  available(now: number): number {
    this.refill(now);
    return Math.floor(this.tokens);
  }

  /** Takes `n` tokens if they are all there; false (and nothing taken) otherwise. */
  take(n: number, now: number): boolean {
    this.refill(now);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Takes `n` tokens even when fewer are left (work already done is charged; the debt delays the next). */
  charge(n: number, now: number): void {
    this.refill(now);
    this.tokens -= n;
  }

  /** The earliest time at which `n` tokens (at most `capacity`) are available. */
  readyAt(n: number, now: number): number {
    this.refill(now);
    const missing = Math.min(n, this.capacity) - this.tokens;
    return missing <= 0 ? now : now + Math.ceil((missing * 1000) / this.perSecond);
  }

  private refill(now: number): void {
    // A clock that steps back refills nothing now; what it mints when it moves forward again is
    // still capped by `capacity`.
    if (this.last === undefined || now < this.last) {
      this.last = now;
      return;
    }
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.perSecond) / 1000);
    this.last = now;
  }
}
