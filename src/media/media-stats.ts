/** Counters a media session reports through `getStats()`. */

export interface SendStats {
  packets: number;
  /** RTP bytes (header + payload). */
  bytes: number;
  payloadBytes: number;
  audioFrames: number;
  silenceFrames: number;
  mutedFrames: number;
  /** Frames not transmitted (DTX, paused mute). */
  suppressedFrames: number;
  /** Frames skipped because the event loop stalled. */
  skippedFrames: number;
  /** Input audio dropped to bound latency (a live backlog or stale audio after a stall, a full queue), ms. */
  inputDroppedMs: number;
  /** Cuts made in live input to remove a backlog. */
  liveCuts: number;
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
  /** Not parseable as RTP. */
  invalid: number;
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
