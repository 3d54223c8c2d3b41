/**
 * What the path mux needs from a relay client (a TURN allocation or a Telegram reflector), so it
 * can drive either without knowing its protocol. Implementations wrap a sans-I/O protocol core
 * (turn-client.ts, reflector-client.ts): bytes and `now` in, datagrams and events out.
 */
import type { Endpoint } from './endpoint.js';
import type { IceCandidate } from './ice-candidate.js';

/** Who a relay carries a datagram to or from: a transport address (TURN) or a reflector port id. */
export type RelayPeer = Endpoint | number;

/** Bytes for the relay's own socket: a datagram (`to` set), or a chunk of its TCP stream. */
export interface RelayWire {
  readonly to?: Endpoint;
  readonly data: Uint8Array;
}

export type RelayEvent =
  /** Usable: `candidate` is ours through this relay (signalled unless the relay says otherwise). */
  | { readonly kind: 'ready'; readonly candidate: IceCandidate | undefined }
  /** A payload from the peer through the relay. */
  | { readonly kind: 'data'; readonly peer: RelayPeer; readonly payload: Uint8Array }
  /** The relay cannot be used (refused, unreachable); `reason` is for logs and stats. */
  | { readonly kind: 'failed'; readonly reason: string };

export interface RelayStep {
  readonly wire: readonly RelayWire[];
  readonly events: readonly RelayEvent[];
}

export const EMPTY_STEP: RelayStep = Object.freeze({ wire: Object.freeze([]), events: Object.freeze([]) });

export interface RelayPathStats {
  readonly state: 'connecting' | 'ready' | 'failed' | 'closed';
  readonly packetsIn: number;
  readonly packetsOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Datagrams dropped, by reason (never thrown). */
  readonly dropped: Readonly<Record<string, number>>;
}

export interface RelayPath {
  readonly kind: 'turn' | 'reflector';
  /** The relay server, for stats and logs ("through which server"). */
  readonly server: Endpoint;
  /** The socket this relay needs: UDP, or a TCP stream to `server`. */
  readonly transport: 'udp' | 'tcp';
  start(now: number): RelayStep;
  /** Bytes that arrived on this relay's socket (`from` = the datagram's source; the server for TCP). */
  receive(data: Uint8Array, from: Endpoint, now: number): RelayStep;
  /** Wraps `payload` for `peer`; may return nothing yet (queued until the relay is ready). */
  send(peer: RelayPeer, payload: Uint8Array, now: number): RelayStep;
  tick(now: number): RelayStep;
  nextDeadline(): number | undefined;
  close(now: number): RelayStep;
  /** TCP relays: the stream to the server connected / ended. */
  streamConnected?(now: number): RelayStep;
  streamClosed?(now: number): RelayStep;
  /** Whether `candidate` (a peer candidate) is reachable through this relay, and as which peer. */
  peerFor(candidate: IceCandidate): RelayPeer | undefined;
  stats(): RelayPathStats;
}
