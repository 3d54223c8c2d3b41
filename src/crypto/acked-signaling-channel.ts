/**
 * The acked custom-message signaling channel of library versions 8.0.0 / 9.0.0
 * (tgcalls EncryptedConnection, Signaling type; call-crypto-and-signaling.md §5.3).
 *
 * Every application message carries its own seq with the requires-ack bit and is kept in an
 * in-order queue until the peer acks that exact seq. Service packets (0xFE first) carry pending
 * acks and the queued messages that are due for resending. The state machine never touches a
 * clock or a socket: time comes in as `now`, packets go out as return values.
 *
 * What one peer can make us do on receive is bounded (signaling-limits.ts): new messages decoded
 * and bytes inflated per second, and pending acks. Over a budget a message is left unacked, so the
 * peer resends it; every per-message step is O(1) or O(log n).
 */
import { concatBytes } from './bytes.js';
import { ACK_ID, CUSTOM_HEADER_SIZE, CUSTOM_ID, parseBody, serializeAck, serializeCustom, serializeServiceHeader, SERVICE_HEADER_SIZE } from './acked-framing.js';
import { PacketCipher, MSG_KEY_SIZE } from './packet-cipher.js';
import { ReplayWindow } from './replay-window.js';
import { AckRequiredWindow } from './ack-required-window.js';
import { CryptoError } from '../errors.js';
import { decodeSignalingPayload } from './signaling-payload.js';
import { DEFAULT_SIGNALING_LIMITS, type SignalingLimits } from './signaling-limits.js';
import { TokenBucket } from './token-bucket.js';
import {
  counterExhausted,
  counterOf,
  decryptCounted,
  emptyStats,
  MAX_COUNTER,
  REQUIRES_ACK_BIT,
  type ChannelOutput,
  type SignalingChannel,
} from './signaling-channel.js';

export interface AckedChannelTimings {
  /** A queued message is not resent sooner than this after its last sending. */
  minResendDelayMs: number;
  /** Resend service packet this long after a packet leaves with unacked messages queued. */
  resendTimeoutMs: number;
  /** Pending acks are flushed this long after they were queued (at once for new messages). */
  ackDelayMs: number;
}

/** Signaling-type timings (tgcalls DelayIntervalsByType). */
export const SIGNALING_TIMINGS: AckedChannelTimings = { minResendDelayMs: 3000, resendTimeoutMs: 5000, ackDelayMs: 5000 };

export interface AckedChannelOptions {
  key: Uint8Array;
  isOutgoing: boolean;
  /** Outer packet limit including the 16-byte msg_key (16384 for signaling). */
  maxPacketSize?: number;
  timings?: Partial<AckedChannelTimings>;
  /** Bound on queued unacked messages; beyond it `send` throws. */
  maxUnacked?: number;
  limits?: Partial<SignalingLimits>;
}

interface QueuedMessage {
  readonly seq: number;
  readonly serialized: Uint8Array;
  /** When it last left in a packet; 0 = due now. */
  lastSent: number;
}

/** decode() result when a budget is spent: leave the message unacked for the peer to resend. */
const OVER_BUDGET = Symbol('over budget');

export class AckedSignalingChannel implements SignalingChannel {
  readonly mode = 'acked' as const;
  readonly stats = emptyStats();

  private readonly cipher: PacketCipher;
  private readonly maxPacketSize: number;
  private readonly timings: AckedChannelTimings;
  private readonly maxUnacked: number;
  private readonly limits: SignalingLimits;
  private readonly messageBudget: TokenBucket;
  private readonly inflateBudget: TokenBucket;
  /** Set when the channel can no longer send (counter exhausted): the call must end. */
  fatalError: CryptoError | undefined;

  private counter = 0;
  /** Our unacked messages by seq; a Map iterates in insertion order, which is seq order. */
  private readonly unacked = new Map<number, QueuedMessage>();
  /** Seqs to ack; a Set, so a message resent many times is acked once. */
  private readonly pendingAcks = new Set<number>();
  private readonly incoming = new ReplayWindow();
  private readonly ackRequired = new AckRequiredWindow();
  private resendDeadline: number | undefined;
  private ackDeadline: number | undefined;

  constructor(options: AckedChannelOptions) {
    this.cipher = new PacketCipher(options.key, options.isOutgoing, 'signaling');
    this.maxPacketSize = options.maxPacketSize ?? 16384;
    this.timings = { ...SIGNALING_TIMINGS, ...options.timings };
    this.maxUnacked = options.maxUnacked ?? 65536;
    this.limits = { ...DEFAULT_SIGNALING_LIMITS, ...options.limits };
    this.messageBudget = new TokenBucket(this.limits.incomingMessages);
    this.inflateBudget = new TokenBucket(this.limits.inflate);
  }

  send(payload: Uint8Array, now: number): Uint8Array[] {
    if (this.unacked.size >= this.maxUnacked) {
      throw new CryptoError('TOO_MANY_UNACKED', 'too many signaling messages waiting for an ack');
    }
    // Must also fit behind a service header (0xFE), or it could never be resent.
    if (MSG_KEY_SIZE + SERVICE_HEADER_SIZE + CUSTOM_HEADER_SIZE + payload.length > this.maxPacketSize) {
      throw new CryptoError('MESSAGE_TOO_LARGE', `signaling message of ${payload.length} bytes does not fit in a packet`);
    }
    const seq = (this.nextCounter() | REQUIRES_ACK_BIT) >>> 0;
    const serialized = serializeCustom(seq, payload);
    this.stats.messagesSent++;
    if (this.unacked.size === 0) {
      const parts = [serialized];
      let size = MSG_KEY_SIZE + serialized.length;
      size = this.appendAcks(parts, size);
      this.unacked.set(seq, { seq, serialized, lastSent: now });
      return [this.finishPacket(parts, now)];
    }
    // Keep every ack-requiring message in order: queue it and resend the whole queue.
    this.unacked.set(seq, { seq, serialized, lastSent: 0 });
    for (const queued of this.unacked.values()) queued.lastSent = 0;
    return this.servicePackets(now);
  }

  receive(packet: Uint8Array, now: number): ChannelOutput {
    const out: ChannelOutput = { packets: [], messages: [] };
    const body = decryptCounted(this.cipher, packet, this.stats);
    if (!body) return out;
    const messages = parseBody(body);
    if (!messages) {
      this.stats.dropped.malformed++;
      return out;
    }
    if (!this.incoming.accept(counterOf(messages[0]!.seq))) {
      this.stats.dropped.replay++;
      return out;
    }
    this.stats.packetsReceived++;

    let newAckRequired = false;
    let firstAckRequired = true;
    // Once a budget is spent the packet's remaining messages are left unread (and unacked, so the
    // peer resends them); its acks are still taken, they cost O(1).
    let unread = false;
    for (let index = 0; index < messages.length; index++) {
      const message = messages[index]!;
      if (message.type === ACK_ID) {
        this.ackMine(message.seq);
        continue;
      }
      if (message.type !== CUSTOM_ID) continue;
      if (!unread && (message.seq & REQUIRES_ACK_BIT) !== 0 && this.pendingAcks.size >= this.limits.maxPendingAcks) unread = true;
      if (unread) {
        this.stats.dropped.budget++;
        continue;
      }
      const counter = counterOf(message.seq);
      if ((message.seq & REQUIRES_ACK_BIT) !== 0) {
        const first = firstAckRequired;
        firstAckRequired = false;
        if (this.ackRequired.has(counter)) {
          this.pendingAcks.add(message.seq); // acked again: our ack may have been lost
          this.stats.dropped.duplicate++;
          continue;
        }
        const payload = this.decode(body.subarray(message.offset, message.offset + message.length), now);
        if (payload === OVER_BUDGET) {
          unread = true;
          this.stats.dropped.budget++;
          continue;
        }
        this.ackRequired.add(counter, first);
        this.pendingAcks.add(message.seq);
        newAckRequired = true;
        if (payload) this.deliver(out, payload);
      } else {
        if (index > 0 && !this.incoming.accept(counter)) {
          this.stats.dropped.duplicate++;
          continue;
        }
        // Never resent (no ack requested; tgcalls V2 sends none of these), so over budget it is lost.
        const payload = this.decode(body.subarray(message.offset, message.offset + message.length), now);
        if (payload === OVER_BUDGET) this.stats.dropped.budget++;
        else if (payload) this.deliver(out, payload);
      }
    }

    if (this.unacked.size === 0) this.resendDeadline = undefined;
    if (this.pendingAcks.size > 0) {
      // A new ack-requiring message is acked at once (tgcalls posts it with delay 0): the deadline
      // is `now`, so a reply sent before the timer runs carries the ack instead.
      const atOnce = newAckRequired || this.pendingAcks.size >= this.limits.maxPendingAcks;
      const deadline = atOnce ? now : now + this.timings.ackDelayMs;
      if (this.ackDeadline === undefined || deadline < this.ackDeadline) this.ackDeadline = deadline;
    }
    return out;
  }

  tick(now: number): Uint8Array[] {
    let due = false;
    if (this.ackDeadline !== undefined && now >= this.ackDeadline) {
      this.ackDeadline = undefined;
      due = true;
    }
    if (this.resendDeadline !== undefined && now >= this.resendDeadline) {
      this.resendDeadline = undefined;
      due = true;
    }
    return due ? this.safeServicePackets(now) : [];
  }

  nextDeadline(): number | undefined {
    if (this.ackDeadline === undefined) return this.resendDeadline;
    if (this.resendDeadline === undefined) return this.ackDeadline;
    return Math.min(this.ackDeadline, this.resendDeadline);
  }

  /** Messages sent but not yet acknowledged by the peer. */
  get unackedCount(): number {
    return this.unacked.size;
  }

  /** Acks waiting to be sent. */
  get pendingAckCount(): number {
    return this.pendingAcks.size;
  }

  private nextCounter(): number {
    if (this.counter >= MAX_COUNTER) throw counterExhausted();
    this.counter++;
    return this.counter;
  }

  /** The payload to deliver, undefined when it is dropped (counted), or OVER_BUDGET. */
  private decode(payload: Uint8Array, now: number): Uint8Array | undefined | typeof OVER_BUDGET {
    if (!this.messageBudget.take(1, now)) return OVER_BUDGET;
    const decoded = decodeSignalingPayload(payload, this.inflateBudget, now);
    if (decoded.ok) return decoded.payload;
    if (decoded.reason === 'budget') return OVER_BUDGET;
    this.stats.dropped.payload++;
    return undefined;
  }

  private deliver(out: ChannelOutput, payload: Uint8Array): void {
    this.stats.messagesDelivered++;
    out.messages.push(payload);
  }

  /** Service packets from the receive path and timers, which must not throw. */
  private safeServicePackets(now: number): Uint8Array[] {
    try {
      return this.servicePackets(now);
    } catch (error) {
      this.fatalError = error instanceof CryptoError ? error : counterExhausted();
      this.ackDeadline = undefined;
      this.resendDeadline = undefined;
      return [];
    }
  }

  /**
   * Service packets: 0xFE first, then pending acks, then the queued messages that are due, in
   * order. More than one packet when the due messages do not fit in one (bounded by the queue).
   */
  private servicePackets(now: number): Uint8Array[] {
    const packets: Uint8Array[] = [];
    for (let guard = 0; guard <= this.unacked.size + 1; guard++) {
      if (this.pendingAcks.size === 0 && !this.anyDue(now)) break;
      const parts = [serializeServiceHeader(this.nextCounter())];
      let size = MSG_KEY_SIZE + SERVICE_HEADER_SIZE;
      size = this.appendAcks(parts, size);
      const before = parts.length;
      size = this.appendDue(parts, size, now);
      if (parts.length === 1) break; // nothing fitted at all: avoid an empty loop
      packets.push(this.finishPacket(parts, now));
      if (parts.length === before && this.pendingAcks.size === 0) break;
    }
    return packets;
  }

  private anyDue(now: number): boolean {
    for (const message of this.unacked.values()) if (this.isDue(message, now)) return true;
    return false;
  }

  private isDue(message: QueuedMessage, now: number): boolean {
    return message.lastSent === 0 || now >= message.lastSent + this.timings.minResendDelayMs;
  }

  private appendAcks(parts: Uint8Array[], size: number): number {
    for (const seq of this.pendingAcks) {
      const ack = serializeAck(seq);
      if (size + ack.length > this.maxPacketSize) break;
      parts.push(ack);
      size += ack.length;
      this.pendingAcks.delete(seq);
    }
    if (this.pendingAcks.size === 0) this.ackDeadline = undefined;
    return size;
  }

  private appendDue(parts: Uint8Array[], size: number, now: number): number {
    for (const message of this.unacked.values()) {
      if (!this.isDue(message, now)) break;
      if (size + message.serialized.length > this.maxPacketSize) break;
      if (message.lastSent !== 0) this.stats.resends++;
      parts.push(message.serialized);
      size += message.serialized.length;
      message.lastSent = now;
    }
    return size;
  }

  private finishPacket(parts: Uint8Array[], now: number): Uint8Array {
    if (this.unacked.size > 0 && this.resendDeadline === undefined) {
      this.resendDeadline = now + this.timings.resendTimeoutMs;
    }
    this.stats.packetsSent++;
    return this.cipher.encrypt(concatBytes(...parts));
  }

  private ackMine(seq: number): void {
    this.unacked.delete(seq);
  }
}
