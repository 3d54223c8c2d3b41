/**
 * The Opus codec behind a small interface, so the binding can be swapped.
 *
 * Choice (measured on Node 20 linux-x64, 20 ms mono frames, 32 kbit/s, complexity 5, speech-like
 * signal; `npx tsx bench/media.ts`):
 * - Decoder: libopus compiled to WebAssembly as shipped inside `@evan/opus` (its `wasm/*.wasm`),
 *   driven through the raw C API (`opus_decode(st, data, len, pcm, frame_size, decode_fec)`), which
 *   is the only way any npm binding exposes both in-band FEC decoding and packet-loss concealment
 *   of a chosen length. `@discordjs/opus` 0.10.0 hard-wires `decode_fec = 0` and conceals 120 ms at
 *   a time; `@evan/opus`' own `decode` takes a buffer only (its native addon rejects an empty
 *   buffer: no PLC at all); `opusscript` 0.1.1 decodes into a 60 ms buffer — a 120 ms packet (what
 *   ntgcalls sends at start-up) comes back as 2880 samples — and its PLC is fixed at 60 ms, no FEC.
 *   Cost ≈ 1.8 ms CPU per call-second (PLC 1.9, FEC 1.6), once V8 has tiered the wasm up.
 * - Encoder: `@evan/opus`' prebuilt native addon (no compiler, no install script) when it loads,
 *   ≈ 8.3 ms per call-second (`@discordjs/opus`: 7.6), else the same WebAssembly libopus (≈ 11).
 */
import { createRequire } from 'node:module';
import { MediaError, toError } from '../errors.js';
import { loadLibopusWasm, type LibopusWasm } from './libopus-wasm.js';

export type OpusApplication = 'voip' | 'audio';

export interface OpusEncoderOptions {
  /** PCM channels handed to `encode`. */
  channels: 1 | 2;
  bitrate: number;
  /** Frame duration in ms (10, 20, 40, 60, 80, 100 or 120). `encode` takes exactly that many samples. */
  frameMs: number;
  fec: boolean;
  packetLossPercent: number;
  dtx: boolean;
  complexity: number;
  application?: OpusApplication;
}

export interface OpusEncoder {
  readonly channels: 1 | 2;
  /** Encodes one frame (interleaved s16, 48 kHz) and returns a fresh packet buffer. */
  encode(pcm: Int16Array): Uint8Array;
  setBitrate(bps: number): void;
  setPacketLossPercent(percent: number): void;
  /** Any libopus encoder CTL (request codes below): what codec workers use for every setting. */
  ctl?(request: number, value: number): void;
  close(): void;
}

/**
 * An encoder that encodes elsewhere (a codec worker, `CodecWorkerPool`): frames go in with
 * `submit`, their packets come back from `take` in the same order, later. `encode` is not
 * available on it.
 */
export interface DeferredOpusEncoder extends OpusEncoder {
  submit(pcm: Int16Array): void;
  /** The next packet in submission order; null: that frame could not be encoded (dropped); undefined: not ready yet. */
  take(): Uint8Array | null | undefined;
  /** Set by the owner: called from the event loop when `take` has something new. */
  onReady: (() => void) | undefined;
}

export function isDeferredEncoder(encoder: OpusEncoder): encoder is DeferredOpusEncoder {
  return typeof (encoder as Partial<DeferredOpusEncoder>).submit === 'function';
}

export interface OpusDecoder {
  readonly channels: 1 | 2;
  /** Decodes a packet into interleaved s16 at 48 kHz. Throws `MediaError` on a corrupt packet. */
  decode(packet: Uint8Array): Int16Array;
  /**
   * Fills a gap of `samples` (per channel, multiple of 120) that ends right before `next`: libopus
   * conceals the beginning and rebuilds the last frame from `next`'s in-band FEC data when present.
   */
  decodeFec(next: Uint8Array, samples: number): Int16Array;
  /** Packet-loss concealment for `samples` per channel (multiple of 120, at most 5760). */
  conceal(samples: number): Int16Array;
  close(): void;
}

export interface OpusCodec {
  /** Which implementation this is, for logs and the benchmark. */
  readonly name: string;
  createEncoder(options: OpusEncoderOptions): OpusEncoder;
  createDecoder(channels: 1 | 2): OpusDecoder;
}

// libopus CTL request codes (opus_defines.h).
export const OPUS_SET_BITRATE = 4002;
export const OPUS_SET_COMPLEXITY = 4010;
export const OPUS_SET_INBAND_FEC = 4012;
export const OPUS_SET_PACKET_LOSS_PERC = 4014;
export const OPUS_SET_DTX = 4016;
export const OPUS_SET_SIGNAL = 4024;
export const OPUS_SIGNAL_VOICE = 3001;
export const OPUS_APPLICATION_VOIP = 2048;
export const OPUS_APPLICATION_AUDIO = 2049;

/** Checks encoder options at the API boundary. */
export function validateEncoderOptions(o: OpusEncoderOptions): void {
  if (![10, 20, 40, 60, 80, 100, 120].includes(o.frameMs)) {
    throw new MediaError('OPUS_BAD_FRAME_SIZE', `frame duration ${o.frameMs} ms is not 10, 20, 40, 60, 80, 100 or 120`);
  }
  if (!Number.isInteger(o.bitrate) || o.bitrate < 6000 || o.bitrate > 510000) {
    throw new MediaError('OPUS_BAD_BITRATE', `bitrate ${o.bitrate} is outside 6000…510000`);
  }
  if (!Number.isInteger(o.complexity) || o.complexity < 0 || o.complexity > 10) {
    throw new MediaError('OPUS_BAD_COMPLEXITY', `complexity ${o.complexity} is outside 0…10`);
  }
}

export function clampLossPercent(percent: number): number {
  return Math.max(0, Math.min(100, Math.round(percent)));
}

/**
 * The settings every backend applies to a new encoder, through its own `ctl`: bit rate,
 * complexity, in-band FEC and the loss it is tuned for, DTX, and the voice signal hint.
 */
export function applyEncoderSettings(ctl: (request: number, value: number) => void, o: OpusEncoderOptions): void {
  ctl(OPUS_SET_BITRATE, o.bitrate);
  ctl(OPUS_SET_COMPLEXITY, o.complexity);
  ctl(OPUS_SET_INBAND_FEC, o.fec ? 1 : 0);
  ctl(OPUS_SET_PACKET_LOSS_PERC, clampLossPercent(o.packetLossPercent));
  ctl(OPUS_SET_DTX, o.dtx ? 1 : 0);
  ctl(OPUS_SET_SIGNAL, OPUS_SIGNAL_VOICE);
}

/** Minimal shape of `@evan/opus/node` (the prebuilt addon), typed here because its typings cover the wrapper. */
interface EvanNativeEncoder {
  ctl(cmd: number, value?: number): number;
  encode(pcm: ArrayBufferView): Uint8Array;
}
interface EvanNativeModule {
  Encoder: new (o: { channels: number; sample_rate: number; application: string }) => EvanNativeEncoder;
}

let nativeModule: EvanNativeModule | null | undefined;

function loadNative(): EvanNativeModule | null {
  if (nativeModule !== undefined) return nativeModule;
  try {
    const require = createRequire(import.meta.url);
    nativeModule = require('@evan/opus/node/index.js') as EvanNativeModule;
  } catch {
    nativeModule = null; // no prebuilt addon for this platform: the wasm encoder is used
  }
  return nativeModule;
}

class NativeOpusEncoder implements OpusEncoder {
  readonly channels: 1 | 2;
  private enc: EvanNativeEncoder | null;
  private readonly frameSamples: number;

  constructor(mod: EvanNativeModule, o: OpusEncoderOptions) {
    this.channels = o.channels;
    this.frameSamples = (48 * o.frameMs) * o.channels;
    this.enc = new mod.Encoder({ channels: o.channels, sample_rate: 48000, application: o.application ?? 'voip' });
    const enc = this.enc;
    applyEncoderSettings((request, value) => enc.ctl(request, value), o);
  }

  encode(pcm: Int16Array): Uint8Array {
    if (!this.enc) throw new MediaError('OPUS_CLOSED', 'encoder is closed');
    if (pcm.length !== this.frameSamples) {
      throw new MediaError('OPUS_BAD_FRAME_SIZE', `expected ${this.frameSamples} samples, got ${pcm.length}`);
    }
    try {
      return this.enc.encode(pcm); // the addon returns a copy of its shared output buffer
    } catch (err) {
      throw new MediaError('OPUS_ENCODE', `opus encode failed: ${toError(err).message}`, { cause: err });
    }
  }

  setBitrate(bps: number): void {
    this.enc?.ctl(OPUS_SET_BITRATE, bps);
  }

  setPacketLossPercent(percent: number): void {
    this.enc?.ctl(OPUS_SET_PACKET_LOSS_PERC, clampLossPercent(percent));
  }

  ctl(request: number, value: number): void {
    this.enc?.ctl(request, value);
  }

  close(): void {
    this.enc = null; // the addon frees its state when the object is collected
  }
}

export interface DefaultOpusCodecOptions {
  /** Force the WebAssembly encoder even when the native addon loads (tests, other platforms). */
  wasmEncoder?: boolean;
}

/**
 * Loads what `defaultOpusCodec()` needs (the native encoder addon, the libopus WebAssembly module)
 * ahead of the first call; both are loaded once per process. Throws `OPUS_UNAVAILABLE` like the
 * first codec use would.
 */
export function preloadOpus(): void {
  loadNative();
  loadLibopusWasm();
}

/** The codec the library uses unless one is injected. */
export function defaultOpusCodec(options: DefaultOpusCodecOptions = {}): OpusCodec {
  let wasm: LibopusWasm | undefined;
  const getWasm = (): LibopusWasm => (wasm ??= loadLibopusWasm());
  const native = options.wasmEncoder ? null : loadNative();
  return {
    name: native ? 'libopus (native encoder, wasm decoder)' : 'libopus (wasm)',
    createEncoder(o) {
      validateEncoderOptions(o);
      return native ? new NativeOpusEncoder(native, o) : getWasm().createEncoder(o);
    },
    createDecoder(channels) {
      return getWasm().createDecoder(channels);
    },
  };
}
