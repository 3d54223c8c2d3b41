/**
 * Incoming signaling packets held until the consumer (the call engine) attaches. tdesktop drops
 * data that arrives before its engine exists; buffering it is the robust choice
 * (call-crypto-and-signaling.md §6). Bounded in packets and bytes; overflow drops the oldest.
 */
export interface SignalingInboxLimits {
  readonly maxPackets: number;
  readonly maxBytes: number;
}

export const DEFAULT_INBOX_LIMITS: SignalingInboxLimits = Object.freeze({ maxPackets: 256, maxBytes: 1 << 20 });

export class SignalingInbox {
  private readonly packets: Uint8Array[] = [];
  private bytes = 0;
  /** Packets discarded because the buffer was full. */
  dropped = 0;

  constructor(private readonly limits: SignalingInboxLimits = DEFAULT_INBOX_LIMITS) {}

  get size(): number {
    return this.packets.length;
  }

  push(data: Uint8Array): void {
    if (data.length > this.limits.maxBytes) {
      this.dropped++;
      return;
    }
    this.packets.push(data);
    this.bytes += data.length;
    while (this.packets.length > this.limits.maxPackets || this.bytes > this.limits.maxBytes) {
      const old = this.packets.shift()!;
      this.bytes -= old.length;
      this.dropped++;
    }
  }

  /** Everything buffered, oldest first; the inbox is empty afterwards. */
  drain(): Uint8Array[] {
    this.bytes = 0;
    return this.packets.splice(0, this.packets.length);
  }

  clear(): void {
    this.drain();
  }
}
