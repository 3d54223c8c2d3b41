/**
 * Counters of the peer's ack-requiring messages already received: tgcalls' registerSentAck
 * (EncryptedConnection.cpp ~l.690; call-crypto-and-signaling.md §5.3). The first ack-requiring
 * message of a packet is the sender's oldest unacked one, so every smaller counter was received:
 * those are retired and remembered as a floor, which also catches a stale packet delayed past
 * newer ones. Lookups and in-order inserts are O(log n); the list is bounded.
 */
export const MAX_REMEMBERED_ACK_REQUIRED = 4096;

export class AckRequiredWindow {
  /** Counters below this were all received already. */
  private floor = 0;
  /** Received counters >= floor, ascending. */
  private seen: number[] = [];

  /** True when `counter` was received before (or is below the floor). */
  has(counter: number): boolean {
    if (counter < this.floor) return true;
    const at = lowerBound(this.seen, counter);
    return at < this.seen.length && this.seen[at] === counter;
  }

  /** Registers a counter for which `has` is false. */
  add(counter: number, firstInPacket: boolean): void {
    if (firstInPacket && counter > this.floor) {
      this.floor = counter;
      this.seen.splice(0, lowerBound(this.seen, counter));
    }
    this.seen.splice(lowerBound(this.seen, counter), 0, counter);
    if (this.seen.length > MAX_REMEMBERED_ACK_REQUIRED) {
      // Forget the oldest by raising the floor over them: a late copy of an old message is then
      // acked again but never delivered twice (an honest peer never has 4096 messages unacked).
      const excess = this.seen.length - MAX_REMEMBERED_ACK_REQUIRED;
      this.floor = this.seen[excess]!;
      this.seen.splice(0, excess);
    }
  }
}

/** First index whose value is >= `value`. */
function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
