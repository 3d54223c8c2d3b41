/**
 * A bounded FIFO of 16-bit samples, taken out in fixed-size frames. When full it drops the
 * oldest samples (a live source that outruns the clock should lose old audio, not grow latency).
 * `discard` removes samples from the front with a short crossfade, so that the audio after the
 * cut continues smoothly from what was sent before it.
 */
export class PcmQueue {
  private chunks: Int16Array[] = [];
  private headOffset = 0;
  private size = 0;
  private droppedSamples = 0;

  constructor(private readonly capacity: number) {}

  get length(): number {
    return this.size;
  }

  get dropped(): number {
    return this.droppedSamples;
  }

  /** Appends a copy of `samples`. Returns how many old samples were dropped to make room. */
  push(samples: Int16Array): number {
    if (samples.length === 0) return 0;
    let data = samples;
    if (data.length > this.capacity) data = data.subarray(data.length - this.capacity);
    this.chunks.push(data.slice());
    this.size += data.length;
    let dropped = samples.length - data.length;
    while (this.size > this.capacity) {
      const excess = this.size - this.capacity;
      const head = this.chunks[0]!;
      const avail = head.length - this.headOffset;
      const n = Math.min(avail, excess);
      this.headOffset += n;
      this.size -= n;
      dropped += n;
      if (this.headOffset === head.length) {
        this.chunks.shift();
        this.headOffset = 0;
      }
    }
    this.droppedSamples += dropped;
    return dropped;
  }

  /**
   * Removes and returns exactly `n` samples, or `undefined` if fewer are queued — unless `pad`,
   * then whatever is left comes back zero-padded to `n` (end of a source). The result may be a
   * view on the queue's private copy of the input (already consumed, so the caller may keep it).
   */
  take(n: number, pad = false): Int16Array | undefined {
    if (this.size < n && (!pad || this.size === 0)) return undefined;
    const head = this.chunks[0]!;
    if (head.length - this.headOffset >= n) {
      // The usual case (whole frames written): a view on our own copy, no allocation.
      const view = head.subarray(this.headOffset, this.headOffset + n);
      this.consume(head, n);
      return view;
    }
    const out = new Int16Array(n);
    let filled = 0;
    while (filled < n && this.chunks.length > 0) {
      const head = this.chunks[0]!;
      const m = Math.min(n - filled, head.length - this.headOffset);
      out.set(head.subarray(this.headOffset, this.headOffset + m), filled);
      filled += m;
      this.consume(head, m);
    }
    return out;
  }

  /** Drops `m` samples from the front of `head`, the first chunk, and the chunk once it is used up. */
  private consume(head: Int16Array, m: number): void {
    this.headOffset += m;
    this.size -= m;
    if (this.headOffset === head.length) {
      this.chunks.shift();
      this.headOffset = 0;
    }
  }

  /**
   * Drops `n` samples from the front. The first `fade` samples kept are crossfaded from the
   * samples that followed the last one taken (the dropped head) into the kept ones: a linear
   * overlap-add splice, so the cut neither clicks nor jumps in level. Returns how many were dropped.
   */
  discard(n: number, fade = 0): number {
    const drop = Math.max(0, Math.min(Math.floor(n), this.size));
    if (drop === 0) return 0;
    const f = Math.max(0, Math.min(Math.floor(fade), drop, this.size - drop));
    const head = f > 0 ? this.peek(f) : undefined;
    for (let left = drop; left > 0; ) {
      const chunk = this.chunks[0]!;
      const m = Math.min(left, chunk.length - this.headOffset);
      this.consume(chunk, m);
      left -= m;
    }
    this.droppedSamples += drop;
    if (head) {
      // Our chunks are private copies (push slices its input), so the kept samples can be edited.
      let i = 0;
      for (let c = 0; c < this.chunks.length && i < f; c += 1) {
        const chunk = this.chunks[c]!;
        for (let j = c === 0 ? this.headOffset : 0; j < chunk.length && i < f; j += 1, i += 1) {
          const w = (i + 1) / (f + 1);
          chunk[j] = Math.round(head[i]! * (1 - w) + chunk[j]! * w);
        }
      }
    }
    return drop;
  }

  /** A copy of the first `n` queued samples (n ≤ length), without consuming them. */
  private peek(n: number): Int16Array {
    const out = new Int16Array(n);
    let filled = 0;
    for (let c = 0; c < this.chunks.length && filled < n; c += 1) {
      const chunk = this.chunks[c]!;
      const from = c === 0 ? this.headOffset : 0;
      const m = Math.min(n - filled, chunk.length - from);
      out.set(chunk.subarray(from, from + m), filled);
      filled += m;
    }
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.headOffset = 0;
    this.size = 0;
  }
}
