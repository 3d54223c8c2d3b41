/**
 * What the call transport needs of a peer connection (ICE + DTLS-SRTP + the SCTP data channel),
 * as an interface: `CallPeerConnection` (libdatachannel, peer-connection.ts) implements it, and
 * tests inject recording fakes through `CallTransportOptions.createPeerConnection`.
 *
 * The contract every implementation keeps (transport-v2.md §5):
 * - one bundled transport with the audio section first (mid `0`) and the data section second
 *   (mid `1`), `LOCAL_SECTIONS`: the callee's synthesized remote offer mirrors it before any
 *   local description exists;
 * - the caller opens the data channel, the callee takes the caller's;
 * - nothing throws out of `addRemoteCandidate`, `sendMedia`, `sendData`, `selectedCandidatePair`
 *   or `close` (false / null instead); `createOffer`, `acceptOffer` and `acceptAnswer` throw a
 *   `TransportError` when the native side refuses;
 * - sink callbacks are never called after `close()`, and never throw back into the native side.
 */
import type { Logger } from '../logger.js';
import type { NetworkOptions } from './network-options.js';
import type { LocalDescriptionInfo, SdpSection } from './sdp.js';

export const AUDIO_MID = '0';
export const DATA_MID = '1';
/** Our fixed section layout: audio first, then the data channel (libdatachannel's order for addTrack + createDataChannel). */
export const LOCAL_SECTIONS: readonly SdpSection[] = [
  { kind: 'audio', mid: AUDIO_MID },
  { kind: 'application', mid: DATA_MID },
];

export interface PeerConnectionSink {
  /** A local ICE candidate, `candidate:…` without `a=`. */
  localCandidate(sdpString: string): void;
  /** libdatachannel peer connection state: new, connecting, connected, disconnected, failed, closed. */
  stateChange(state: string): void;
  /** A decrypted RTP or RTCP packet from the audio track. */
  media(packet: Buffer): void;
  /** Our audio track opened: DTLS-SRTP is up and RTP flows both ways (the data channel may still be opening). */
  mediaOpen(): void;
  dataChannelOpen(): void;
  dataChannelMessage(message: string | Buffer): void;
  dataChannelClosed(): void;
  error(err: Error): void;
}

export interface PeerConnectionOptions {
  readonly name: string;
  readonly isOutgoing: boolean;
  /** ICE servers, bind address and port range (the connect timeout is not the peer connection's). */
  readonly network: NetworkOptions;
  readonly relayOnly: boolean;
  readonly ssrc: number;
  readonly payloadType: number;
  readonly logger: Logger;
  readonly sink: PeerConnectionSink;
}

export interface CandidateInfo {
  readonly address: string;
  readonly port: number;
  readonly type: string;
  readonly transportType: string;
  readonly candidate: string;
  readonly priority: number;
}

export interface CandidatePair {
  readonly local: CandidateInfo;
  readonly remote: CandidateInfo;
}

export interface PeerConnectionPort {
  /** Caller: creates the local offer (`a=setup:actpass`) and returns what `InitialSetup` needs. */
  createOffer(): LocalDescriptionInfo;
  /** Callee: applies the synthesized remote offer and creates our answer (`a=setup:passive`). */
  acceptOffer(remoteSdp: string): LocalDescriptionInfo;
  /** Caller: applies the synthesized remote answer. */
  acceptAnswer(remoteSdp: string): void;
  /** Adds a peer candidate (`candidate:…`); false when refused. */
  addRemoteCandidate(sdpString: string): boolean;
  /** Sends one RTP or RTCP packet (encrypted by the port); false when not possible. */
  sendMedia(packet: Uint8Array): boolean;
  /** Sends a text message on the data channel; false when it is not open or refuses it. */
  sendData(text: string): boolean;
  readonly isDataChannelOpen: boolean;
  /** The ICE candidate pair in use, or null. */
  selectedCandidatePair(): CandidatePair | null;
  /** Closes everything; resolves once every native handle is released. Idempotent. */
  close(): Promise<void>;
}

export type CreatePeerConnection = (options: PeerConnectionOptions) => PeerConnectionPort;
