/**
 * The carrier of encrypted signaling packets: what sits between the encrypted channel
 * (src/crypto) and phone.sendSignalingData. Versions 7/8/9 and the V3 `network_signaling_nosctp`
 * variant send each encrypted packet as one blob (`DirectCarrier`); V3 (12.0.0/13.0.0) carries each
 * one as an SCTP user message and sends the SCTP packets as blobs (`SctpCarrier`,
 * call-crypto-and-signaling.md §5.1, §5.4, §6).
 */
import type { TgCallError } from '../errors.js';
import { signalingModeFor } from '../crypto/signaling-versions.js';

export type CarrierKind = 'direct' | 'sctp';

export interface SignalingCarrier {
  readonly kind: CarrierKind;
  /** Begins (the SCTP client sends its INIT). Idempotent. */
  start(): void;
  /** One encrypted packet to the peer. Never throws; what cannot be sent is counted. */
  send(packet: Uint8Array): void;
  /** One phone.sendSignalingData blob from the peer. Never throws. */
  receive(blob: Uint8Array): void;
  /** Releases every timer; later calls are no-ops. Idempotent. */
  close(): void;
  readonly stats: Readonly<CarrierStats>;
}

export interface CarrierStats {
  /** Blobs handed to / received from phone.sendSignalingData. */
  blobsOut: number;
  blobsIn: number;
  /** Encrypted packets carried each way. */
  packetsOut: number;
  packetsIn: number;
  /** SCTP only: ms from start() to the association being established. */
  establishedMs?: number;
  /** SCTP only: DATA chunks at or behind the cumulative TSN (retransmitted or replayed; re-acked, not redelivered). */
  duplicateData?: number;
  /** Blobs or packets dropped, by reason (never thrown). */
  dropped: Record<string, number>;
}

export interface CarrierCallbacks {
  /** Hands one blob to phone.sendSignalingData. */
  readonly sendData: (blob: Uint8Array) => void;
  /** One encrypted packet from the peer, for the channel. */
  readonly onPacket: (packet: Uint8Array) => void;
  /** The carrier cannot continue (SCTP association never came up): end the call. */
  readonly onFatal: (error: TgCallError) => void;
}

/**
 * Which carrier a call uses: SCTP for V3 (a V3 version, or any version with
 * `network_kcp_experiment`) unless the server's `custom_parameters` carry
 * `"network_signaling_nosctp": true` (android-tgcalls `v2/CustomParameters.h`, §5.4).
 */
export function carrierKindFor(version: string, customParameters: Readonly<Record<string, unknown>> | undefined): CarrierKind {
  if (signalingModeFor(version, customParameters) !== 'v3') return 'direct';
  return customParameters?.network_signaling_nosctp === true ? 'direct' : 'sctp';
}

/** Each encrypted packet is one blob, both ways. */
export class DirectCarrier implements SignalingCarrier {
  readonly kind = 'direct' as const;
  readonly stats: CarrierStats = { blobsOut: 0, blobsIn: 0, packetsOut: 0, packetsIn: 0, dropped: {} };
  private closed = false;

  constructor(private readonly callbacks: Pick<CarrierCallbacks, 'sendData' | 'onPacket'>) {}

  start(): void {}

  send(packet: Uint8Array): void {
    if (this.closed) return;
    this.stats.packetsOut++;
    this.stats.blobsOut++;
    this.callbacks.sendData(packet);
  }

  receive(blob: Uint8Array): void {
    if (this.closed) return;
    this.stats.blobsIn++;
    this.stats.packetsIn++;
    this.callbacks.onPacket(blob);
  }

  close(): void {
    this.closed = true;
  }
}
