/**
 * One call's audio, sans-I/O: the sender, the receiver (fed what remote-stream.ts accepts as the
 * peer's audio), RTCP and the statistics, driven by the caller's clock. `tick(now)` returns the
 * RTP/RTCP packets to send and the output frames due; `nextDeadline` says when to call it again.
 * `MediaSession` is the thin timer/stream edge around it; tests and the benchmark drive it with a
 * virtual clock.
 */
import { randomBytes } from 'node:crypto';
import { MediaError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { AudioReceiver, type ReceivedFrame } from './audio-receiver.js';
import { AudioSender, type InputMode, type MuteMode, type RtpExtensionIds } from './audio-sender.js';
import type { JitterBufferOptions } from './jitter-buffer.js';
import { receiveStats, sendStats, type MediaStats } from './media-stats.js';
import { defaultOpusCodec, type OpusCodec } from './opus-codec.js';
import { RemoteStream } from './remote-stream.js';
import { RtcpReporter } from './rtcp-reporter.js';
import type { ReportBlock } from './rtcp.js';
import { isRtcpPacket, readRtpHeader, readRtpExtensionU16, type RtpPacket } from './rtp.js';
import { TransportFeedbackRecorder } from './transport-feedback-recorder.js';
import type { VadOptions } from './vad.js';

export interface MediaEngineOptions {
  /** Our audio SSRC (uint32). */
  ssrc: number;
  /** Our Opus payload type, normally 111. */
  payloadType: number;
  /** Extension ids from the peer's answer to our offer; omitted → no extensions. */
  extensionIds?: RtpExtensionIds;
  /** Extension ids the peer sends with (its offer, as we accepted it): transport-cc feedback needs them. */
  remoteExtensionIds?: RtpExtensionIds;
  /** Send transport-cc feedback when the peer sends transport-wide sequence numbers. Default true. */
  transportFeedback?: boolean;
  /** Payload types the peer's offer maps to Opus. Default: our own `payloadType` (tgcalls peers both use 111). */
  remoteOpusPayloadTypes?: number[];
  /** The peer's audio SSRC from its offer; default: the first SSRC seen with an Opus payload type. */
  remoteSsrc?: number;
  /** PCM channels of input and output. Default 1. Stereo input is mixed down for the mono encoder. */
  channels?: 1 | 2;
  /**
   * Encoder bit rate. Default 32000: tgcalls configures Opus with min 16 / start 32 / max
   * 32 kbit/s (InstanceV2Impl.cpp, opus{Min,Start,Max}BitrateKbps).
   */
  bitrate?: number;
  /** In-band FEC. Default true (tgcalls sets useinbandfec=1 on its send codec). */
  fec?: boolean;
  /** Discontinuous transmission. Default false (official clients do not signal usedtx). */
  dtx?: boolean;
  /** Encoder complexity 0–10. Default 5, libwebrtc's Opus setting on the mobile platforms most official clients run on. */
  complexity?: number;
  /** Loss the FEC is tuned for before the peer's reports arrive, and its floor after. Default 10 %. */
  packetLossPercent?: number;
  /** Send frame duration, ms: 10, 20, 40, 60 (80, 100, 120 are legal Opus too). Default 20. */
  frameMs?: number;
  jitter?: { minDelayMs?: number; maxDelayMs?: number };
  muteMode?: MuteMode;
  vad?: VadOptions;
  /** Input queue bound, ms. Default 1000. */
  maxInputQueueMs?: number;
  /** Live input: a backlog that persists above this is cut (see AudioSender). Default 40 ms. */
  maxLiveBacklogMs?: number;
  cname?: string;
  codec?: OpusCodec;
  /** Uniform [0, 1) source (RTCP interval randomisation). */
  random?: () => number;
  logger?: Logger;
  /** Fixed initial RTP state, for tests of wrap-around. */
  initialSequence?: number;
  initialTimestamp?: number;
}

export interface OutputFrame extends ReceivedFrame {
  /** When the frame is due, on the engine's clock (ms). */
  timestamp: number;
}

/** What one `tick` produced. The engine reuses this object and its arrays: read it before the next tick. */
export interface TickResult {
  rtp: Buffer[];
  rtcp: Buffer[];
  frames: OutputFrame[];
}

/** Output frames produced at once after a stall; older ones are skipped. */
const MAX_OUTPUT_CATCH_UP = 10;

export class MediaEngine {
  readonly channels: 1 | 2;
  private readonly log: Logger;
  private readonly sender: AudioSender;
  private readonly receiver: AudioReceiver;
  private readonly reporter: RtcpReporter;
  private readonly feedback: TransportFeedbackRecorder | undefined;
  private remoteExt: RtpExtensionIds;
  /** Which received packets are the peer's audio, and its reception statistics. */
  private readonly remote: RemoteStream;
  private payloadType: number;
  private readonly outFrameMs: number;
  private readonly bitrate: number;
  private readonly lossFloor: number;
  private lossPercent: number;
  private started = false;
  private closed = false;
  private outStart = 0;
  private outIndex = 0;

  private outputSkipped = 0;
  private remoteBlock: ReportBlock | undefined;
  private rateAt = 0;
  private rateSentBytes = 0;
  private rateRecvBytes = 0;
  private sendBps = 0;
  private recvBps = 0;
  /** Reused on every tick and every received packet: the per-frame path allocates only what it hands out. */
  private readonly result: TickResult = { rtp: [], rtcp: [], frames: [] };
  private readonly header: RtpPacket = { payloadType: 0, marker: false, sequenceNumber: 0, timestamp: 0, ssrc: 0, csrcs: [], extensions: [], payload: new Uint8Array(0) };

  constructor(o: MediaEngineOptions) {
    if (!Number.isInteger(o.ssrc) || o.ssrc < 0 || o.ssrc > 0xffffffff) {
      throw new MediaError('MEDIA_BAD_SSRC', `ssrc ${o.ssrc} is not a uint32`);
    }
    if (!Number.isInteger(o.payloadType) || o.payloadType < 0 || o.payloadType > 127) {
      throw new MediaError('MEDIA_BAD_PAYLOAD_TYPE', `payload type ${o.payloadType} is outside 0…127`);
    }
    this.log = o.logger ?? silentLogger;
    this.channels = o.channels ?? 1;
    this.outFrameMs = 20;
    this.bitrate = o.bitrate ?? 32000;
    this.lossFloor = o.packetLossPercent ?? 10;
    this.lossPercent = this.lossFloor;
    const codec = o.codec ?? defaultOpusCodec();
    const encoder = codec.createEncoder({
      channels: 1,
      bitrate: this.bitrate,
      frameMs: o.frameMs ?? 20,
      fec: o.fec ?? true,
      packetLossPercent: this.lossPercent,
      dtx: o.dtx ?? false,
      complexity: o.complexity ?? 5,
      application: 'voip',
    });
    const decoder = codec.createDecoder(this.channels);
    const senderOptions: ConstructorParameters<typeof AudioSender>[0] = {
      ssrc: o.ssrc,
      payloadType: o.payloadType,
      encoder,
      frameMs: o.frameMs ?? 20,
      inputChannels: this.channels,
      dtx: o.dtx ?? false,
      muteMode: o.muteMode ?? 'silence',
      maxQueueMs: o.maxInputQueueMs ?? 1000,
    };
    if (o.extensionIds) senderOptions.extensionIds = o.extensionIds;
    if (o.maxLiveBacklogMs !== undefined) senderOptions.maxLiveBacklogMs = o.maxLiveBacklogMs;
    if (o.initialSequence !== undefined) senderOptions.initialSequence = o.initialSequence;
    if (o.initialTimestamp !== undefined) senderOptions.initialTimestamp = o.initialTimestamp;
    this.sender = new AudioSender(senderOptions);
    const jitter: JitterBufferOptions = {};
    if (o.jitter?.minDelayMs !== undefined) jitter.minDelayMs = o.jitter.minDelayMs;
    if (o.jitter?.maxDelayMs !== undefined) jitter.maxDelayMs = o.jitter.maxDelayMs;
    this.receiver = new AudioReceiver({ decoder, frameMs: this.outFrameMs, jitter, vad: o.vad ?? {}, fec: true });
    const reporterOptions: ConstructorParameters<typeof RtcpReporter>[0] = {
      ssrc: o.ssrc,
      cname: o.cname ?? randomBytes(12).toString('base64url'),
    };
    if (o.random) reporterOptions.random = o.random;
    this.reporter = new RtcpReporter(reporterOptions);
    this.feedback = o.transportFeedback === false ? undefined : new TransportFeedbackRecorder({ senderSsrc: o.ssrc });
    this.remoteExt = { ...o.remoteExtensionIds };
    this.remote = new RemoteStream(o.remoteOpusPayloadTypes ?? [o.payloadType], o.remoteSsrc, this.log);
    this.payloadType = o.payloadType;
  }

  start(nowMs: number): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.sender.start(nowMs);
    this.reporter.start(nowMs);
    this.outStart = nowMs;
    this.outIndex = 0;
    this.rateAt = nowMs;
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** Earliest time `tick` has work to do. */
  get nextDeadline(): number {
    if (!this.started || this.closed) return Infinity;
    return Math.min(
      this.sender.nextDeadline,
      this.outStart + this.outIndex * this.outFrameMs,
      this.reporter.nextDeadline,
      this.feedback?.nextDeadline ?? Infinity,
    );
  }

  tick(nowMs: number): TickResult {
    const result = this.result;
    result.rtcp.length = 0;
    result.frames.length = 0;
    if (!this.started || this.closed) {
      result.rtp.length = 0;
      return result;
    }
    result.rtp = this.sender.tick(nowMs);

    let produced = 0;
    while (this.outStart + this.outIndex * this.outFrameMs <= nowMs && produced < MAX_OUTPUT_CATCH_UP) {
      const due = this.outStart + this.outIndex * this.outFrameMs;
      this.outIndex += 1;
      produced += 1;
      const frame = this.receiver.pull(due) as OutputFrame; // a fresh object: stamp it in place
      frame.timestamp = due;
      result.frames.push(frame);
    }
    if (this.outStart + this.outIndex * this.outFrameMs <= nowMs) {
      const behind = Math.floor((nowMs - (this.outStart + this.outIndex * this.outFrameMs)) / this.outFrameMs) + 1;
      this.outIndex += behind;
      this.outputSkipped += behind;
    }

    if (this.feedback && nowMs >= this.feedback.nextDeadline) result.rtcp.push(...this.feedback.tick(nowMs));
    if (nowMs >= this.reporter.nextDeadline) {
      const report = this.reporter.tick(nowMs, this.senderInfo(nowMs), this.remote.report());
      if (report) result.rtcp.push(report);
    }
    this.updateRates(nowMs);
    return result;
  }

  /**
   * With a deferred encoder (a codec worker), called from the event loop when packets of frames
   * produced by an earlier `tick` are ready: get them with `collectEncoded`.
   */
  set onEncoded(listener: (() => void) | undefined) {
    this.sender.onEncoded = listener;
  }

  /** RTP packets of earlier ticks' frames that a deferred encoder has finished since, in order. */
  collectEncoded(nowMs: number): Buffer[] {
    if (!this.started || this.closed) return [];
    return this.sender.drain(nowMs);
  }

  /** Feeds one incoming RTP packet. Never throws: bad packets are counted. */
  handleRtp(buf: Uint8Array, nowMs: number): void {
    if (this.closed) return;
    if (isRtcpPacket(buf)) {
      this.handleRtcp(buf, nowMs); // a transport that did not demultiplex (RFC 5761)
      return;
    }
    const p = this.header;
    if (readRtpHeader(buf, p) !== undefined) {
      this.remote.countInvalid();
      return;
    }
    const twccId = this.remoteExt.transportWideCc;
    if (this.feedback && twccId !== undefined) {
      // Transport-wide: every packet of the peer counts, whatever its payload type.
      const seq = readRtpExtensionU16(buf, twccId);
      if (seq !== undefined) this.feedback.onPacket(seq, p.ssrc, nowMs);
    }
    // Padding-only probes, other payload types and other sources are counted there, not played.
    if (!this.remote.accept(buf, p, nowMs)) return;
    this.receiver.push(p, nowMs); // copies what it keeps: `p` is the engine's reused header
  }

  /** Feeds one incoming RTCP (compound) packet. Never throws. */
  handleRtcp(buf: Uint8Array, nowMs: number): void {
    if (this.closed) return;
    const r = this.reporter.handle(buf, nowMs);
    for (const rep of r.reports) {
      this.remoteBlock = rep.block;
      // Tune FEC to the loss the peer sees (never below the configured floor).
      const seen = Math.ceil((rep.block.fractionLost * 100) / 256);
      const wanted = Math.min(50, Math.max(this.lossFloor, seen));
      if (wanted !== this.lossPercent) {
        this.lossPercent = wanted;
        this.sender.setPacketLossPercent(wanted);
      }
    }
  }

  /**
   * Applies negotiated RTP parameters: what the peer accepted from our offer (payload type,
   * extension ids) and which of its payload types carry Opus (from its offer).
   */
  configureRtp(params: {
    payloadType?: number;
    extensionIds?: RtpExtensionIds;
    remoteOpusPayloadTypes?: readonly number[];
    remoteExtensionIds?: RtpExtensionIds;
  }): void {
    if (params.remoteExtensionIds) this.remoteExt = { ...params.remoteExtensionIds };
    if (params.payloadType !== undefined || params.extensionIds !== undefined) {
      const pt = params.payloadType ?? this.payloadType;
      if (!Number.isInteger(pt) || pt < 0 || pt > 127) {
        throw new MediaError('MEDIA_BAD_PAYLOAD_TYPE', `payload type ${pt} is outside 0…127`);
      }
      this.payloadType = pt;
      this.sender.setRtpParams(pt, params.extensionIds ?? {});
    }
    if (params.remoteOpusPayloadTypes && params.remoteOpusPayloadTypes.length > 0) {
      this.remote.setPayloadTypes(params.remoteOpusPayloadTypes);
    }
  }

  /** Switches to another remote source (from the peer's offer); resets reception. */
  setRemoteSsrc(ssrc: number): void {
    if (this.remote.setSsrc(ssrc)) this.receiver.reset();
  }

  /** Queues PCM (s16, interleaved in `channels`) as live or paced input. Returns samples dropped to stay bounded. */
  write(pcm: Int16Array, mode: InputMode = 'paced'): number {
    if (this.closed) return 0;
    return this.sender.write(pcm, mode);
  }

  /** The input source ended: send the last partial frame padded. */
  flushInput(): void {
    this.sender.flush();
  }

  get queuedInputMs(): number {
    return this.sender.queuedMs;
  }

  mute(): void {
    this.sender.mute();
  }

  unmute(): void {
    this.sender.unmute();
  }

  get muted(): boolean {
    return this.sender.muted;
  }

  getStats(): MediaStats {
    const rb = this.remoteBlock;
    return {
      sent: sendStats(this.sender.getStats(), {
        queuedMs: this.sender.queuedMs,
        bitrateBps: this.sendBps,
        targetBitrateBps: this.bitrate,
        packetLossPercent: this.lossPercent,
      }),
      received: receiveStats(this.receiver.getStats(), this.receiver.getJitterStats(), {
        ...this.remote.stats(),
        decodedQueuedMs: this.receiver.queuedMs,
        bitrateBps: this.recvBps,
      }),
      rtcp: {
        sent: this.reporter.sent,
        received: this.reporter.received,
        invalid: this.reporter.invalid,
        transportFeedbackSent: this.feedback?.sent ?? 0,
        rttMs: this.reporter.rttMs,
        remoteFractionLost: rb ? rb.fractionLost / 256 : undefined,
        remoteCumulativeLost: rb?.cumulativeLost,
        remoteJitterMs: rb ? rb.jitter / 48 : undefined,
      },
      outputDroppedFrames: 0,
    };
  }

  /** Final RTCP (report + BYE) to send before closing, if started. */
  goodbye(nowMs: number): Buffer | undefined {
    if (!this.started || this.closed) return undefined;
    return this.reporter.goodbye(nowMs, this.senderInfo(nowMs), this.remote.report());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sender.close();
    this.receiver.close();
  }

  private senderInfo(nowMs: number): { packetCount: number; octetCount: number; rtpTimestamp: number } {
    const s = this.sender.getStats();
    return { packetCount: s.packets, octetCount: s.payloadBytes, rtpTimestamp: this.sender.rtpTimestampAt(nowMs) };
  }

  private updateRates(nowMs: number): void {
    const dt = nowMs - this.rateAt;
    if (dt < 1000) return;
    const sent = this.sender.getStats().bytes;
    this.sendBps = ((sent - this.rateSentBytes) * 8 * 1000) / dt;
    const received = this.remote.bytes;
    this.recvBps = ((received - this.rateRecvBytes) * 8 * 1000) / dt;
    this.rateSentBytes = sent;
    this.rateRecvBytes = received;
    this.rateAt = nowMs;
  }
}
