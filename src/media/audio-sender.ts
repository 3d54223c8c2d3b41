/**
 * The send half of the media layer, sans-I/O: PCM goes in with `write`, `tick(now)` returns the
 * RTP packets due on a drift-free frame clock (frame n is due at start + n × frameMs).
 *
 * - Continuous stream: when the application has nothing queued a silence frame is sent, so the
 *   sequence numbers and timestamps never stop (the RTP timestamp of frame n is base + n × samples
 *   by construction, whatever happens).
 * - Mute, default `'silence'`: encoded silence keeps flowing, which is what libwebrtc does for a
 *   disabled track and keeps NAT bindings, RTCP and the peer's jitter buffer steady. Official
 *   tgcalls/ntgcalls instead stop RTP while muted (`channel->Enable(false)` +
 *   `SetAudioSend(ssrc, false)`), so peers accept a pause too: `'pause'` sends nothing while muted
 *   and resumes with the marker bit and a timestamp that counted the muted time. Either way the
 *   MediaState message (sent by the transport) is what the peer's UI shows.
 * - Digital silence is encoded for real for the first frames, then the last silence packet is
 *   re-sent without running the encoder (frame-encoder.ts).
 * - The encoder may be deferred (a codec worker, codec-pool.ts): then `tick` sends the frames whose
 *   packets are ready and `drain` the rest, in order, when the worker has encoded them — within
 *   the same frame period, not a frame later. Everything decided from the payload (DTX, the marker
 *   bit, sequence numbers) is decided in that in-order step.
 * - Marker bit on the first packet and at every talk-spurt start (application audio after fill
 *   silence, mute or DTX).
 * - DTX (off by default, as official clients do not signal usedtx): packets of ≤ 2 bytes are the
 *   encoder's "nothing to send" and are not transmitted, except every 400 ms as libwebrtc does.
 * - Two input policies (`write(pcm, mode)`): 'paced' input (a file, TTS, anything produced ahead of
 *   real time) is sent in full, in order; the caller applies backpressure. 'live' input (a
 *   microphone, a bridge: a source on its own real-time clock) must not build up latency: a
 *   backlog that persists — the smallest queue level seen over a 500 ms window, i.e. the part
 *   the clock never consumes — above `maxLiveBacklogMs` is cut from the front of the queue with a
 *   5 ms crossfade (live-backlog.ts), and after a stall the audio of the skipped slots is dropped
 *   with them. This is what libwebrtc's own send path does: capture is never queued ahead of the
 *   encoder, so a stall loses the stale audio (the OS capture buffer overruns) instead of delaying
 *   everything after.
 *   Stale speech played late is worse for a conversation than a short cut; time compression
 *   (WSOLA) would keep every word but needs seconds of audibly faster speech to drain a stall.
 */
import { LiveBacklog } from './live-backlog.js';
import { PcmQueue } from './pcm-queue.js';
import { downmixToMono } from './pcm.js';
import { FrameEncoder } from './frame-encoder.js';
import type { OpusEncoder } from './opus-codec.js';
import { encodeAbsSendTime, encodeTransportSequence, serializeRtp, type RtpExtension } from './rtp.js';

export type MuteMode = 'silence' | 'pause';

/** How written audio is treated: see the file comment. */
export type InputMode = 'live' | 'paced';

export interface RtpExtensionIds {
  /** Negotiated id of http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time. */
  absSendTime?: number;
  /** Negotiated id of …/draft-holmer-rmcat-transport-wide-cc-extensions-01. */
  transportWideCc?: number;
}

export interface AudioSenderOptions {
  ssrc: number;
  payloadType: number;
  /** A mono encoder for `frameMs` frames. */
  encoder: OpusEncoder;
  frameMs?: number;
  /** Channels of the PCM given to `write` (stereo is averaged to mono). */
  inputChannels?: 1 | 2;
  extensionIds?: RtpExtensionIds;
  dtx?: boolean;
  muteMode?: MuteMode;
  /** Input queued beyond this is dropped, oldest first. Default 1000 ms. */
  maxQueueMs?: number;
  /** Live input: a backlog that persists above this is dropped. Default 40 ms (two frames). */
  maxLiveBacklogMs?: number;
  initialSequence?: number;
  initialTimestamp?: number;
  initialTransportSequence?: number;
  /**
   * At most this many late frames are sent at once after the clock stalled (event loop blocked);
   * older ones are skipped. A burst is better than a gap: the peer's jitter buffer absorbs it.
   * Default 10 (200 ms).
   */
  maxCatchUpFrames?: number;
}

export interface AudioSenderStats {
  /** RTP packets sent. */
  packets: number;
  /** RTP bytes (header + payload). */
  bytes: number;
  /** Payload bytes (the SR octet count). */
  payloadBytes: number;
  /** Frames with application audio. */
  audioFrames: number;
  /** Frames filled with silence because nothing was queued. */
  silenceFrames: number;
  /** Frames while muted (sent as silence, or suppressed with `muteMode: 'pause'`). */
  mutedFrames: number;
  /** Frames encoded by reusing the cached silence packet. */
  cachedSilenceFrames: number;
  /** Frames not transmitted (DTX or paused mute). */
  suppressedFrames: number;
  /** Frames skipped after the clock stalled (event loop blocked). */
  skippedFrames: number;
  /** Input samples dropped to bound latency (live backlog, stale audio after a stall, full queue). */
  inputDroppedSamples: number;
  /** Cuts made in live input to remove a backlog. */
  liveCuts: number;
}

const DTX_KEEPALIVE_MS = 400;
/** Catch-up burst after a stall, live input: timer lateness up to this loses nothing. */
const LIVE_CATCH_UP_MS = 100;

/** A frame between production and sending; `send: false` marks a pause (muted, or slots skipped). */
interface PendingFrame {
  readonly timestamp: number;
  readonly talkSpurt: boolean;
  readonly send: boolean;
}

export class AudioSender {
  private readonly ssrc: number;
  private payloadType: number;
  private readonly encoder: OpusEncoder;
  private readonly frameEncoder: FrameEncoder;
  /** Frames produced and not yet sent or suppressed, oldest first (their payloads may be in a worker). */
  private readonly frames: PendingFrame[] = [];
  readonly frameMs: number;
  readonly frameSamples: number;
  private readonly inputChannels: 1 | 2;
  private ext: RtpExtensionIds;
  private readonly dtx: boolean;
  private readonly muteMode: MuteMode;
  private readonly maxCatchUp: number;
  private readonly queue: PcmQueue;
  /** Live input: the backlog the clock never consumes, measured and cut (live-backlog.ts). */
  private readonly backlog: LiveBacklog;
  private inputMode: InputMode = 'paced';

  private startMs = 0;
  private started = false;
  private frameIndex = 0;
  private readonly tsBase: number;
  private seq: number;
  private twcc: number;
  private isMuted = false;
  private sentAny = false;
  /** True when the previous frame was not application audio (or was not sent). */
  private inPause = true;
  private lastSentMs = -Infinity;
  private endOfInput = false;
  /** Extension element scratch, copied into each packet by serializeRtp. */
  private readonly absSendTimeData = new Uint8Array(3);
  private readonly twccData = new Uint8Array(2);

  private readonly s: AudioSenderStats = {
    packets: 0,
    bytes: 0,
    payloadBytes: 0,
    audioFrames: 0,
    silenceFrames: 0,
    mutedFrames: 0,
    cachedSilenceFrames: 0,
    suppressedFrames: 0,
    skippedFrames: 0,
    inputDroppedSamples: 0,
    liveCuts: 0,
  };

  constructor(o: AudioSenderOptions) {
    this.ssrc = o.ssrc >>> 0;
    this.payloadType = o.payloadType;
    this.encoder = o.encoder;
    this.frameMs = o.frameMs ?? 20;
    this.frameSamples = 48 * this.frameMs;
    this.inputChannels = o.inputChannels ?? 1;
    this.ext = o.extensionIds ?? {};
    this.dtx = o.dtx ?? false;
    this.muteMode = o.muteMode ?? 'silence';
    this.maxCatchUp = Math.max(1, o.maxCatchUpFrames ?? 10);
    this.queue = new PcmQueue(48 * (o.maxQueueMs ?? 1000));
    this.backlog = new LiveBacklog(this.queue, this.frameMs, o.maxLiveBacklogMs ?? 40);
    // RFC 3550 §5.1: initial sequence number and timestamp should be random.
    this.seq = (o.initialSequence ?? Math.floor(Math.random() * 0x10000)) & 0xffff;
    this.tsBase = (o.initialTimestamp ?? Math.floor(Math.random() * 0x100000000)) >>> 0;
    this.twcc = (o.initialTransportSequence ?? 1) & 0xffff;
    // DTX packets must not be cached: their meaning is "not transmitted".
    this.frameEncoder = new FrameEncoder(this.encoder, this.frameSamples, !this.dtx);
  }

  /** Called from the event loop when a deferred encoder has packets for `drain`. */
  set onEncoded(listener: (() => void) | undefined) {
    this.frameEncoder.onReady = listener;
  }

  /** Frames produced whose packets are still being encoded (a deferred encoder). */
  get awaitingEncoder(): number {
    return this.frames.length;
  }

  start(nowMs: number): void {
    if (this.started) return;
    this.started = true;
    this.startMs = nowMs;
  }

  get isStarted(): boolean {
    return this.started;
  }

  /**
   * Queues PCM (interleaved in `inputChannels`). `mode` is the policy for what is queued from
   * now on (the last writer's). Returns samples dropped to stay bounded.
   */
  write(pcm: Int16Array, mode: InputMode = 'paced'): number {
    this.endOfInput = false;
    if (mode !== this.inputMode) {
      this.inputMode = mode;
      this.backlog.reset();
    }
    const dropped = this.queue.push(downmixToMono(pcm, this.inputChannels));
    this.s.inputDroppedSamples += dropped;
    return dropped;
  }

  get mode(): InputMode {
    return this.inputMode;
  }

  /** The source ended: the last partial frame is sent zero-padded instead of waiting for more. */
  flush(): void {
    this.endOfInput = true;
  }

  /** Queued input, ms. */
  get queuedMs(): number {
    return this.queue.length / 48;
  }

  clearQueue(): void {
    this.queue.clear();
  }

  mute(): void {
    this.isMuted = true;
  }

  unmute(): void {
    this.isMuted = false;
  }

  get muted(): boolean {
    return this.isMuted;
  }

  setPacketLossPercent(percent: number): void {
    this.encoder.setPacketLossPercent(percent);
  }

  /** Payload type and header extension ids as the peer accepted them (its answer to our offer). */
  setRtpParams(payloadType: number, extensionIds: RtpExtensionIds): void {
    this.payloadType = payloadType;
    this.ext = { ...extensionIds };
  }

  setBitrate(bps: number): void {
    this.encoder.setBitrate(bps);
  }

  /** When the next frame is due (ms on the caller's clock). */
  get nextDeadline(): number {
    return this.startMs + this.frameIndex * this.frameMs;
  }

  /** RTP timestamp of the media instant `nowMs` (for sender reports). */
  rtpTimestampAt(nowMs: number): number {
    return (this.tsBase + Math.round((nowMs - this.startMs) * 48)) >>> 0;
  }

  getStats(): AudioSenderStats {
    return { ...this.s, cachedSilenceFrames: this.frameEncoder.cachedSilenceFrames };
  }

  /** Produces every packet due at `nowMs`. */
  tick(nowMs: number): Buffer[] {
    if (!this.started) return [];
    const due = this.nextDeadline <= nowMs ? Math.floor((nowMs - this.nextDeadline) / this.frameMs) + 1 : 0;
    // Live audio older than LIVE_CATCH_UP_MS is stale: a shorter burst also raises the peer's
    // jitter estimate less (its delay target follows the spread of packet transit times).
    const catchUp = this.inputMode === 'live' ? Math.min(this.maxCatchUp, Math.max(1, Math.round(LIVE_CATCH_UP_MS / this.frameMs))) : this.maxCatchUp;
    if (due > catchUp) {
      // The clock stalled (event loop blocked): skip the slots that cannot be sent in time and
      // send the most recent ones, which reach the peer least late. Timestamps still count the
      // skipped media so they stay in step with the wall clock. Live audio of the skipped slots
      // is stale: it goes with them.
      const behind = due - catchUp;
      this.frameIndex += behind;
      this.s.skippedFrames += behind;
      this.frames.push({ timestamp: 0, talkSpurt: false, send: false });
      if (this.inputMode === 'live') this.countCut(this.backlog.cut(behind * this.frameSamples));
    }
    for (let n = Math.min(due, catchUp); n > 0; n -= 1) this.produceFrame();
    if (due > catchUp && this.inputMode === 'live') this.backlog.judgeAtNextFrame();
    return this.drain(nowMs);
  }

  /**
   * Packets of the produced frames whose payloads are ready, in order: all of them with an
   * ordinary encoder; with a deferred one, up to the first still being encoded.
   */
  drain(nowMs: number): Buffer[] {
    const out: Buffer[] = [];
    while (this.frames.length > 0) {
      const f = this.frames[0]!;
      if (!f.send) {
        this.frames.shift();
        this.inPause = true;
        continue;
      }
      const payload = this.frameEncoder.next();
      if (payload === undefined) break;
      this.frames.shift();
      // An empty payload is a frame the worker could not encode: not sent, like a DTX frame.
      if (payload.length === 0 || (this.dtx && payload.length <= 2 && nowMs - this.lastSentMs < DTX_KEEPALIVE_MS)) {
        this.s.suppressedFrames += 1;
        this.inPause = true;
        continue;
      }
      const marker = !this.sentAny || (f.talkSpurt && this.inPause);
      this.inPause = !f.talkSpurt;
      out.push(this.packetize(payload, f.timestamp, marker, nowMs));
    }
    return out;
  }

  /** Counts a live cut that dropped `dropped` samples (none: no cut). */
  private countCut(dropped: number): void {
    if (dropped === 0) return;
    this.s.inputDroppedSamples += dropped;
    this.s.liveCuts += 1;
  }

  private produceFrame(): void {
    const index = this.frameIndex;
    this.frameIndex += 1;
    const timestamp = (this.tsBase + index * this.frameSamples) >>> 0;

    let pcm = this.queue.take(this.frameSamples, this.endOfInput);
    const fromApp = pcm !== undefined;
    if (this.inputMode === 'live') this.countCut(this.backlog.frameTaken());
    if (this.isMuted) {
      this.s.mutedFrames += 1;
      pcm = undefined;
      if (this.muteMode === 'pause') {
        this.s.suppressedFrames += 1;
        this.frames.push({ timestamp, talkSpurt: false, send: false });
        return;
      }
    } else if (fromApp) {
      this.s.audioFrames += 1;
    } else {
      this.s.silenceFrames += 1;
    }
    this.frameEncoder.submit(pcm);
    this.frames.push({ timestamp, talkSpurt: fromApp && !this.isMuted, send: true });
  }

  private packetize(payload: Uint8Array, timestamp: number, marker: boolean, nowMs: number): Buffer {
    const extensions: RtpExtension[] = [];
    if (this.ext.absSendTime !== undefined) extensions.push({ id: this.ext.absSendTime, data: encodeAbsSendTime(nowMs, this.absSendTimeData) });
    if (this.ext.transportWideCc !== undefined) {
      extensions.push({ id: this.ext.transportWideCc, data: encodeTransportSequence(this.twcc, this.twccData) });
      this.twcc = (this.twcc + 1) & 0xffff;
    }
    const packet = serializeRtp({
      payloadType: this.payloadType,
      marker,
      sequenceNumber: this.seq,
      timestamp,
      ssrc: this.ssrc,
      extensions,
      payload,
    });
    this.seq = (this.seq + 1) & 0xffff;
    this.sentAny = true;
    this.lastSentMs = nowMs;
    this.s.packets += 1;
    this.s.bytes += packet.length;
    this.s.payloadBytes += payload.length;
    return packet;
  }

  close(): void {
    this.queue.clear();
    this.frames.length = 0;
    this.encoder.close();
  }
}
