/**
 * The call transport's public vocabulary (options, events, stats), apart from call-transport.ts so
 * that file holds the adapter's behaviour only (as transport-types.ts does for the core).
 */
import type { Logger } from '../logger.js';
import type { CallServerInput, EdgeStats, NetworkEdgeOptions, NetworkEdgePort, PathInfo } from '../network/index.js';
import type { MediaState } from './messages.js';
import type { NetworkOptions } from './network-options.js';
import type { CreatePeerConnection } from './peer-connection-port.js';
import type { CloseReason, MediaParams, SequencerStats, TransportState } from './transport-types.js';

export interface CallTransportOptions {
  /** True on the side that placed the call (caller: ICE controlling, DTLS actpass → client). */
  readonly isOutgoing: boolean;
  /** ICE servers, bind address, port range and connect timeout. */
  readonly network?: NetworkOptions;
  /** `p2p_allowed = false`: no direct path and no host or server-reflexive candidate, only relays. */
  readonly relayOnly?: boolean;
  /** The call's `phoneCall.connections`: Telegram reflectors and TURN/STUN servers. */
  readonly connections?: readonly CallServerInput[];
  /** `network_standalone_reflectors`: reflector candidates are made up, not signalled (reflector.md §7). */
  readonly standaloneReflectors?: boolean;
  /** After connecting, how long MediaState waits for the data channel before going over signaling. Default 2000. */
  readonly dataChannelGraceMs?: number;
  readonly logger?: Logger;
  /** Our audio SSRC (non-zero uint32); random by default. */
  readonly ssrc?: number;
  /** Random uint32 source for exchange ids (tests inject a seeded one). */
  readonly randomUint32?: () => number;
  /** The peer connection; default: libdatachannel's (`CallPeerConnection`). Tests inject fakes. */
  readonly createPeerConnection?: CreatePeerConnection;
  /** The network edge; default: `NetworkEdge.open` (binds its sockets). Tests inject fakes. */
  readonly createNetworkEdge?: (options: NetworkEdgeOptions) => NetworkEdgePort | Promise<NetworkEdgePort>;
  /** Monotonic clock in ms for the deadlines and `connectTimeMs`; default `performance.now`. */
  readonly now?: () => number;
}

export interface TransportStats extends SequencerStats {
  signalingOut: number;
  rtpIn: number;
  rtcpIn: number;
  /** Incoming packets that are neither RTP nor RTCP. */
  mediaInMalformed: number;
  rtpOut: number;
  rtcpOut: number;
  /** Outgoing packets dropped: before our offer was answered, before the track opened, or after close. */
  mediaOutDropped: number;
  /** The network edge (sockets, routes, relays); undefined until its sockets are bound. */
  network: EdgeStats | undefined;
  /** The route carrying the call (libjuice's selected pair), once connected. */
  path: PathInfo | undefined;
}

export interface CallTransportEvents {
  /** A plaintext JSON payload to send through the encrypted signaling channel. */
  signaling: [payload: Uint8Array];
  state: [state: TransportState];
  connected: [];
  /** A decrypted RTP packet from the peer. */
  rtp: [packet: Buffer];
  /** A decrypted RTCP packet from the peer. */
  rtcp: [packet: Buffer];
  'remote-media-state': [state: MediaState];
  /** Negotiated parameters changed (our offer answered, or a peer offer received). */
  'media-params': [params: MediaParams];
  error: [err: Error];
  /** Emitted once, after every native handle of this transport was released. */
  closed: [reason: CloseReason];
}
