/**
 * libopus as WebAssembly, driven through its C API. The module is the one `@evan/opus` ships
 * (`wasm/simd.wasm`, `wasm/opus.wasm`; exports `opus_decode`, `opus_encode`, `opus_*_ctl_get/set`,
 * `malloc`, `free`). We call `opus_decode` ourselves because that is what exposes in-band FEC
 * (`decode_fec = 1`) and concealment of an exact length (`data = NULL`, `frame_size = n`).
 * The package is pinned to an exact version: these exports are its ABI, not its public API.
 *
 * One instance per process serves every encoder and decoder (each owns a few tens of kB of wasm
 * heap); the scratch buffers are shared because every call is synchronous.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { MediaError, type MediaErrorCode } from '../errors.js';
import {
  OPUS_APPLICATION_AUDIO,
  OPUS_APPLICATION_VOIP,
  OPUS_SET_BITRATE,
  OPUS_SET_PACKET_LOSS_PERC,
  applyEncoderSettings,
  clampLossPercent,
  type OpusDecoder,
  type OpusEncoder,
  type OpusEncoderOptions,
} from './opus-codec.js';
import { OPUS_MAX_PACKET_SAMPLES } from './opus-packet.js';

/** The part of the WebAssembly JS API we use (the project's `lib` has no DOM/WebAssembly typings). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: object };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface LibopusExports {
  memory: { buffer: ArrayBuffer };
  malloc(size: number): number;
  free(ptr: number): void;
  opus_strerror(code: number): number;
  opus_decoder_get_size(channels: number): number;
  opus_decoder_init(st: number, rate: number, channels: number): number;
  opus_decode(st: number, data: number, len: number, pcm: number, frameSize: number, decodeFec: number): number;
  opus_decoder_ctl_set(st: number, request: number, value: number): number;
  opus_encoder_get_size(channels: number): number;
  opus_encoder_init(st: number, rate: number, channels: number, application: number): number;
  opus_encode(st: number, pcm: number, frameSize: number, data: number, maxBytes: number): number;
  opus_encoder_ctl_set(st: number, request: number, value: number): number;
  _initialize?: () => void;
}

const REQUIRED_EXPORTS = [
  'memory', 'malloc', 'free', 'opus_strerror', 'opus_decoder_get_size', 'opus_decoder_init', 'opus_decode',
  'opus_decoder_ctl_set', 'opus_encoder_get_size', 'opus_encoder_init', 'opus_encode', 'opus_encoder_ctl_set',
] as const;

/** Largest packet we hand to the decoder or accept from the encoder (well above any RTP payload). */
const MAX_PACKET_BYTES = 8192;

/** The libopus calls whose negative result `check` turns into a typed error, and its code. */
const OPUS_CALL_ERRORS = {
  decode: 'OPUS_DECODE',
  encode: 'OPUS_ENCODE',
  decoder_init: 'OPUS_DECODER_INIT',
  encoder_init: 'OPUS_ENCODER_INIT',
  encoder_ctl: 'OPUS_ENCODER_CTL',
} as const satisfies Record<string, MediaErrorCode>;
type OpusCall = keyof typeof OPUS_CALL_ERRORS;

export interface LibopusWasm {
  readonly flavour: 'simd' | 'baseline';
  createDecoder(channels: 1 | 2): OpusDecoder;
  createEncoder(options: OpusEncoderOptions): OpusEncoder;
}

let shared: LibopusWasm | undefined;

/** Loads (once per process) and returns the libopus WebAssembly instance. */
export function loadLibopusWasm(): LibopusWasm {
  shared ??= instantiate();
  return shared;
}

function instantiate(): LibopusWasm {
  const require = createRequire(import.meta.url);
  let lastError: unknown;
  for (const flavour of ['simd', 'baseline'] as const) {
    try {
      const file = require.resolve(`@evan/opus/wasm/${flavour === 'simd' ? 'simd' : 'opus'}.wasm`);
      const module = new Wasm.Module(readFileSync(file));
      return new LibopusInstance(module, flavour);
    } catch (err) {
      lastError = err; // e.g. no SIMD support: try the baseline build
    }
  }
  throw new MediaError('OPUS_UNAVAILABLE', 'cannot load libopus WebAssembly from @evan/opus', { cause: lastError });
}

class LibopusInstance implements LibopusWasm {
  private readonly x: LibopusExports;
  private heap16!: Int16Array;
  private heap8!: Uint8Array;
  private readonly pcmPtr: number;
  private readonly packetPtr: number;

  constructor(module: object, readonly flavour: 'simd' | 'baseline') {
    const instance = new Wasm.Instance(module, {
      // The C library never writes files; these stubs satisfy the imports of its libc.
      wasi_snapshot_preview1: {
        fd_seek: () => 0,
        fd_write: () => 0,
        fd_close: () => 0,
        proc_exit: (code: number) => {
          throw new MediaError('OPUS_ABORT', `libopus exited with ${code}`);
        },
      },
      env: { emscripten_notify_memory_growth: () => this.refreshViews() },
    });
    const x = instance.exports as unknown as LibopusExports;
    for (const name of REQUIRED_EXPORTS) {
      if (!(name in x)) throw new MediaError('OPUS_UNAVAILABLE', `libopus wasm lacks export ${name}`);
    }
    this.x = x;
    x._initialize?.();
    this.refreshViews();
    this.pcmPtr = this.alloc(OPUS_MAX_PACKET_SAMPLES * 2 * 2);
    this.packetPtr = this.alloc(MAX_PACKET_BYTES);
  }

  private refreshViews(): void {
    const buf = this.x.memory.buffer;
    this.heap16 = new Int16Array(buf);
    this.heap8 = new Uint8Array(buf);
  }

  private views(): void {
    if (this.heap8.buffer !== this.x.memory.buffer) this.refreshViews();
  }

  alloc(size: number): number {
    const ptr = this.x.malloc(size);
    if (ptr === 0) throw new MediaError('OPUS_NO_MEMORY', 'libopus wasm heap exhausted');
    this.views();
    return ptr;
  }

  free(ptr: number): void {
    this.x.free(ptr);
  }

  check(code: number, what: OpusCall): number {
    if (code >= 0) return code;
    throw new MediaError(OPUS_CALL_ERRORS[what], `opus ${what} failed: ${this.errorText(code)} (${code})`);
  }

  private errorText(code: number): string {
    this.views();
    const ptr = this.x.opus_strerror(code);
    let s = '';
    for (let i = ptr; i < ptr + 64 && this.heap8[i] !== 0; i += 1) s += String.fromCharCode(this.heap8[i]!);
    return s;
  }

  /** Copies `packet` into the shared packet buffer. */
  putPacket(packet: Uint8Array): number {
    if (packet.length > MAX_PACKET_BYTES) throw new MediaError('OPUS_PACKET_TOO_LARGE', `packet of ${packet.length} bytes`);
    this.views();
    this.heap8.set(packet, this.packetPtr);
    return this.packetPtr;
  }

  decodeInto(st: number, data: number, len: number, frameSize: number, fec: 0 | 1, channels: number): Int16Array {
    const n = this.check(this.x.opus_decode(st, data, len, this.pcmPtr, frameSize, fec), 'decode');
    this.views();
    const start = this.pcmPtr >> 1;
    return this.heap16.slice(start, start + n * channels);
  }

  encodeFrom(st: number, pcm: Int16Array, frameSize: number): Uint8Array {
    this.views();
    this.heap16.set(pcm, this.pcmPtr >> 1);
    const n = this.check(this.x.opus_encode(st, this.pcmPtr, frameSize, this.packetPtr, MAX_PACKET_BYTES), 'encode');
    this.views();
    return this.heap8.slice(this.packetPtr, this.packetPtr + n);
  }

  createDecoder(channels: 1 | 2): OpusDecoder {
    return new WasmOpusDecoder(this, this.x, channels);
  }

  createEncoder(options: OpusEncoderOptions): OpusEncoder {
    return new WasmOpusEncoder(this, this.x, options);
  }
}

function checkConcealSize(samples: number): void {
  if (!Number.isInteger(samples) || samples <= 0 || samples % 120 !== 0 || samples > OPUS_MAX_PACKET_SAMPLES) {
    throw new MediaError('OPUS_BAD_FRAME_SIZE', `cannot conceal ${samples} samples (multiple of 120 up to 5760)`);
  }
}

class WasmOpusDecoder implements OpusDecoder {
  private st: number;

  constructor(private readonly lib: LibopusInstance, private readonly x: LibopusExports, readonly channels: 1 | 2) {
    this.st = lib.alloc(x.opus_decoder_get_size(channels));
    try {
      lib.check(x.opus_decoder_init(this.st, 48000, channels), 'decoder_init');
    } catch (err) {
      lib.free(this.st);
      throw err;
    }
  }

  private state(): number {
    if (this.st === 0) throw new MediaError('OPUS_CLOSED', 'decoder is closed');
    return this.st;
  }

  decode(packet: Uint8Array): Int16Array {
    const st = this.state();
    if (packet.length === 0) throw new MediaError('OPUS_DECODE', 'empty opus packet');
    const ptr = this.lib.putPacket(packet);
    return this.lib.decodeInto(st, ptr, packet.length, OPUS_MAX_PACKET_SAMPLES, 0, this.channels);
  }

  decodeFec(next: Uint8Array, samples: number): Int16Array {
    const st = this.state();
    checkConcealSize(samples);
    if (next.length === 0) return this.conceal(samples);
    const ptr = this.lib.putPacket(next);
    return this.lib.decodeInto(st, ptr, next.length, samples, 1, this.channels);
  }

  conceal(samples: number): Int16Array {
    const st = this.state();
    checkConcealSize(samples);
    return this.lib.decodeInto(st, 0, 0, samples, 0, this.channels);
  }

  close(): void {
    if (this.st !== 0) {
      this.lib.free(this.st);
      this.st = 0;
    }
  }
}

class WasmOpusEncoder implements OpusEncoder {
  readonly channels: 1 | 2;
  private st: number;
  private readonly frameSize: number;

  constructor(private readonly lib: LibopusInstance, private readonly x: LibopusExports, o: OpusEncoderOptions) {
    this.channels = o.channels;
    this.frameSize = 48 * o.frameMs;
    this.st = lib.alloc(x.opus_encoder_get_size(o.channels));
    try {
      const app = o.application === 'audio' ? OPUS_APPLICATION_AUDIO : OPUS_APPLICATION_VOIP;
      lib.check(x.opus_encoder_init(this.st, 48000, o.channels, app), 'encoder_init');
      applyEncoderSettings((request, value) => this.ctl(request, value), o);
    } catch (err) {
      lib.free(this.st);
      throw err;
    }
  }

  ctl(request: number, value: number): void {
    if (this.st === 0) return;
    this.lib.check(this.x.opus_encoder_ctl_set(this.st, request, value), 'encoder_ctl');
  }

  encode(pcm: Int16Array): Uint8Array {
    if (this.st === 0) throw new MediaError('OPUS_CLOSED', 'encoder is closed');
    if (pcm.length !== this.frameSize * this.channels) {
      throw new MediaError('OPUS_BAD_FRAME_SIZE', `expected ${this.frameSize * this.channels} samples, got ${pcm.length}`);
    }
    return this.lib.encodeFrom(this.st, pcm, this.frameSize);
  }

  setBitrate(bps: number): void {
    this.ctl(OPUS_SET_BITRATE, bps);
  }

  setPacketLossPercent(percent: number): void {
    this.ctl(OPUS_SET_PACKET_LOSS_PERC, clampLossPercent(percent));
  }

  close(): void {
    if (this.st !== 0) {
      this.lib.free(this.st);
      this.st = 0;
    }
  }
}
