/** Counters a media session reports through `getStats()`, and how they are assembled. */
import type { AudioReceiverStats } from './audio-receiver.js';
import type { AudioSenderStats } from './audio-sender.js';
import type { JitterBufferStats } from './jitter-buffer.js';

/** The sender's counters (documented on `AudioSenderStats`) plus the session-level send figures. */
export interface SendStats
  extends Pick<
    AudioSenderStats,
    'packets' | 'bytes' | 'payloadBytes' | 'audioFrames' | 'silenceFrames' | 'mutedFrames' | 'suppressedFrames' | 'skippedFrames' | 'liveCuts'
  > {
  /** Input audio dropped to bound latency (a live backlog or stale audio after a stall, a full queue), ms. */
  inputDroppedMs: number;
  /** Input audio waiting to be sent, ms. */
  queuedMs: number;
  /** RTP bit rate over the last second. */
  bitrateBps: number;
  /** Encoder target bit rate. */
  targetBitrateBps: number;
  /** Loss the encoder's FEC is tuned for, %. */
  packetLossPercent: number;
}

export interface ReceiveStats {
  remoteSsrc: number | undefined;
  packets: number;
  bytes: number;
  /** RFC 3550 cumulative loss (expected − received). */
  lost: number;
  duplicated: number;
  /** Arrived after their playout time. */
  late: number;
  /** Not parseable as RTP, or not a valid Opus packet. */
  invalid: number;
  /** Padding-only packets (the peer's bandwidth probes): not audio, not invalid. */
  padding: number;
  /** Payload type not negotiated as Opus. */
  wrongPayloadType: number;
  /** From an SSRC other than the peer's. */
  unknownSsrc: number;
  decodeErrors: number;
  /** Output frames that contained concealment. */
  concealedFrames: number;
  plcMs: number;
  fecMs: number;
  /** Decoded audio dropped to shrink the jitter buffer, ms. */
  discardedMs: number;
  /** Audio removed by time compression (pitch kept) to shrink the jitter buffer, ms. */
  acceleratedMs: number;
  /** RFC 3550 interarrival jitter, ms. */
  jitterMs: number;
  /** Playout delay the jitter buffer aims for, above the fastest packet path, ms. Falls again when jitter subsides. */
  targetDelayMs: number;
  /** Playout delay it has now, above the fastest packet path, ms (follows the target within seconds). */
  currentDelayMs: number;
  /** @deprecated the same as `targetDelayMs`. */
  bufferDelayMs: number;
  bufferedMs: number;
  framesOut: number;
  bitrateBps: number;
}

export interface RtcpStats {
  sent: number;
  received: number;
  invalid: number;
  /** Transport-cc feedback packets sent (for the peer's bandwidth estimator). */
  transportFeedbackSent: number;
  /** Round-trip time from the peer's last report block (LSR/DLSR), ms. */
  rttMs: number | undefined;
  /** Loss the peer reports for our stream, 0–1 (last interval). */
  remoteFractionLost: number | undefined;
  remoteCumulativeLost: number | undefined;
  remoteJitterMs: number | undefined;
}

export interface MediaStats {
  sent: SendStats;
  received: ReceiveStats;
  rtcp: RtcpStats;
  /** Output frames dropped because nobody read them. */
  outputDroppedFrames: number;
}

/** The send half of the report from the sender's counters. */
export function sendStats(s: AudioSenderStats, o: Pick<SendStats, 'queuedMs' | 'bitrateBps' | 'targetBitrateBps' | 'packetLossPercent'>): SendStats {
  return {
    packets: s.packets,
    bytes: s.bytes,
    payloadBytes: s.payloadBytes,
    audioFrames: s.audioFrames,
    silenceFrames: s.silenceFrames,
    mutedFrames: s.mutedFrames,
    suppressedFrames: s.suppressedFrames,
    skippedFrames: s.skippedFrames,
    inputDroppedMs: s.inputDroppedSamples / 48,
    liveCuts: s.liveCuts,
    ...o,
  };
}

/** The receive half from the receiver's and the jitter buffer's counters and the engine's own. */
export function receiveStats(
  r: AudioReceiverStats,
  j: JitterBufferStats,
  o: Pick<ReceiveStats, 'remoteSsrc' | 'packets' | 'bytes' | 'lost' | 'invalid' | 'padding' | 'wrongPayloadType' | 'unknownSsrc' | 'jitterMs' | 'bitrateBps'> & {
    /** Decoded audio the receiver holds ahead of the output, ms. */
    decodedQueuedMs: number;
  },
): ReceiveStats {
  return {
    remoteSsrc: o.remoteSsrc,
    packets: o.packets,
    bytes: o.bytes,
    lost: o.lost,
    duplicated: j.duplicate,
    late: j.late,
    invalid: o.invalid + r.invalidPayloads,
    padding: o.padding,
    wrongPayloadType: o.wrongPayloadType,
    unknownSsrc: o.unknownSsrc,
    decodeErrors: r.decodeErrors,
    concealedFrames: r.concealedFrames,
    plcMs: r.plcMs,
    fecMs: r.fecMs,
    discardedMs: r.discardedMs,
    acceleratedMs: r.acceleratedMs,
    jitterMs: o.jitterMs,
    targetDelayMs: j.targetDelayMs,
    currentDelayMs: j.currentDelayMs,
    bufferDelayMs: j.targetDelayMs,
    bufferedMs: j.bufferedMs + o.decodedQueuedMs,
    framesOut: r.framesOut,
    bitrateBps: o.bitrateBps,
  };
}
