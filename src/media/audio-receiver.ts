/**
 * The receive half of the media layer, sans-I/O: Opus RTP packets go in with `push(packet, now)`,
 * `pull(now)` returns exactly one output frame (20 ms by default) of continuous PCM — decoded
 * audio, concealment (libopus PLC, or the next packet's in-band FEC) for missing packets, or
 * silence before the stream starts and while the peer sends nothing.
 */
import type { OpusDecoder } from './opus-codec.js';
import { opusPacketInfo, OPUS_MAX_PACKET_SAMPLES } from './opus-packet.js';
import { JitterBuffer, type JitterBufferOptions, type JitterBufferStats, type PushResult } from './jitter-buffer.js';
import { accelerate } from './time-stretch.js';
import { VoiceActivityDetector, type VadOptions } from './vad.js';
import type { RtpPacket } from './rtp.js';

export interface AudioReceiverOptions {
  decoder: OpusDecoder;
  /** Output frame duration, ms. Default 20. */
  frameMs?: number;
  jitter?: JitterBufferOptions;
  vad?: VadOptions;
  /** Use the next packet's in-band FEC for a lost one. Default true. */
  fec?: boolean;
  /**
   * Longest stretch of libopus PLC in a row; beyond it the output is plain silence (the PLC has
   * faded out by then anyway, and this keeps outages cheap). Default 200 ms.
   */
  maxPlcMs?: number;
}

export interface ReceivedFrame {
  /** Interleaved s16, `channels` of the decoder, 48 kHz. */
  pcm: Int16Array;
  voice: boolean;
  /** Some of the frame was concealed (PLC, FEC, or silence for a gap). */
  concealed: boolean;
  /** RTP timestamp of the first sample when it came from a decoded packet. */
  rtpTimestamp?: number;
}

export type ReceiveResult = PushResult | 'invalid';

export interface AudioReceiverStats {
  decodedPackets: number;
  decodeErrors: number;
  /** Packets whose payload is not a valid Opus packet. */
  invalidPayloads: number;
  /** Output frames that contained concealment. */
  concealedFrames: number;
  plcMs: number;
  fecMs: number;
  /** Silence inserted for a gap after the PLC budget ran out. */
  gapSilenceMs: number;
  /** Audio decoded and dropped to shrink the delay. */
  discardedMs: number;
  /** Audio removed by time compression to shrink the delay. */
  acceleratedMs: number;
  framesOut: number;
}

interface Chunk {
  data: Int16Array;
  offset: number;
  concealed: boolean;
  rtpTimestamp: number | undefined;
}

/**
 * At most this share of the audio is removed by time compression: a 60 ms excess drains in about
 * 240 ms of speech played a quarter faster at the same pitch, and never more than 15 ms per splice.
 */
const ACCELERATE_RATE = 0.25;
const ACCELERATE_MAX_CREDIT = 720;

export class AudioReceiver {
  private readonly decoder: OpusDecoder;
  readonly channels: 1 | 2;
  readonly frameSamples: number;
  private readonly jb: JitterBuffer;
  private readonly vad: VoiceActivityDetector;
  private readonly fec: boolean;
  private readonly maxPlc: number;
  private fifo: Chunk[] = [];
  private fifoSamples = 0; // per channel
  private plcRun = 0;
  private lastVoice = false;
  private readonly s: AudioReceiverStats = {
    decodedPackets: 0,
    decodeErrors: 0,
    invalidPayloads: 0,
    concealedFrames: 0,
    plcMs: 0,
    fecMs: 0,
    gapSilenceMs: 0,
    discardedMs: 0,
    acceleratedMs: 0,
    framesOut: 0,
  };
  /** Samples time compression may still remove: earned at ACCELERATE_RATE of the audio played. */
  private accelerateCredit = 0;

  constructor(o: AudioReceiverOptions) {
    this.decoder = o.decoder;
    this.channels = o.decoder.channels;
    const frameMs = o.frameMs ?? 20;
    this.frameSamples = 48 * frameMs;
    this.jb = new JitterBuffer({ chunkSamples: this.frameSamples, ...o.jitter, clockRate: 48000 });
    this.vad = new VoiceActivityDetector({ frameMs, ...o.vad });
    this.fec = o.fec ?? true;
    this.maxPlc = 48 * (o.maxPlcMs ?? 200);
  }

  /** Buffers an RTP packet (already filtered by payload type and SSRC). */
  push(packet: RtpPacket, arrivalMs: number): ReceiveResult {
    const info = opusPacketInfo(packet.payload);
    if (!info) {
      this.s.invalidPayloads += 1;
      return 'invalid';
    }
    return this.jb.push(
      {
        sequenceNumber: packet.sequenceNumber,
        timestamp: packet.timestamp,
        samples: info.samples,
        payload: packet.payload,
        marker: packet.marker,
      },
      arrivalMs,
    );
  }

  /** The next output frame, due at `nowMs`. */
  pull(nowMs: number): ReceivedFrame {
    // Bounded: each pass adds audio, and every jitter-buffer item either adds samples or ends the loop.
    for (let guard = 0; this.fifoSamples < this.frameSamples && guard < 64; guard += 1) {
      const item = this.jb.pop(nowMs, { queuedSamples: this.fifoSamples, quiet: !this.lastVoice });
      if (item.kind === 'wait') {
        this.append(new Int16Array((this.frameSamples - this.fifoSamples) * this.channels), false, undefined);
        this.plcRun = 0;
        break;
      }
      if (item.kind === 'packet') {
        this.decodePacket(item.packet.payload, item.packet.samples, item.packet.timestamp, item.discard, item.shrink);
      } else if (item.kind === 'lost') {
        this.fillGap(item.samples, item.next.payload);
      } else {
        this.conceal(item.samples); // 'empty' or 'grow'
      }
    }
    return this.takeFrame();
  }

  getJitterStats(): JitterBufferStats {
    return this.jb.getStats();
  }

  getStats(): AudioReceiverStats {
    return { ...this.s };
  }

  /** Queued decoded audio not yet output, ms. */
  get queuedMs(): number {
    return this.fifoSamples / 48;
  }

  /** Drops everything buffered (the remote source changed). */
  reset(): void {
    this.jb.reset();
    this.fifo = [];
    this.fifoSamples = 0;
    this.plcRun = 0;
    this.vad.reset();
  }

  close(): void {
    this.fifo = [];
    this.fifoSamples = 0;
    this.decoder.close();
  }

  private decodePacket(payload: Uint8Array, samples: number, rtpTimestamp: number, discard: boolean, shrink: number): void {
    let pcm: Int16Array;
    try {
      pcm = this.decoder.decode(payload);
    } catch {
      this.s.decodeErrors += 1;
      if (!discard) this.conceal(samples);
      return;
    }
    this.s.decodedPackets += 1;
    this.plcRun = 0;
    if (discard) {
      this.s.discardedMs += pcm.length / this.channels / 48;
      return;
    }
    const budget = Math.min(shrink, this.accelerateCredit);
    if (budget > 0) {
      const r = accelerate(pcm, this.channels, budget);
      if (r.removed > 0) {
        pcm = r.pcm;
        this.accelerateCredit -= r.removed;
        this.s.acceleratedMs += r.removed / 48;
      }
    }
    this.append(pcm, false, rtpTimestamp);
  }

  /** A gap of `samples` right before `next`: PLC for the start, FEC from `next` for the end. */
  private fillGap(samples: number, next: Uint8Array): void {
    let rest = Math.round(samples / 120) * 120; // libopus works in 2.5 ms steps
    while (rest > OPUS_MAX_PACKET_SAMPLES) {
      this.conceal(OPUS_MAX_PACKET_SAMPLES);
      rest -= OPUS_MAX_PACKET_SAMPLES;
    }
    if (rest <= 0) return;
    const info = opusPacketInfo(next);
    // CELT-only packets carry no FEC (RFC 6716 §2.1.7: LBRR is a SILK feature).
    if (!this.fec || !info || info.mode === 'celt' || this.plcRun >= this.maxPlc) {
      this.conceal(rest);
      return;
    }
    try {
      const pcm = this.decoder.decodeFec(next, rest);
      this.s.fecMs += Math.min(rest, info.samplesPerFrame) / 48;
      this.s.plcMs += Math.max(0, rest - info.samplesPerFrame) / 48;
      this.plcRun += rest;
      this.append(pcm, true, undefined);
    } catch {
      this.s.decodeErrors += 1;
      this.conceal(rest);
    }
  }

  private conceal(samples: number): void {
    let rest = Math.max(120, Math.round(samples / 120) * 120);
    while (rest > 0) {
      const n = Math.min(rest, OPUS_MAX_PACKET_SAMPLES);
      rest -= n;
      if (this.plcRun >= this.maxPlc) {
        this.s.gapSilenceMs += n / 48;
        this.append(new Int16Array(n * this.channels), true, undefined);
        continue;
      }
      let pcm: Int16Array;
      try {
        pcm = this.decoder.conceal(n);
      } catch {
        this.s.decodeErrors += 1;
        pcm = new Int16Array(n * this.channels);
      }
      this.plcRun += n;
      this.s.plcMs += n / 48;
      this.append(pcm, true, undefined);
    }
  }

  private append(data: Int16Array, concealed: boolean, rtpTimestamp: number | undefined): void {
    if (data.length === 0) return;
    this.fifo.push({ data, offset: 0, concealed, rtpTimestamp });
    this.fifoSamples += data.length / this.channels;
  }

  private takeFrame(): ReceivedFrame {
    const ch = this.channels;
    const need = this.frameSamples * ch;
    let pcm: Int16Array;
    let filled = 0;
    let concealed = false;
    let rtpTimestamp: number | undefined;
    let first = true;
    const head = this.fifo[0];
    if (head && head.offset === 0 && head.data.length === need) {
      // The usual case, one decoded packet per frame: hand out the decoder's fresh array as is.
      this.fifo.shift();
      pcm = head.data;
      filled = need;
      concealed = head.concealed;
      rtpTimestamp = head.rtpTimestamp;
    } else {
      pcm = new Int16Array(need);
    }
    while (filled < need && this.fifo.length > 0) {
      const c = this.fifo[0]!;
      const n = Math.min(need - filled, c.data.length - c.offset);
      if (first && c.rtpTimestamp !== undefined) rtpTimestamp = (c.rtpTimestamp + c.offset / ch) >>> 0;
      first = false;
      pcm.set(c.data.subarray(c.offset, c.offset + n), filled);
      if (c.concealed) concealed = true;
      filled += n;
      c.offset += n;
      if (c.offset === c.data.length) this.fifo.shift();
    }
    this.fifoSamples -= filled / ch;
    this.accelerateCredit = Math.min(ACCELERATE_MAX_CREDIT, this.accelerateCredit + ACCELERATE_RATE * this.frameSamples);
    const voice = this.vad.process(pcm);
    this.lastVoice = voice;
    if (concealed) this.s.concealedFrames += 1;
    this.s.framesOut += 1;
    const frame: ReceivedFrame = { pcm, voice, concealed };
    if (rtpTimestamp !== undefined) frame.rtpTimestamp = rtpTimestamp;
    return frame;
  }
}
