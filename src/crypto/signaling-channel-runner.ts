/**
 * The I/O edge of a `SignalingChannel`: owns the one timer, reads the clock, and hands packets
 * and payloads to callbacks. Everything protocol-related stays in the sans-I/O channel.
 *
 * The callbacks run inside its timer and inside `receive()`, so what they throw is caught and
 * logged here: a packet `sendPacket` refused is like a lost one (the acked channel resends it).
 */
import { toError, type CryptoError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { SignalingChannel, SignalingChannelStats } from './signaling-channel.js';

export interface SignalingChannelRunnerOptions {
  channel: SignalingChannel;
  /** Sends one encrypted packet to the peer (phone.sendSignalingData). */
  sendPacket(packet: Uint8Array): void;
  /** A decrypted payload from the peer. */
  onMessage(payload: Uint8Array): void;
  /** The channel cannot continue; the call should end. */
  onFatal(error: CryptoError): void;
  now?: () => number;
  /** Where a throwing callback is reported (default: nowhere). */
  logger?: Logger;
}

export class SignalingChannelRunner {
  private readonly channel: SignalingChannel;
  private readonly options: SignalingChannelRunnerOptions;
  private readonly now: () => number;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private timerAt: number | undefined;
  private closed = false;

  constructor(options: SignalingChannelRunnerOptions) {
    this.options = options;
    this.channel = options.channel;
    this.now = options.now ?? Date.now;
    this.log = options.logger ?? silentLogger;
  }

  /** The channel's counters (a snapshot). */
  getStats(): SignalingChannelStats {
    return this.channel.getStats();
  }

  /** Throws `CryptoError` for local misuse (message too large, counter exhausted). */
  send(payload: Uint8Array): void {
    if (this.closed) return;
    const packets = this.channel.send(payload, this.now());
    this.emit(packets);
    this.reschedule();
  }

  /** Never throws. */
  receive(packet: Uint8Array): void {
    if (this.closed) return;
    const out = this.channel.receive(packet, this.now());
    this.emit(out.packets);
    for (const message of out.messages) {
      if (this.closed) break;
      this.guarded('onMessage', () => this.options.onMessage(message));
    }
    this.reschedule();
  }

  close(): void {
    this.closed = true;
    this.clearTimer();
  }

  private emit(packets: Uint8Array[]): void {
    for (const packet of packets) this.guarded('sendPacket', () => this.options.sendPacket(packet));
    const fatal = this.channel.fatalError;
    if (fatal && !this.closed) {
      this.close();
      this.guarded('onFatal', () => this.options.onFatal(fatal));
    }
  }

  private guarded(callback: string, call: () => void): void {
    try {
      call();
    } catch (err) {
      try {
        this.log.error(`signaling channel ${callback} threw`, { error: toError(err).message });
      } catch {
        // a throwing logger: nothing left to report to
      }
    }
  }

  private reschedule(): void {
    if (this.closed) return;
    const deadline = this.channel.nextDeadline();
    if (deadline === this.timerAt) return;
    this.clearTimer();
    if (deadline === undefined) return;
    this.timerAt = deadline;
    this.timer = setTimeout(() => this.fire(), Math.max(0, deadline - this.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = undefined;
    if (this.closed) return;
    this.emit(this.channel.tick(this.now()));
    this.reschedule();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = undefined;
  }
}
