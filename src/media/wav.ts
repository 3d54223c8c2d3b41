/**
 * WAV (RIFF/WAVE) files: read PCM 8/16/24/32-bit integer and 32-bit float (plain or
 * WAVE_FORMAT_EXTENSIBLE), write 16-bit PCM; convert anything read to the 48 kHz s16 the media
 * layer uses. Bad files raise `MediaError` with code `WAV_*`.
 */
import { constants } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { MediaError, type MediaErrorCode } from '../errors.js';
import { resample } from './resampler.js';
import { downmixToMono, upmixToStereo } from './pcm.js';

export interface WavAudio {
  sampleRate: number;
  channels: number;
  /** Interleaved s16. */
  samples: Int16Array;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

function fail(code: MediaErrorCode & `WAV_${string}`, message: string): never {
  throw new MediaError(code, message);
}

/** A WAV file's `fmt ` chunk, checked: a format `decodeWavSamples` can read. */
export interface WavFormat {
  /** 1 (integer PCM) or 3 (float), after resolving WAVE_FORMAT_EXTENSIBLE. */
  readonly code: number;
  readonly channels: number;
  readonly rate: number;
  readonly bits: number;
  /** Bytes per frame (all channels): bits / 8 × channels. */
  readonly blockAlign: number;
}

/** Reads and checks a `fmt ` chunk's body. */
export function wavFormat(fmt: Uint8Array): WavFormat {
  const view = new DataView(fmt.buffer, fmt.byteOffset, fmt.byteLength);
  if (fmt.length < 16) fail('WAV_BAD_FMT', 'fmt chunk too short');
  let code = view.getUint16(0, true);
  if (code === FORMAT_EXTENSIBLE) {
    if (fmt.length < 40) fail('WAV_BAD_FMT', 'extensible fmt chunk too short');
    code = view.getUint16(24, true); // first two bytes of the sub-format GUID
  }
  const channels = view.getUint16(2, true);
  const rate = view.getUint32(4, true);
  const bits = view.getUint16(14, true);
  if (channels < 1 || channels > 8) fail('WAV_BAD_CHANNELS', `${channels} channels`);
  if (rate < 1000 || rate > 384000) fail('WAV_BAD_RATE', `sample rate ${rate}`);
  const isFloat = code === FORMAT_FLOAT && bits === 32;
  const isInt = code === FORMAT_PCM && (bits === 8 || bits === 16 || bits === 24 || bits === 32);
  if (!isFloat && !isInt) fail('WAV_UNSUPPORTED', `format ${code} with ${bits} bits`);
  // The frame size follows from the format (a file's own blockAlign field is not trusted).
  return { code, channels, rate, bits, blockAlign: (bits / 8) * channels };
}

/** Decodes whole frames of `body` to interleaved s16 (a partial last frame is ignored). */
export function decodeWavSamples(body: Uint8Array, format: WavFormat): Int16Array {
  const { channels, bits } = format;
  const bytes = bits / 8;
  const isFloat = format.code === FORMAT_FLOAT;
  const frames = Math.floor(body.length / format.blockAlign);
  const n = frames * channels;
  const out = new Int16Array(n);
  const bv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let i = 0; i < n; i += 1) {
    const at = i * bytes;
    let v: number;
    if (isFloat) {
      const f = bv.getFloat32(at, true);
      v = Number.isFinite(f) ? Math.round(f * 32767) : 0;
    } else if (bits === 8) {
      v = (body[at]! - 128) << 8; // 8-bit WAV is unsigned
    } else if (bits === 16) {
      v = bv.getInt16(at, true);
    } else if (bits === 24) {
      v = bv.getInt16(at + 1, true); // the top 16 of 24 bits
    } else {
      v = bv.getInt32(at, true) >> 16;
    }
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}

export function parseWav(data: Uint8Array): WavAudio {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const tag = (o: number): string => String.fromCharCode(data[o]!, data[o + 1]!, data[o + 2]!, data[o + 3]!);
  if (data.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') fail('WAV_NOT_WAV', 'not a RIFF/WAVE file');

  let format: WavFormat | undefined;
  let body: Uint8Array | undefined;
  let o = 12;
  // Each chunk is at least 8 bytes, so this loop ends within data.length / 8 steps.
  while (o + 8 <= data.length) {
    const id = tag(o);
    const size = view.getUint32(o + 4, true);
    const start = o + 8;
    const end = Math.min(data.length, start + size); // tolerate a truncated last chunk
    if (id === 'fmt ') {
      if (size < 16 || start + 16 > data.length) fail('WAV_BAD_FMT', 'fmt chunk too short');
      format = wavFormat(data.subarray(start, end));
    } else if (id === 'data') {
      body = data.subarray(start, end);
    }
    if (format && body) break;
    o = start + size + (size & 1); // chunks are word aligned
  }
  if (!format) fail('WAV_NO_FMT', 'no fmt chunk');
  if (!body) fail('WAV_NO_DATA', 'no data chunk');
  return { sampleRate: format.rate, channels: format.channels, samples: decodeWavSamples(body, format) };
}

/** A 16-bit PCM WAV file. */
export function encodeWav(samples: Int16Array, sampleRate: number, channels: number): Buffer {
  if (samples.length % channels !== 0) throw new MediaError('WAV_BAD_PCM', 'sample count is not a multiple of channels');
  const dataBytes = samples.length * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(FORMAT_PCM, 20);
  out.writeUInt16LE(channels, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * channels * 2, 28);
  out.writeUInt16LE(channels * 2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < samples.length; i += 1) out.writeInt16LE(samples[i]!, 44 + 2 * i);
  return out;
}

/** Converts decoded WAV audio to 48 kHz s16 with 1 or 2 channels. */
export function toPcm48k(audio: WavAudio, channels: 1 | 2 = 1): Int16Array {
  return resample(toChannels(audio.samples, audio.channels, channels), channels, audio.sampleRate, 48000);
}

/** Interleaved PCM of `ch` channels as 1 or 2 (more than 2: the first two, front left/right). */
export function toChannels(samples: Int16Array, ch: number, channels: 1 | 2): Int16Array {
  let pcm = samples;
  if (ch > 2) {
    // Keep the first two channels (front left/right in every standard layout).
    const frames = pcm.length / ch;
    const two = new Int16Array(frames * 2);
    for (let i = 0; i < frames; i += 1) {
      two[2 * i] = pcm[i * ch]!;
      two[2 * i + 1] = pcm[i * ch + 1]!;
    }
    pcm = two;
    ch = 2;
  }
  if (ch === 2 && channels === 1) pcm = downmixToMono(pcm, 2);
  else if (ch === 1 && channels === 2) pcm = upmixToStereo(pcm);
  return pcm;
}

/** Files larger than this are not read whole (`WAV_TOO_LARGE`); `openWavStream` reads any length. */
export const MAX_WAV_READ_BYTES = 256 * 1024 * 1024;

/**
 * Reads a whole WAV file as 48 kHz s16 (`channels` interleaved). Only a regular file of at most
 * `MAX_WAV_READ_BYTES` is read (`WAV_NOT_FILE`, `WAV_TOO_LARGE`): reading /dev/zero or a FIFO
 * whole never ends. `openWavStream` (wav-stream.ts) reads long files piece by piece.
 */
export async function readWavFile(path: string, channels: 1 | 2 = 1): Promise<Int16Array> {
  // O_NONBLOCK: a FIFO without a writer would block the open (see wav-stream.ts).
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)).catch((err: NodeJS.ErrnoException) => {
    throw new MediaError('WAV_NOT_FILE', `cannot open ${path}: ${err.code ?? err.message}`, { cause: err });
  });
  let data: Buffer;
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new MediaError('WAV_NOT_FILE', `${path} is not a regular file`);
    if (stat.size > MAX_WAV_READ_BYTES) throw new MediaError('WAV_TOO_LARGE', `${path} has ${stat.size} bytes; at most ${MAX_WAV_READ_BYTES} are read whole`);
    data = await handle.readFile();
  } finally {
    await handle.close().catch(() => undefined);
  }
  return toPcm48k(parseWav(data), channels);
}

export async function writeWavFile(path: string, samples: Int16Array, sampleRate = 48000, channels = 1): Promise<void> {
  await writeFile(path, encodeWav(samples, sampleRate, channels));
}
