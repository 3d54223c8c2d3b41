/**
 * What the signaling channels spend on one peer, at most. The peer holds the call key, so it can
 * send any well-formed packet; these limits bound the CPU and memory that costs us (issue 15,
 * defect 3; figures from bench/signaling-hostile.ts).
 *
 * What a real call does, for scale: a V2 call sends a few dozen signaling messages at setup
 * (InitialSetup, a NegotiateChannels offer/answer, Candidates, MediaState; §7) and a handful per
 * minute after; tgcall to tgcall setup takes 4 messages in ~5 packets each way. Where a limit is
 * reached the protocol's own recovery takes over: the peer resends what we did not ack (§5.3).
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
});
