/**
 * The jitter buffer's delay target, sans-I/O (NetEq calls its counterpart the delay manager):
 * transit = arrival − timestamp (RFC 3550 §6.4.1) of recent packets. The target is their spread
 * (95th percentile minus minimum over a 2 s window), at least 3 × the RFC 3550 interarrival
 * jitter, plus a small margin, clamped to [minDelayMs, maxDelayMs]; the minimum is the fastest
 * path, the one with no queuing, which every delay is measured above.
 *
 * Shrinking follows a slower figure (`shrinkTargetMs`): the highest target of the last 3 s, and
 * for 5 s after the buffer ran dry, the delay it grew to then. A 2 s window makes the target
 * noisy; following every dip would cycle between growing (concealment) and shrinking, and after a
 * starvation the delay that would have avoided it is kept a while, like NetEq's delay peak
 * detector keeps the height of recurring delay peaks. That figure is clamped to maxDelayMs like
 * the target itself (NetEq's DelayManager::Update clamps whatever raised its target to
 * maximum_delay_ms and 3/4 of its packet buffer): after a stall of seconds — the network's, or
 * the receiving process's own — the buffer ran dry by the stall's length, and holding that would
 * keep the burst that followed (up to the buffer's 1 s capacity) as extra latency for 5 s.
 */

const TRANSIT_WINDOW_MS = 2000;
const TRANSIT_CAPACITY = 512;
const MARGIN_MS = 5;
/** Seconds of target history shrinking follows. */
const SHRINK_HOLD_S = 3;
/** How long the delay reached after running dry is kept before shrinking below it. */
const PEAK_HOLD_MS = 5000;

export class DelayManager {
  // Transit history: ring of (arrival, transit) pairs.
  private readonly tArrival = new Float64Array(TRANSIT_CAPACITY);
  private readonly tValue = new Float64Array(TRANSIT_CAPACITY);
  private tHead = 0;
  private tCount = 0;
  private lastTransit: number | undefined;
  private jitter = 0;
  private target: number;
  private targetDirty = true;
  private minTransit = 0;
  private readonly scratch = new Float64Array(TRANSIT_CAPACITY);
  private peakDelay = 0;
  private peakAt = -Infinity;
  private readonly holdMax = new Float64Array(SHRINK_HOLD_S);
  private holdSecond = -Infinity;

  constructor(
    private readonly minDelay: number,
    private readonly maxDelay: number,
  ) {
    this.target = minDelay;
  }

  /** RFC 3550 interarrival jitter, ms. */
  get jitterMs(): number {
    return this.jitter;
  }

  /** A packet with media time `mediaMs` arrived at `arrivalMs`. */
  noteArrival(mediaMs: number, arrivalMs: number): void {
    const transit = arrivalMs - mediaMs;
    if (this.lastTransit !== undefined) {
      // RFC 3550 A.8, in ms.
      this.jitter += (Math.abs(transit - this.lastTransit) - this.jitter) / 16;
    }
    this.lastTransit = transit;
    this.addTransit(arrivalMs, transit);
  }

  /** Forgets the path (a pause may have shifted every transit); the caller re-adds what it holds. */
  clearHistory(): void {
    this.tCount = 0;
    this.tHead = 0;
    this.lastTransit = undefined;
    this.targetDirty = true;
  }

  /** A transit for the history only (no jitter update): a packet still buffered across a restart. */
  addTransit(arrivalMs: number, transit: number): void {
    if (this.tCount === TRANSIT_CAPACITY) {
      this.tHead = (this.tHead + 1) % TRANSIT_CAPACITY;
      this.tCount -= 1;
    }
    const at = (this.tHead + this.tCount) % TRANSIT_CAPACITY;
    this.tArrival[at] = arrivalMs;
    this.tValue[at] = transit;
    this.tCount += 1;
    this.targetDirty = true;
  }

  reset(): void {
    this.clearHistory();
    this.jitter = 0;
  }

  /** Drops transits older than the window. */
  prune(nowMs: number): void {
    // Keep at least a few entries so a sparse stream (60–120 ms packets) still has a history.
    while (this.tCount > 8 && nowMs - this.tArrival[this.tHead]! > TRANSIT_WINDOW_MS) {
      this.tHead = (this.tHead + 1) % TRANSIT_CAPACITY;
      this.tCount -= 1;
      this.targetDirty = true;
    }
  }

  /** Fastest transit in the window (0 before any). */
  minTransitMs(): number {
    this.targetMs();
    return this.minTransit;
  }

  /** Target delay above the fastest path, ms. */
  targetMs(): number {
    if (!this.targetDirty) return this.target;
    this.targetDirty = false;
    let spread = 0;
    this.minTransit = 0;
    const n = this.tCount;
    if (n > 0) {
      // Recomputed about once per output frame: a selection in a scratch array, not a full sort
      // of a fresh one.
      const values = this.scratch;
      let min = Infinity;
      for (let k = 0; k < n; k += 1) {
        const v = this.tValue[(this.tHead + k) % TRANSIT_CAPACITY]!;
        values[k] = v;
        if (v < min) min = v;
      }
      const q = kthSmallest(values, n, Math.min(n - 1, Math.ceil(0.95 * n) - 1));
      spread = q - min;
      this.minTransit = min;
    }
    const desired = Math.max(spread, 3 * this.jitter) + MARGIN_MS;
    this.target = Math.min(this.maxDelay, Math.max(this.minDelay, desired));
    return this.target;
  }

  /** The buffer ran dry and grew to `delayMs` (above the fastest path) to recover. */
  notePeak(nowMs: number, delayMs: number): void {
    this.peakDelay = nowMs - this.peakAt < PEAK_HOLD_MS ? Math.max(this.peakDelay, delayMs) : delayMs;
    this.peakAt = nowMs;
  }

  /** What shrinking aims for, ms above the fastest path (see the file comment). */
  shrinkTargetMs(nowMs: number): number {
    const second = Math.floor(nowMs / 1000);
    const shift = Math.min(SHRINK_HOLD_S, second - this.holdSecond);
    if (shift > 0) {
      this.holdMax.copyWithin(shift, 0);
      this.holdMax.fill(0, 0, shift);
      this.holdSecond = second;
    }
    this.holdMax[0] = Math.max(this.holdMax[0]!, this.targetMs());
    let max = nowMs - this.peakAt < PEAK_HOLD_MS ? this.peakDelay : 0;
    for (const v of this.holdMax) max = Math.max(max, v);
    return Math.min(this.maxDelay, max);
  }
}

/** The k-th smallest (0-based) of `a[0..n)`, reordering them (Hoare's selection, O(n) on average). */
function kthSmallest(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i += 1;
      while (a[j]! > pivot) j -= 1;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i += 1;
        j -= 1;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break; // j < k < i: a[k] equals the pivot
  }
  return a[k]!;
}
