/**
 * What the signaling channels spend on one peer, at most. The peer holds the call key, so it can
 * send any well-formed packet; these limits bound the CPU, memory and Telegram requests that
 * costs us (issue 15, defects 3 and 4; figures from bench/signaling-hostile.ts).
 *
 * What a real call does, for scale: a V2 call sends a few dozen signaling messages at setup
 * (InitialSetup, a NegotiateChannels offer/answer, Candidates, MediaState; §7) and a handful per
 * minute after; tgcall to tgcall setup takes 4 messages in ~5 packets each way. tgcalls resends
 * its unacked queue 5 s after a packet and not sooner than 3 s after the last sending of a message;
 * it flushes acks at once for new messages (§5.3, DelayIntervalsByType). Where a limit is reached
 * the protocol's own recovery takes over: the peer resends what we did not ack, and what we could
 * not send yet leaves later, coalesced into fewer packets — nothing is dropped.
 */
import { INFLATE_LIMIT } from './signaling-payload.js';
import type { RateLimit } from './token-bucket.js';

export interface SignalingLimits {
  /**
   * New messages from the peer decoded and delivered. A message over the budget is left unacked
   * (the peer resends it 3–5 s later) and the rest of its packet unread. Duplicates cost only an
   * ack and are bounded by `maxPendingAcks`.
   */
  readonly incomingMessages: RateLimit;
  /** Bytes inflated (§5.5), input + output; see INFLATE_LIMIT. */
  readonly inflate: RateLimit;
  /** Acks not yet sent; beyond it further ack-requiring messages of a packet are left unread. */
  readonly maxPendingAcks: number;
  /** Packets handed to phone.sendSignalingData (first sendings, resends, acks). */
  readonly outgoingPackets: RateLimit;
  /** Bytes handed to phone.sendSignalingData. */
  readonly outgoingBytes: RateLimit;
  /** Our messages waiting for an ack; one more ends the call (TOO_MANY_UNACKED). */
  readonly maxUnacked: number;
  /** Their bytes; more ends the call (TOO_MANY_UNACKED). */
  readonly maxUnackedBytes: number;
  /**
   * The call ends (SIGNALING_NOT_ACKED) when messages have waited this long and the peer acked
   * none of them: since the oldest was queued, or since the last ack that retired one.
   */
  readonly noAckTimeoutMs: number;
}

export const DEFAULT_SIGNALING_LIMITS: SignalingLimits = Object.freeze({
  // 256 at once covers a whole setup (a few dozen) with room for resends of it; 64/s is >10× a
  // call's steady rate. Each delivered message costs ~25 µs in CallTransport when it is garbage
  // (JSON.parse + a typed error), so a flood costs ~6 ms at once and ~1.6 ms per second.
  incomingMessages: Object.freeze({ capacity: 256, perSecond: 64 }),
  inflate: INFLATE_LIMIT,
  // One full service packet of acks carries (16 384 − 16 − 5) / 5 = 3 272; 1 024 is 4× a burst of
  // the whole message budget, and one packet flushes them.
  maxPendingAcks: 1024,
  // 32 packets / 128 KiB at once, then 4 packets and 16 KiB per second (tgcalls' own resend timer
  // sends one ≤ 16 KiB packet per 5 s per unacked queue: this is 5× that). Unthrottled, a heavy
  // setup of 30 messages each way in 1 s with 150 ms one-way takes 60 packets / 96 KiB each way
  // (every message, and every ack, its own packet); within these limits it takes 37 packets /
  // 68 KiB and the last message arrives 45 ms later. A tgcall to tgcall setup never waits.
  outgoingPackets: Object.freeze({ capacity: 32, perSecond: 4 }),
  outgoingBytes: Object.freeze({ capacity: 128 * 1024, perSecond: 16 * 1024 }),
  // A setup queues a few dozen messages of ≤ 3 KiB when the peer's engine is late (tdesktop drops
  // signaling that arrives before its engine exists, §6): 256 messages or 1 MiB is far beyond.
  // tgcalls allows 65 536 (kNotAckedMessagesLimit), up to 1 GiB of 16 KiB messages.
  maxUnacked: 256,
  maxUnackedBytes: 1024 * 1024,
  // An honest peer acks within one Telegram round trip, or after a resend 3–5 s later when a packet
  // is lost. 60 s is 12 resend periods and twice the default connect timeout (30 s), so a setup
  // whose signaling never works ends by that first; a connected call whose peer stops acking
  // ends a minute later instead of resending its queue for as long as the call lasts.
  noAckTimeoutMs: 60_000,
});
