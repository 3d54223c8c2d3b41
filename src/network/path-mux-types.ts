/**
 * The path mux's vocabulary (its options, the outputs it returns, the events and path
 * descriptions it reports), apart from path-mux.ts so that file holds the core's behaviour only
 * (as call-transport-types.ts does for the transport) and the modules that step with the core
 * share these types without importing it. path-mux.ts re-exports them.
 */
import type { DirectPathConfig } from './direct-path.js';
import type { DtlsAssistOptions } from './dtls-assist.js';
import type { Endpoint } from './endpoint.js';
import type { CandidateType } from './ice-candidate.js';
import type { RelayPath } from './relay-path.js';

export type { DirectPathConfig };

export interface PathMuxOptions {
  readonly isOutgoing: boolean;
  /** `p2p_allowed`: direct routes and host candidates; false = relays only. */
  readonly allowDirect: boolean;
  readonly direct: readonly DirectPathConfig[];
  readonly relays: readonly RelayPath[];
  /** `network_standalone_reflectors`: no reflector candidate is signalled; the peer's is made up. */
  readonly standaloneReflectors?: boolean;
  /** Tests on one machine: accept loopback peer addresses. */
  readonly allowLoopbackPeers?: boolean;
  /** The route libjuice uses moves to a verified new peer address after this much silence. */
  readonly moveAfterSilenceMs?: number;
  /**
   * After connecting, this long without a datagram from the peer reports `peer-silent`. Media
   * flows every 20 ms and ICE consent checks every few seconds (RFC 7675), so 6 s of nothing
   * means the path is gone; the transport then starts its reconnect deadline.
   */
  readonly silenceMs?: number;
  /** Re-signed tie-breakers use this value (random per call). */
  readonly tiebreaker: bigint;
  readonly dtls?: DtlsAssistOptions;
}

/** Which way a route carries the call, for stats: the issue 12 "which kind of path, through which server". */
export interface PathInfo {
  /** `host` / `srflx`: direct to the peer's such candidate; `turn`: through a TURN relay (ours or the peer's); `reflector`: a Telegram reflector. */
  readonly kind: 'host' | 'srflx' | 'turn' | 'reflector';
  /** Which of our sockets: `direct4`, `direct6`, `relay<n>`. */
  readonly local: string;
  /** The peer's address on this route, or `reflector port <id>`. */
  readonly remote: string;
  readonly remoteType: CandidateType;
  /** The relay server (ours), `ip:port`. */
  readonly server?: string;
}

export type MuxEvent =
  | { readonly type: 'peer-moved'; readonly path: string; readonly from: string; readonly to: string }
  | { readonly type: 'relay-ready'; readonly path: string; readonly server: Endpoint }
  | { readonly type: 'relay-failed'; readonly path: string; readonly server: Endpoint; readonly reason: string }
  | { readonly type: 'candidate-dropped'; readonly reason: string; readonly candidate: string }
  /** Nothing from the peer on any route for `silenceMs` since the call connected (path lost?). */
  | { readonly type: 'peer-silent'; readonly silentForMs: number }
  /** The peer is heard again after `peer-silent`. */
  | { readonly type: 'peer-back' };

export type MuxOutput =
  /** Bytes for a network socket (`direct4`, `direct6`, `relay<n>`); `to` unset = the relay's TCP stream. */
  | { readonly kind: 'net'; readonly socket: string; readonly to: Endpoint | undefined; readonly data: Uint8Array }
  /** A datagram for libjuice, sent from route `route`'s proxy socket. */
  | { readonly kind: 'engine'; readonly route: number; readonly data: Uint8Array }
  | { readonly kind: 'open-proxy'; readonly route: number }
  /** A remote candidate for libjuice (a proxy). */
  | { readonly kind: 'engine-candidate'; readonly line: string }
  /** One of our candidates, to signal to the peer. */
  | { readonly kind: 'local-candidate'; readonly line: string }
  | { readonly kind: 'event'; readonly event: MuxEvent };
