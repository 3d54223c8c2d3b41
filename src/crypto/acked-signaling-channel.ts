/**
 * The acked custom-message signaling channel of library versions 8.0.0 / 9.0.0
 * (tgcalls EncryptedConnection, Signaling type; call-crypto-and-signaling.md §5.3).
 *
 * Every application message carries its own seq with the requires-ack bit and is kept in an
 * in-order queue until the peer acks that exact seq. Service packets (0xFE first) carry pending
 * acks and the queued messages that are due for resending. The state machine never touches a
 * clock or a socket: time comes in as `now`, packets go out as return values.
 */
import { concatBytes, readUint32BE, writeUint32BE } from './bytes.js';
import { PacketCipher, MSG_KEY_SIZE } from './packet-cipher.js';
import { ReplayWindow } from './replay-window.js';
import { CryptoError } from '../errors.js';
import { decodeSignalingPayload } from './signaling-payload.js';
import {
  counterExhausted,
  counterOf,
  decryptCounted,
  emptyStats,
  MAX_COUNTER,
  REQUIRES_ACK_BIT,
  SINGLE_MESSAGE_BIT,
  type ChannelOutput,
  type SignalingChannel,
} from './signaling-channel.js';

const CUSTOM_ID = 0x7f;
const EMPTY_ID = 0xfe;
const ACK_ID = 0xff;
const ACK_SIZE = 5;
const CUSTOM_HEADER_SIZE = 9; // seq + type + length
const MAX_INCOMING_MESSAGE = 1024 * 1024;

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
}

interface QueuedMessage {
  readonly seq: number;
  readonly serialized: Uint8Array;
  /** When it last left in a packet; 0 = due now. */
  lastSent: number;
}

interface ParsedMessage {
  readonly seq: number;
  readonly type: typeof EMPTY_ID | typeof ACK_ID | typeof CUSTOM_ID;
  readonly payload?: Uint8Array;
}

export class AckedSignalingChannel implements SignalingChannel {
  readonly mode = 'acked' as const;
  readonly stats = emptyStats();

  private readonly cipher: PacketCipher;
  private readonly maxPacketSize: number;
  private readonly timings: AckedChannelTimings;
  private readonly maxUnacked: number;
  /** Set when the channel can no longer send (counter exhausted): the call must end. */
  fatalError: CryptoError | undefined;

  private counter = 0;
  private readonly unacked: QueuedMessage[] = [];
  private pendingAcks: number[] = [];
  private readonly incoming = new ReplayWindow();
  /** Ack-requiring counters already received (registerSentAck), sorted ascending. */
  private seenAckRequired: number[] = [];
  /** Ack-requiring counters below this were all received already. */
  private ackRequiredFloor = 0;
  private resendDeadline: number | undefined;
  private ackDeadline: number | undefined;

  constructor(options: AckedChannelOptions) {
    this.cipher = new PacketCipher(options.key, options.isOutgoing, 'signaling');
    this.maxPacketSize = options.maxPacketSize ?? 16384;
    this.timings = { ...SIGNALING_TIMINGS, ...options.timings };
    this.maxUnacked = options.maxUnacked ?? 65536;
  }

  send(payload: Uint8Array, now: number): Uint8Array[] {
    if (this.unacked.length >= this.maxUnacked) {
      throw new CryptoError('TOO_MANY_UNACKED', 'too many signaling messages waiting for an ack');
    }
    // Must also fit behind a service header (0xFE), or it could never be resent.
    if (MSG_KEY_SIZE + 5 + CUSTOM_HEADER_SIZE + payload.length > this.maxPacketSize) {
      throw new CryptoError('MESSAGE_TOO_LARGE', `signaling message of ${payload.length} bytes does not fit in a packet`);
    }
    const seq = (this.nextCounter() | REQUIRES_ACK_BIT) >>> 0;
    const serialized = serializeCustom(seq, payload);
    this.stats.messagesSent++;
    if (this.unacked.length === 0) {
      const parts = [serialized];
      let size = MSG_KEY_SIZE + serialized.length;
      size = this.appendAcks(parts, size);
      this.unacked.push({ seq, serialized, lastSent: now });
      return [this.finishPacket(parts, now)];
    }
    // Keep every ack-requiring message in order: queue it and resend the whole queue.
    this.unacked.push({ seq, serialized, lastSent: 0 });
    for (const queued of this.unacked) queued.lastSent = 0;
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
    messages.forEach((message, index) => {
      if (message.type === ACK_ID) {
        this.ackMine(message.seq);
        return;
      }
      if (message.type !== CUSTOM_ID) return;
      let duplicate: boolean;
      if ((message.seq & REQUIRES_ACK_BIT) !== 0) {
        duplicate = !this.registerAckRequired(counterOf(message.seq), firstAckRequired);
        firstAckRequired = false;
        this.pendingAcks.push(message.seq);
        if (!duplicate) newAckRequired = true;
      } else {
        duplicate = index > 0 && !this.incoming.accept(counterOf(message.seq));
      }
      if (duplicate) {
        this.stats.dropped.duplicate++;
        return;
      }
      const payload = decodeSignalingPayload(message.payload!);
      if (!payload) {
        this.stats.dropped.payload++;
        return;
      }
      this.stats.messagesDelivered++;
      out.messages.push(payload);
    });

    if (this.unacked.length === 0) this.resendDeadline = undefined;
    if (this.pendingAcks.length > 0) {
      // A new ack-requiring message is acked at once (tgcalls posts it with delay 0): the deadline
      // is `now`, so a reply sent before the timer runs carries the ack instead.
      const deadline = newAckRequired ? now : now + this.timings.ackDelayMs;
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
    return this.unacked.length;
  }

  private nextCounter(): number {
    if (this.counter >= MAX_COUNTER) throw counterExhausted();
    this.counter++;
    return this.counter;
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
    for (let guard = 0; guard <= this.unacked.length + 1; guard++) {
      if (this.pendingAcks.length === 0 && !this.unacked.some((m) => this.isDue(m, now))) break;
      const seq = this.nextCounter();
      const header = new Uint8Array(5);
      writeUint32BE(header, 0, seq);
      header[4] = EMPTY_ID;
      const parts = [header];
      let size = MSG_KEY_SIZE + header.length;
      size = this.appendAcks(parts, size);
      const before = parts.length;
      size = this.appendDue(parts, size, now);
      if (parts.length === 1) break; // nothing fitted at all: avoid an empty loop
      packets.push(this.finishPacket(parts, now));
      if (parts.length === before && this.pendingAcks.length === 0) break;
    }
    return packets;
  }

  private isDue(message: QueuedMessage, now: number): boolean {
    return message.lastSent === 0 || now >= message.lastSent + this.timings.minResendDelayMs;
  }

  private appendAcks(parts: Uint8Array[], size: number): number {
    let taken = 0;
    while (taken < this.pendingAcks.length && size + ACK_SIZE <= this.maxPacketSize) {
      const ack = new Uint8Array(ACK_SIZE);
      writeUint32BE(ack, 0, this.pendingAcks[taken]!);
      ack[4] = ACK_ID;
      parts.push(ack);
      size += ACK_SIZE;
      taken++;
    }
    this.pendingAcks = this.pendingAcks.slice(taken);
    if (this.pendingAcks.length === 0) this.ackDeadline = undefined;
    return size;
  }

  private appendDue(parts: Uint8Array[], size: number, now: number): number {
    for (const message of this.unacked) {
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
    if (this.unacked.length > 0 && this.resendDeadline === undefined) {
      this.resendDeadline = now + this.timings.resendTimeoutMs;
    }
    this.stats.packetsSent++;
    return this.cipher.encrypt(concatBytes(...parts));
  }

  private ackMine(seq: number): void {
    const index = this.unacked.findIndex((m) => m.seq === seq);
    if (index >= 0) this.unacked.splice(index, 1);
  }

  /**
   * tgcalls registerSentAck: false when already seen. The first ack-requiring message of a packet
   * is the sender's oldest unacked one, so every smaller counter was received: those are retired
   * and remembered as a floor, which also catches a stale packet delayed past newer ones.
   */
  private registerAckRequired(counter: number, firstInPacket: boolean): boolean {
    if (counter < this.ackRequiredFloor || this.seenAckRequired.includes(counter)) return false;
    if (firstInPacket && counter > this.ackRequiredFloor) {
      this.ackRequiredFloor = counter;
      this.seenAckRequired = this.seenAckRequired.filter((c) => c >= counter);
    }
    const list = this.seenAckRequired;
    let at = list.length;
    while (at > 0 && list[at - 1]! > counter) at--;
    list.splice(at, 0, counter);
    if (list.length > 4096) list.splice(0, list.length - 4096);
    return true;
  }
}

function serializeCustom(seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(CUSTOM_HEADER_SIZE + payload.length);
  writeUint32BE(out, 0, seq);
  out[4] = CUSTOM_ID;
  writeUint32BE(out, 5, payload.length);
  out.set(payload, CUSTOM_HEADER_SIZE);
  return out;
}

/** Splits a decrypted body into messages, or undefined when the framing is invalid (§5.3). */
function parseBody(body: Uint8Array): ParsedMessage[] | undefined {
  const messages: ParsedMessage[] = [];
  if (body.length < 5) return undefined;
  let offset = 0;
  for (;;) {
    const seq = readUint32BE(body, offset);
    const first = messages.length === 0;
    if (!first && (seq & SINGLE_MESSAGE_BIT) !== 0) return undefined;
    const type = body[offset + 4]!;
    offset += 5;
    if (type === EMPTY_ID) {
      if (!first) return undefined;
      messages.push({ seq, type });
    } else if (type === ACK_ID) {
      if (first) return undefined;
      messages.push({ seq, type });
    } else if (type === CUSTOM_ID) {
      if (offset + 4 > body.length) return undefined;
      const length = readUint32BE(body, offset);
      offset += 4;
      if (length > MAX_INCOMING_MESSAGE || offset + length > body.length) return undefined;
      messages.push({ seq, type, payload: body.subarray(offset, offset + length) });
      offset += length;
    } else {
      return undefined;
    }
    if (offset === body.length) return messages;
    if ((seq & SINGLE_MESSAGE_BIT) !== 0) return undefined;
    if (body.length - offset < 5) return undefined;
  }
}
