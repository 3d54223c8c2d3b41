/**
 * The fake server's relay for phone.sendSignalingData: optional seeded loss, delay, duplication
 * and reordering, the way a lossy path through Telegram's servers could behave.
 */
import type { SeededRandom } from './seeded-random.js';
import type { TimerSet } from './timer-set.js';

export interface SignalingRelayOptions {
  /** Probability a packet is dropped. */
  readonly loss?: number;
  /** Probability a packet is delivered twice. */
  readonly duplicate?: number;
  /** Probability a packet is held back by `reorderDelayMs` extra, letting later ones overtake it. */
  readonly reorder?: number;
  readonly reorderDelayMs?: number;
  /** Uniform per-packet delay in [min, max] ms. Default 0: delivered in order. */
  readonly delayMs?: { readonly min: number; readonly max: number };
}

export interface SignalingRelayStats {
  relayed: number;
  dropped: number;
  duplicated: number;
  reordered: number;
}

function probability(v: number | undefined, name: string): number {
  const p = v ?? 0;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${name} must be within 0..1`);
  return p;
}

export class SignalingRelay {
  private readonly counters: SignalingRelayStats = { relayed: 0, dropped: 0, duplicated: 0, reordered: 0 };
  private readonly loss: number;
  private readonly duplicate: number;
  private readonly reorder: number;
  private readonly reorderDelayMs: number;
  private readonly minDelay: number;
  private readonly maxDelay: number;

  constructor(
    options: SignalingRelayOptions,
    private readonly random: SeededRandom,
    private readonly timers: TimerSet,
  ) {
    this.loss = probability(options.loss, 'loss');
    this.duplicate = probability(options.duplicate, 'duplicate');
    this.reorder = probability(options.reorder, 'reorder');
    this.reorderDelayMs = options.reorderDelayMs ?? 20;
    this.minDelay = options.delayMs?.min ?? 0;
    this.maxDelay = Math.max(this.minDelay, options.delayMs?.max ?? this.minDelay);
  }

  getStats(): SignalingRelayStats {
    return { ...this.counters };
  }

  relay(data: Uint8Array, deliver: (data: Uint8Array) => void): void {
    if (this.random.next() < this.loss) {
      this.counters.dropped++;
      return;
    }
    const copies = this.random.next() < this.duplicate ? 2 : 1;
    if (copies === 2) this.counters.duplicated++;
    for (let i = 0; i < copies; i++) {
      let delay = this.minDelay + this.random.next() * (this.maxDelay - this.minDelay);
      if (this.random.next() < this.reorder) {
        delay += this.reorderDelayMs;
        this.counters.reordered++;
      }
      this.counters.relayed++;
      if (delay <= 0) deliver(data);
      else this.timers.set(() => deliver(data), delay);
    }
  }
}
