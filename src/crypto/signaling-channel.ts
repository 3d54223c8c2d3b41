/**
 * The encrypted signaling channel as a sans-I/O state machine. Input: payloads to send, packets
 * received from the peer, and the time; output: packets to send, delivered payloads, and the next
 * timer deadline. Two framings exist (call-crypto-and-signaling.md §5): the acked custom-message
 * mode of versions 8.0.0/9.0.0 (`AckedSignalingChannel`) and the raw mode of 7.0.0 that V3 builds
 * on (`RawSignalingChannel`).
 */
import { CryptoError } from '../errors.js';
import type { PacketCipher } from './packet-cipher.js';

export interface ChannelOutput {
  /** Encrypted packets to hand to phone.sendSignalingData, in order. */
  readonly packets: Uint8Array[];
  /** Decrypted application payloads, each delivered exactly once, in the peer's send order. */
  readonly messages: Uint8Array[];
}

export interface SignalingChannelStats {
  packetsSent: number;
  packetsReceived: number;
  messagesSent: number;
  messagesDelivered: number;
  /** Messages resent because no ack arrived in time. */
  resends: number;
  /** Times a due packet waited for the outgoing budget (signaling-limits.ts); it left later. */
  sendsDeferred: number;
  /** Incoming packets and messages dropped, by reason. Never thrown. */
  dropped: {
    size: number;
    msgKey: number;
    replay: number;
    malformed: number;
    duplicate: number;
    /** Empty, corrupt or over-2-MiB payloads (§5.5). */
    payload: number;
    /** Messages left unread because a budget was spent (messages/s, inflate bytes/s, pending acks). */
    budget: number;
  };
}

export interface SignalingChannel {
  readonly mode: 'acked' | 'raw';
  /** Encrypts `payload`; throws `CryptoError` only for local misuse (too large, counter exhausted). */
  send(payload: Uint8Array, now: number): Uint8Array[];
  /** Processes one packet from the peer. Never throws: bad packets are counted and dropped. */
  receive(packet: Uint8Array, now: number): ChannelOutput;
  /** Runs the timers due at `now`; returns the packets they produce. */
  tick(now: number): Uint8Array[];
  /** When `tick` next has work, or undefined when no timer is armed. */
  nextDeadline(): number | undefined;
  /** A snapshot of the counters. */
  getStats(): SignalingChannelStats;
  /**
   * Set once the channel cannot go on: outgoing counter exhausted (COUNTER_LIMIT), or, in acked
   * mode, a peer that acks nothing (SIGNALING_NOT_ACKED) or lets too much wait (TOO_MANY_UNACKED).
   * The call must end.
   */
  readonly fatalError: CryptoError | undefined;
}

/** A deep copy, for `getStats()`. */
export function copyStats(s: SignalingChannelStats): SignalingChannelStats {
  return { ...s, dropped: { ...s.dropped } };
}

export function emptyStats(): SignalingChannelStats {
  return {
    packetsSent: 0,
    packetsReceived: 0,
    messagesSent: 0,
    messagesDelivered: 0,
    resends: 0,
    sendsDeferred: 0,
    dropped: { size: 0, msgKey: 0, replay: 0, malformed: 0, duplicate: 0, payload: 0, budget: 0 },
  };
}

/** Counter bits of a seq (§4.7). */
export const SINGLE_MESSAGE_BIT = 0x80000000;
export const REQUIRES_ACK_BIT = 0x40000000;
export const MAX_COUNTER = 0x3fffffff;

export function counterOf(seq: number): number {
  return (seq & MAX_COUNTER) >>> 0;
}

export function counterExhausted(): CryptoError {
  return new CryptoError('COUNTER_LIMIT', 'outgoing signaling packet counter reached 2^30');
}

/** Decrypts a received packet; a bad size or msg_key is counted in `stats` (the channel's counters) and gives undefined. */
export function decryptCounted(cipher: PacketCipher, packet: Uint8Array, stats: SignalingChannelStats): Uint8Array | undefined {
  const decrypted = cipher.decrypt(packet);
  if (decrypted.ok) return decrypted.body;
  if (decrypted.reason === 'size') stats.dropped.size++;
  else stats.dropped.msgKey++;
  return undefined;
}
