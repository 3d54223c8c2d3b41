/**
 * Extends wrapping RTP counters (16-bit sequence numbers, 32-bit timestamps) to monotonic
 * numbers: each new value is placed at the extension nearest to the previous one, so values
 * may step backwards (reordering) as well as forwards across the wrap.
 * Results stay exact doubles for far longer than any call (2^53).
 */
export class Unwrapper {
  private readonly range: number;
  private readonly half: number;
  private last: number | undefined;

  constructor(bits: 16 | 32) {
    this.range = 2 ** bits;
    this.half = this.range / 2;
  }

  unwrap(value: number): number {
    const extended = this.peek(value);
    if (extended === undefined) {
      // Start one cycle up so early values that step back across zero stay positive.
      this.last = value + this.range;
      return this.last;
    }
    if (extended > this.last!) this.last = extended;
    return extended;
  }

  /** Where the next value would be placed, without updating (undefined before the first value). */
  peek(value: number): number | undefined {
    if (this.last === undefined) return undefined;
    const lastLow = this.last % this.range;
    let delta = value - lastLow;
    if (delta > this.half) delta -= this.range;
    else if (delta < -this.half) delta += this.range;
    return this.last + delta;
  }

  reset(): void {
    this.last = undefined;
  }
}
