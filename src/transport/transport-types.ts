/**
 * The vocabulary of the transport core (transport-sequencer.ts): its options, states, outputs and
 * counters. An adapter performs the outputs in order; four of them ask a question, and the
 * answer must come back (through the named input) before the adapter takes the next output.
 */
import type { Logger } from '../logger.js';
import type { MediaState, MediaStateMessage, SignalingMessage } from './messages.js';
import type { LocalMediaParams, RemoteMediaParams } from './negotiation.js';
import type { CandidateVerdict, RemoteDescriptionInput } from './sdp.js';

export interface TransportSequencerOptions {
  /** True on the side that placed the call (caller: ICE controlling, DTLS actpass → client). */
  readonly isOutgoing: boolean;
  /** Our audio SSRC (non-zero uint32). */
  readonly ssrc: number;
  /** Random uint32 source for exchange ids. */
  readonly randomUint32: () => number;
  /** From the peer connection's creation to connected, and the longest tolerated loss of connectivity. Default 20000 (tgcalls). */
  readonly connectTimeoutMs?: number;
  /** After connecting, how long MediaState waits for the data channel before going over signaling. Default 2000. */
  readonly dataChannelGraceMs?: number;
  /** Which peer candidates the consumer of `add-remote-candidate` can take; default libdatachannel's (`classifyRemoteCandidate`). */
  readonly remoteCandidateVerdict?: (sdpString: string) => CandidateVerdict;
  readonly logger?: Logger;
}

export type TransportState = 'new' | 'connecting' | 'connected' | 'failed' | 'closed';

/**
 * Why the transport ended: `local` = `close()` was called; `disconnect` = no connection within the
 * connect timeout, connectivity lost for that long, or the peer closed DTLS; `failed` = ICE/DTLS
 * failed; `error` = an internal failure (native object, unusable remote description).
 */
export type CloseReason = 'local' | 'disconnect' | 'failed' | 'error';

export interface MediaParams {
  /** What we send with; undefined until the peer answered our offer accepting Opus. */
  readonly local: LocalMediaParams | undefined;
  /** What the peer sends with; undefined until its offer arrived. */
  readonly remote: RemoteMediaParams | undefined;
}

export type TransportOutput =
  /** A message for the peer, through the encrypted signaling channel. */
  | { readonly type: 'send'; readonly message: SignalingMessage }
  /** Our MediaState on the data channel. Answer: `dataChannelSent(ok)`. */
  | { readonly type: 'send-data'; readonly message: MediaStateMessage }
  /** Caller: create the local offer. Answer: `localDescriptionCreated(offer)`. */
  | { readonly type: 'create-offer' }
  /**
   * Apply the synthesized remote description: the caller's remote answer (answer:
   * `remoteAnswerApplied()`), or the callee's remote offer, then create the local answer (answer:
   * `remoteOfferApplied(answer)`). `description` holds what went into `sdp`, including the
   * `a=setup` choice.
   */
  | {
      readonly type: 'apply-remote-description';
      readonly sdpType: 'offer' | 'answer';
      readonly description: RemoteDescriptionInput;
      readonly sdp: string;
    }
  /** A peer ICE candidate (`candidate:…`) for our ICE agent. Answer: `remoteCandidateAdded(ok)`. */
  | { readonly type: 'add-remote-candidate'; readonly candidate: string }
  | { readonly type: 'state'; readonly state: TransportState }
  /** The first connection (once per transport). */
  | { readonly type: 'connected' }
  | { readonly type: 'remote-media-state'; readonly state: MediaState }
  /** Negotiated parameters changed (our offer answered, or a peer offer received). */
  | { readonly type: 'media-params'; readonly params: MediaParams }
  /** An internal failure to report; `state: closed` and `close` follow. */
  | { readonly type: 'error'; readonly error: Error }
  /** The transport ended: release the peer connection. Always the last output. */
  | { readonly type: 'close'; readonly reason: CloseReason };

export interface SequencerStats {
  /** Peer signaling payloads processed (payloads kept before start count when processed). */
  signalingIn: number;
  /** Undecodable or invalid JSON messages (including unusable InitialSetup values). */
  malformedMessages: number;
  /** Messages with an `@type` we do not know (ignored, as tgcalls does). */
  unknownMessageTypes: number;
  /** Valid messages we ignored: duplicate InitialSetup, crossing or stale NegotiateChannels, binary data channel messages. */
  ignoredMessages: number;
  /** Messages that arrived after close, or too many before start. */
  droppedMessages: number;
  localCandidates: number;
  remoteCandidatesAdded: number;
  /** Malformed, unsupported (TCP, hostnames such as Telegram reflectors, component 2), refused or overflowing. */
  remoteCandidatesDropped: number;
  mediaStateViaDataChannel: number;
  mediaStateViaSignaling: number;
  /** ms from `start()` to the first `connected`. */
  connectTimeMs: number | undefined;
  /** ms from `start()` to the data channel's opening (after `connected`: media does not wait for it). */
  dataChannelOpenMs: number | undefined;
}
