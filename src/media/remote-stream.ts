/**
 * The peer's audio stream as received: which RTP packets are its audio (negotiated Opus payload
 * types, its SSRC), its RFC 3550 reception statistics and counters of what was turned away. Apart
 * from media-engine.ts, which only routes packets and runs the clock.
 */
import type { Logger } from '../logger.js';
import type { ReceiveStats } from './media-stats.js';
import { ReceptionStats } from './reception-stats.js';
import type { RtpPacket } from './rtp.js';

export class RemoteStream {
  private readonly log: Logger;
  private payloadTypes: Set<number>;
  private ssrcValue: number | undefined;
  private reception = new ReceptionStats(48000);
  private packets = 0;
  private recvBytes = 0;
  private invalid = 0;
  private padding = 0;
  private wrongPt = 0;
  private unknownSsrc = 0;

  /** `ssrc`: the peer's from its offer; undefined → the first SSRC seen with an Opus payload type. */
  constructor(opusPayloadTypes: Iterable<number>, ssrc: number | undefined, log: Logger) {
    this.payloadTypes = new Set(opusPayloadTypes);
    this.ssrcValue = ssrc === undefined ? undefined : ssrc >>> 0;
    this.log = log;
  }

  get ssrc(): number | undefined {
    return this.ssrcValue;
  }

  /** Bytes of the packets accepted as the peer's audio. */
  get bytes(): number {
    return this.recvBytes;
  }

  /** A packet that is not RTP at all. */
  countInvalid(): void {
    this.invalid += 1;
  }

  /**
   * Whether a parsed packet is the peer's audio, for the receiver; counts it either way.
   * `buf` is the packet `p` was read from.
   */
  accept(buf: Uint8Array, p: RtpPacket, nowMs: number): boolean {
    if (p.payload.length === 0 && (buf[0]! & 0x20) !== 0) {
      // Padding only (RFC 3550 §5.1): libwebrtc's bandwidth probes. It takes a sequence number of
      // the stream, so reception counts it (or it would look lost), but it is not audio.
      this.padding += 1;
      if (p.ssrc === this.ssrcValue) this.reception.onPacket(p.sequenceNumber, p.timestamp, nowMs, false);
      return false;
    }
    if (!this.payloadTypes.has(p.payloadType)) {
      this.wrongPt += 1;
      return false;
    }
    if (this.ssrcValue === undefined) {
      this.ssrcValue = p.ssrc;
      this.log.debug('remote audio source', { ssrc: p.ssrc });
    } else if (p.ssrc !== this.ssrcValue) {
      this.unknownSsrc += 1;
      return false;
    }
    this.packets += 1;
    this.recvBytes += buf.length;
    this.reception.onPacket(p.sequenceNumber, p.timestamp, nowMs);
    return true;
  }

  /** The peer's payload types that carry Opus (from its offer). */
  setPayloadTypes(payloadTypes: readonly number[]): void {
    this.payloadTypes = new Set(payloadTypes);
  }

  /** Switches to another source; false when it is the current one. Reception starts again. */
  setSsrc(ssrc: number): boolean {
    const s = ssrc >>> 0;
    if (s === this.ssrcValue) return false;
    this.ssrcValue = s;
    this.reception = new ReceptionStats(48000);
    return true;
  }

  /** The source and its reception, for our RTCP report blocks; undefined until a source is known. */
  report(): { ssrc: number; stats: ReceptionStats } | undefined {
    return this.ssrcValue === undefined ? undefined : { ssrc: this.ssrcValue, stats: this.reception };
  }

  /** The stream's share of `ReceiveStats`. */
  stats(): Pick<ReceiveStats, 'remoteSsrc' | 'packets' | 'bytes' | 'lost' | 'invalid' | 'padding' | 'wrongPayloadType' | 'unknownSsrc' | 'jitterMs'> {
    return {
      remoteSsrc: this.ssrcValue,
      packets: this.packets,
      bytes: this.recvBytes,
      lost: this.reception.cumulativeLost,
      invalid: this.invalid,
      padding: this.padding,
      wrongPayloadType: this.wrongPt,
      unknownSsrc: this.unknownSsrc,
      jitterMs: this.reception.jitterMs,
    };
  }
}
