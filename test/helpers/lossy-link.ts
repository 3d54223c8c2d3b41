/**
 * A deterministic simulated link for sans-I/O tests: seeded loss, duplication, reordering and
 * delay, driven by a virtual clock. Nothing here touches a socket or a timer.
 */
import { seededRandom } from './vectors.js';

export interface LinkImpairment {
  loss?: number;
  duplicate?: number;
  /** Probability that a packet gets an extra delay (which reorders it). */
  reorder?: number;
  baseDelayMs?: number;
  jitterMs?: number;
  reorderDelayMs?: number;
}

interface InFlight<T> {
  at: number;
  order: number;
  item: T;
}

export class LossyLink<T> {
  private readonly random: () => number;
  private queue: InFlight<T>[] = [];
  private order = 0;
  sent = 0;
  dropped = 0;
  duplicated = 0;

  constructor(
    seed: number,
    private readonly impairment: LinkImpairment = {},
  ) {
    this.random = seededRandom(seed);
  }

  send(item: T, now: number): void {
    this.sent++;
    const { loss = 0, duplicate = 0 } = this.impairment;
    if (this.random() < loss) {
      this.dropped++;
      return;
    }
    this.enqueue(item, now);
    if (this.random() < duplicate) {
      this.duplicated++;
      this.enqueue(item, now);
    }
  }

  /** Items whose delivery time has come, in delivery order. */
  deliver(now: number): T[] {
    const due = this.queue.filter((f) => f.at <= now).sort((a, b) => a.at - b.at || a.order - b.order);
    this.queue = this.queue.filter((f) => f.at > now);
    return due.map((f) => f.item);
  }

  nextDelivery(): number | undefined {
    let next: number | undefined;
    for (const f of this.queue) if (next === undefined || f.at < next) next = f.at;
    return next;
  }

  get inFlight(): number {
    return this.queue.length;
  }

  private enqueue(item: T, now: number): void {
    const { reorder = 0, baseDelayMs = 10, jitterMs = 0, reorderDelayMs = 200 } = this.impairment;
    let delay = baseDelayMs + this.random() * jitterMs;
    if (this.random() < reorder) delay += this.random() * reorderDelayMs;
    this.queue.push({ at: now + delay, order: this.order++, item });
  }
}
