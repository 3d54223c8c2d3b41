/**
 * A deterministic lossy network for media tests: each packet is dropped, duplicated, delayed by a
 * random amount (which also reorders) or held back extra, from a seeded PRNG, on a virtual clock.
 */
import { seededRandom } from '../helpers/vectors.js';

export { seededRandom };

export interface LinkOptions {
  seed: number;
  loss?: number;
  duplicate?: number;
  /** Extra delay uniformly drawn from [0, jitterMs]. */
  jitterMs?: number;
  /** Share of packets held back an extra `reorderMs`. */
  reorder?: number;
  reorderMs?: number;
  baseDelayMs?: number;
}

export class LossyLink {
  private readonly rand: () => number;
  private queue: { at: number; seq: number; packet: Buffer }[] = [];
  private counter = 0;
  sent = 0;
  dropped = 0;
  duplicated = 0;
  maxQueued = 0;

  constructor(private readonly o: LinkOptions) {
    this.rand = seededRandom(o.seed);
  }

  send(packet: Buffer, nowMs: number): void {
    this.sent += 1;
    if (this.rand() < (this.o.loss ?? 0)) {
      this.dropped += 1;
      return;
    }
    const copies = this.rand() < (this.o.duplicate ?? 0) ? 2 : 1;
    if (copies === 2) this.duplicated += 1;
    for (let c = 0; c < copies; c += 1) {
      let delay = (this.o.baseDelayMs ?? 10) + this.rand() * (this.o.jitterMs ?? 0);
      if (this.rand() < (this.o.reorder ?? 0)) delay += this.o.reorderMs ?? 30;
      this.queue.push({ at: nowMs + delay, seq: this.counter++, packet: Buffer.from(packet) });
    }
    this.maxQueued = Math.max(this.maxQueued, this.queue.length);
  }

  /** Packets whose arrival time is ≤ now, in arrival order. */
  deliver(nowMs: number): { at: number; packet: Buffer }[] {
    const due = this.queue.filter((q) => q.at <= nowMs).sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.queue = this.queue.filter((q) => q.at > nowMs);
    return due;
  }

  get queued(): number {
    return this.queue.length;
  }
}
