/**
 * Incoming counter window of tgcalls' EncryptedConnection (§4.7): a counter is accepted once,
 * and not when it is 64 or more below the largest accepted one.
 */
export const REPLAY_WINDOW_SIZE = 64;

export class ReplayWindow {
  private largest = 0;
  /** Bit i set = counter (largest - i) was accepted; i < 64. */
  private seen = 0n;
  private any = false;

  /** Registers `counter`; false when it is a duplicate or too old. */
  accept(counter: number): boolean {
    if (!this.any) {
      this.any = true;
      this.largest = counter;
      this.seen = 1n;
      return true;
    }
    if (counter > this.largest) {
      const shift = counter - this.largest;
      this.seen = shift >= REPLAY_WINDOW_SIZE ? 1n : ((this.seen << BigInt(shift)) | 1n) & ((1n << 64n) - 1n);
      this.largest = counter;
      return true;
    }
    const age = this.largest - counter;
    if (age >= REPLAY_WINDOW_SIZE) return false;
    const bit = 1n << BigInt(age);
    if ((this.seen & bit) !== 0n) return false;
    this.seen |= bit;
    return true;
  }
}
