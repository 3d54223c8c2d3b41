/**
 * The acked custom-message signaling channel of library versions 8.0.0 / 9.0.0
 * (tgcalls EncryptedConnection, Signaling type; call-crypto-and-signaling.md §5.3).
 *
 * Every application message carries its own seq with the requires-ack bit and is kept in an
 * in-order queue until the peer acks that exact seq. Service packets (0xFE first) carry pending
 * acks and the queued messages that are due for resending. The state machine never touches a
 * clock or a socket: time comes in as `now`, packets go out as return values.
 *
 * What one peer can cost is bounded (signaling-limits.ts): new messages decoded and bytes inflated
 * per second, pending acks, packets and bytes sent per second, our unacked backlog, and how long
 * the peer may ack nothing. Over an incoming budget a message is left unacked, so the peer resends
 * it; over the outgoing budget a packet waits and leaves later, coalesced with what came since.
 */
import { concatBytes } from './bytes.js';
import { ACK_ID, ACK_SIZE, CUSTOM_HEADER_SIZE, CUSTOM_ID, parseBody, serializeAck, serializeCustom, serializeServiceHeader, SERVICE_HEADER_SIZE } from './acked-framing.js';
import { PacketCipher, MSG_KEY_SIZE } from './packet-cipher.js';
import { ReplayWindow } from './replay-window.js';
import { AckRequiredWindow } from './ack-required-window.js';
import { CryptoError } from '../errors.js';
import { decodeSignalingPayload } from './signaling-payload.js';
import { DEFAULT_SIGNALING_LIMITS, type SignalingLimits } from './signaling-limits.js';
import { TokenBucket } from './token-bucket.js';
import {
  copyStats,
  counterExhausted,
  counterOf,
  decryptCounted,
  emptyStats,
  MAX_COUNTER,
  REQUIRES_ACK_BIT,
  type ChannelOutput,
  type SignalingChannel,
  type SignalingChannelStats,
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
  /** Same as `limits.maxUnacked`. */
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
  private readonly counters = emptyStats();

  private readonly cipher: PacketCipher;
  private readonly maxPacketSize: number;
  private readonly timings: AckedChannelTimings;
  private readonly limits: SignalingLimits;
  private readonly messageBudget: TokenBucket;
  private readonly inflateBudget: TokenBucket;
  private readonly packetBudget: TokenBucket;
  private readonly byteBudget: TokenBucket;
  /** Set when the channel cannot go on (see SignalingChannel.fatalError): the call must end. */
  fatalError: CryptoError | undefined;

  private counter = 0;
  /** Our unacked messages by seq; a Map iterates in insertion order, which is seq order. */
  private readonly unacked = new Map<number, QueuedMessage>();
  private unackedBytes = 0;
  /** When the queue last became non-empty or an ack retired one of its messages. */
  private lastAckProgress = 0;
  /** Seqs to ack; a Set, so a message resent many times is acked once. */
  private readonly pendingAcks = new Set<number>();
  private readonly incoming = new ReplayWindow();
  private readonly ackRequired = new AckRequiredWindow();
  private resendDeadline: number | undefined;
  private ackDeadline: number | undefined;
  /** The outgoing budget is spent until then; due work waits. */
  private blockedUntil: number | undefined;

  constructor(options: AckedChannelOptions) {
    this.cipher = new PacketCipher(options.key, options.isOutgoing, 'signaling');
    this.maxPacketSize = options.maxPacketSize ?? 16384;
    this.timings = { ...SIGNALING_TIMINGS, ...options.timings };
    this.limits = { ...DEFAULT_SIGNALING_LIMITS, ...(options.maxUnacked !== undefined ? { maxUnacked: options.maxUnacked } : {}), ...options.limits };
    this.messageBudget = new TokenBucket(this.limits.incomingMessages);
    this.inflateBudget = new TokenBucket(this.limits.inflate);
    this.packetBudget = new TokenBucket(this.limits.outgoingPackets);
    this.byteBudget = new TokenBucket(this.limits.outgoingBytes);
    if (this.byteBudget.capacity < this.maxPacketSize) throw new RangeError('limits.outgoingBytes.capacity must hold one full packet');
  }

  /**
   * Queues one message and returns what to send now (possibly nothing: the outgoing budget is
   * spent, or the queue already fills a packet). Throws `CryptoError` for a message too large for
   * a packet or an exhausted counter; a backlog over the limits ends the channel (`fatalError`).
   */
  send(payload: Uint8Array, now: number): Uint8Array[] {
    // Must also fit behind a service header (0xFE), or it could never be resent.
    if (MSG_KEY_SIZE + SERVICE_HEADER_SIZE + CUSTOM_HEADER_SIZE + payload.length > this.maxPacketSize) {
      throw new CryptoError('MESSAGE_TOO_LARGE', `signaling message of ${payload.length} bytes does not fit in a packet`);
    }
    if (this.fatalError) return [];
    const size = CUSTOM_HEADER_SIZE + payload.length;
    if (this.unacked.size >= this.limits.maxUnacked || this.unackedBytes + size > this.limits.maxUnackedBytes) {
      this.fail(new CryptoError('TOO_MANY_UNACKED', `the peer left ${this.unacked.size} signaling messages (${this.unackedBytes} bytes) unacknowledged`));
      return [];
    }
    const seq = (this.nextCounter() | REQUIRES_ACK_BIT) >>> 0;
    const message: QueuedMessage = { seq, serialized: serializeCustom(seq, payload), lastSent: 0 };
    this.counters.messagesSent++;
    const fitsBehindQueue = MSG_KEY_SIZE + SERVICE_HEADER_SIZE + this.unackedBytes + size <= this.maxPacketSize;
    const wasEmpty = this.unacked.size === 0;
    this.unacked.set(seq, message);
    this.unackedBytes += size;
    if (wasEmpty) {
      this.lastAckProgress = now;
      // Alone in the queue: the message itself opens the packet, pending acks follow (§5.3).
      if (this.canSend(MSG_KEY_SIZE + size, now)) {
        const parts = [message.serialized];
        const packetSize = this.appendAcks(parts, MSG_KEY_SIZE + size, this.packetCap(now));
        message.lastSent = now;
        return [this.finishPacket(parts, packetSize, now)];
      }
      return this.flush(now); // defers it
    }
    if (!fitsBehindQueue) {
      // The queue already fills a packet that must start with its oldest message (the receiver
      // retires every counter below a packet's first one): sending now would only repeat that
      // head. It leaves with the resend timer instead — tgcalls resends it here (issue 15, defect 4).
      return [];
    }
    // Keep every ack-requiring message in order: the new one leaves behind the whole queue.
    for (const queued of this.unacked.values()) queued.lastSent = 0;
    return this.flush(now);
  }

  receive(packet: Uint8Array, now: number): ChannelOutput {
    const out: ChannelOutput = { packets: [], messages: [] };
    const body = decryptCounted(this.cipher, packet, this.counters);
    if (!body) return out;
    const messages = parseBody(body);
    if (!messages) {
      this.counters.dropped.malformed++;
      return out;
    }
    if (!this.incoming.accept(counterOf(messages[0]!.seq))) {
      this.counters.dropped.replay++;
      return out;
    }
    this.counters.packetsReceived++;

    let newAckRequired = false;
    let firstAckRequired = true;
    // Once a budget is spent the packet's remaining messages are left unread (and unacked, so the
    // peer resends them); its acks are still taken, they cost O(1).
    let unread = false;
    for (let index = 0; index < messages.length; index++) {
      const message = messages[index]!;
      if (message.type === ACK_ID) {
        this.ackMine(message.seq, now);
        continue;
      }
      if (message.type !== CUSTOM_ID) continue;
      if (!unread && (message.seq & REQUIRES_ACK_BIT) !== 0 && this.pendingAcks.size >= this.limits.maxPendingAcks) unread = true;
      if (unread) {
        this.counters.dropped.budget++;
        continue;
      }
      const counter = counterOf(message.seq);
      if ((message.seq & REQUIRES_ACK_BIT) !== 0) {
        const first = firstAckRequired;
        firstAckRequired = false;
        if (this.ackRequired.has(counter)) {
          this.pendingAcks.add(message.seq); // acked again: our ack may have been lost
          this.counters.dropped.duplicate++;
          continue;
        }
        const payload = this.decode(body.subarray(message.offset, message.offset + message.length), now);
        if (payload === OVER_BUDGET) {
          unread = true;
          this.counters.dropped.budget++;
          continue;
        }
        this.ackRequired.add(counter, first);
        this.pendingAcks.add(message.seq);
        newAckRequired = true;
        if (payload) this.deliver(out, payload);
      } else {
        if (index > 0 && !this.incoming.accept(counter)) {
          this.counters.dropped.duplicate++;
          continue;
        }
        // Never resent (no ack requested; tgcalls V2 sends none of these), so over budget it is lost.
        const payload = this.decode(body.subarray(message.offset, message.offset + message.length), now);
        if (payload === OVER_BUDGET) this.counters.dropped.budget++;
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
    if (this.fatalError) return [];
    const noAckAt = this.noAckDeadline();
    if (noAckAt !== undefined && now >= noAckAt) {
      this.fail(
        new CryptoError('SIGNALING_NOT_ACKED', `the peer acknowledged none of ${this.unacked.size} signaling messages for ${now - this.lastAckProgress} ms`),
      );
      return [];
    }
    let due = this.ackDeadline !== undefined && now >= this.ackDeadline;
    if (this.resendDeadline !== undefined && now >= this.resendDeadline) {
      this.resendDeadline = undefined;
      due = true;
    }
    return due ? this.flush(now) : [];
  }

  getStats(): SignalingChannelStats {
    return copyStats(this.counters);
  }

  nextDeadline(): number | undefined {
    let work = minDefined(this.ackDeadline, this.resendDeadline);
    if (work !== undefined && this.blockedUntil !== undefined) work = Math.max(work, this.blockedUntil);
    return minDefined(work, this.noAckDeadline());
  }

  /** Messages sent but not yet acknowledged by the peer. */
  get unackedCount(): number {
    return this.unacked.size;
  }

  /** Acks waiting to be sent. */
  get pendingAckCount(): number {
    return this.pendingAcks.size;
  }

  private noAckDeadline(): number | undefined {
    return this.unacked.size > 0 && !this.fatalError ? this.lastAckProgress + this.limits.noAckTimeoutMs : undefined;
  }

  private nextCounter(): number {
    if (this.counter >= MAX_COUNTER) throw counterExhausted();
    this.counter++;
    return this.counter;
  }

  private fail(error: CryptoError): void {
    this.fatalError ??= error;
    this.ackDeadline = undefined;
    this.resendDeadline = undefined;
    this.blockedUntil = undefined;
  }

  /** The payload to deliver, undefined when it is dropped (counted), or OVER_BUDGET. */
  private decode(payload: Uint8Array, now: number): Uint8Array | undefined | typeof OVER_BUDGET {
    if (!this.messageBudget.take(1, now)) return OVER_BUDGET;
    const decoded = decodeSignalingPayload(payload, this.inflateBudget, now);
    if (decoded.ok) return decoded.payload;
    if (decoded.reason === 'budget') return OVER_BUDGET;
    this.counters.dropped.payload++;
    return undefined;
  }

  private deliver(out: ChannelOutput, payload: Uint8Array): void {
    this.counters.messagesDelivered++;
    out.messages.push(payload);
  }

  /** Whether a packet of `size` bytes fits the outgoing budget now. */
  private canSend(size: number, now: number): boolean {
    return this.packetBudget.available(now) >= 1 && this.byteBudget.available(now) >= size;
  }

  private packetCap(now: number): number {
    return Math.min(this.maxPacketSize, this.byteBudget.available(now));
  }

  /**
   * One service packet (0xFE first, then pending acks, then the queued messages that are due, in
   * order from the oldest), if anything is due and the outgoing budget allows. Only one: a second
   * packet could not start with the oldest message. Never throws (counter exhaustion is fatal).
   */
  private flush(now: number): Uint8Array[] {
    if (this.fatalError) return [];
    const head = this.unacked.values().next().value;
    const headDue = head !== undefined && this.isDue(head, now);
    if (this.pendingAcks.size === 0 && !headDue) {
      this.ackDeadline = undefined;
      // Nothing due yet: look again when the oldest message may be resent. (Without this a resend
      // timer that fired early left the queue waiting for the next packet, if any.)
      if (head && this.resendDeadline === undefined) this.resendDeadline = head.lastSent + this.timings.minResendDelayMs;
      return [];
    }
    const needed = MSG_KEY_SIZE + SERVICE_HEADER_SIZE + (this.pendingAcks.size > 0 ? ACK_SIZE : head!.serialized.length);
    if (!this.canSend(needed, now)) {
      if (this.blockedUntil === undefined || now >= this.blockedUntil) this.counters.sendsDeferred++;
      this.blockedUntil = Math.max(this.packetBudget.readyAt(1, now), this.byteBudget.readyAt(needed, now));
      this.resendDeadline ??= now;
      return [];
    }
    this.blockedUntil = undefined;
    let seq: number;
    try {
      seq = this.nextCounter();
    } catch (error) {
      this.fail(error instanceof CryptoError ? error : counterExhausted());
      return [];
    }
    const parts = [serializeServiceHeader(seq)];
    const cap = this.packetCap(now);
    let size = this.appendAcks(parts, MSG_KEY_SIZE + SERVICE_HEADER_SIZE, cap);
    size = this.appendDue(parts, size, now, cap);
    this.ackDeadline = this.pendingAcks.size > 0 ? now : undefined;
    const packet = this.finishPacket(parts, size, now);
    const oldest = this.unacked.values().next().value;
    if (oldest && this.isDue(oldest, now)) {
      // It did not fit behind the acks or in the byte budget: it leaves as soon as it can.
      this.resendDeadline = now;
      this.blockedUntil = Math.max(this.packetBudget.readyAt(1, now), this.byteBudget.readyAt(MSG_KEY_SIZE + SERVICE_HEADER_SIZE + oldest.serialized.length, now));
    }
    return [packet];
  }

  private isDue(message: QueuedMessage, now: number): boolean {
    return message.lastSent === 0 || now >= message.lastSent + this.timings.minResendDelayMs;
  }

  private appendAcks(parts: Uint8Array[], size: number, cap: number): number {
    for (const seq of this.pendingAcks) {
      const ack = serializeAck(seq);
      if (size + ack.length > cap) break;
      parts.push(ack);
      size += ack.length;
      this.pendingAcks.delete(seq);
    }
    if (this.pendingAcks.size === 0) this.ackDeadline = undefined;
    return size;
  }

  private appendDue(parts: Uint8Array[], size: number, now: number, cap: number): number {
    for (const message of this.unacked.values()) {
      if (!this.isDue(message, now)) break;
      if (size + message.serialized.length > cap) break;
      if (message.lastSent !== 0) this.counters.resends++;
      parts.push(message.serialized);
      size += message.serialized.length;
      message.lastSent = now;
    }
    return size;
  }

  private finishPacket(parts: Uint8Array[], size: number, now: number): Uint8Array {
    if (this.unacked.size > 0 && this.resendDeadline === undefined) {
      this.resendDeadline = now + this.timings.resendTimeoutMs;
    }
    this.packetBudget.charge(1, now);
    this.byteBudget.charge(size, now);
    this.counters.packetsSent++;
    return this.cipher.encrypt(concatBytes(...parts));
  }

  private ackMine(seq: number, now: number): void {
    const message = this.unacked.get(seq);
    if (!message) return;
    this.unacked.delete(seq);
    this.unackedBytes -= message.serialized.length;
    this.lastAckProgress = now;
  }
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
