/**
 * WAV (RIFF/WAVE) files: read PCM 8/16/24/32-bit integer and 32-bit float (plain or
 * WAVE_FORMAT_EXTENSIBLE), write 16-bit PCM; convert anything read to the 48 kHz s16 the media
 * layer uses. Bad files raise `MediaError` with code `WAV_*`.
 */
import { readFile, writeFile } from 'node:fs/promises';
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

export function parseWav(data: Uint8Array): WavAudio {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const tag = (o: number): string => String.fromCharCode(data[o]!, data[o + 1]!, data[o + 2]!, data[o + 3]!);
  if (data.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') fail('WAV_NOT_WAV', 'not a RIFF/WAVE file');

  let format: { code: number; channels: number; rate: number; bits: number; blockAlign: number } | undefined;
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
      let code = view.getUint16(start, true);
      if (code === FORMAT_EXTENSIBLE) {
        if (size < 40 || start + 40 > data.length) fail('WAV_BAD_FMT', 'extensible fmt chunk too short');
        code = view.getUint16(start + 24, true); // first two bytes of the sub-format GUID
      }
      format = {
        code,
        channels: view.getUint16(start + 2, true),
        rate: view.getUint32(start + 4, true),
        bits: view.getUint16(start + 14, true),
        blockAlign: view.getUint16(start + 12, true),
      };
    } else if (id === 'data') {
      body = data.subarray(start, end);
    }
    if (format && body) break;
    o = start + size + (size & 1); // chunks are word aligned
  }
  if (!format) fail('WAV_NO_FMT', 'no fmt chunk');
  if (!body) fail('WAV_NO_DATA', 'no data chunk');
  const { code, channels, rate, bits } = format;
  if (channels < 1 || channels > 8) fail('WAV_BAD_CHANNELS', `${channels} channels`);
  if (rate < 1000 || rate > 384000) fail('WAV_BAD_RATE', `sample rate ${rate}`);
  const bytes = bits / 8;
  const isFloat = code === FORMAT_FLOAT && bits === 32;
  const isInt = code === FORMAT_PCM && (bits === 8 || bits === 16 || bits === 24 || bits === 32);
  if (!isFloat && !isInt) fail('WAV_UNSUPPORTED', `format ${code} with ${bits} bits`);
  const frameBytes = bytes * channels;
  const frames = Math.floor(body.length / frameBytes);
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
  return { sampleRate: rate, channels, samples: out };
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
  let pcm = audio.samples;
  let ch = audio.channels;
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
  return resample(pcm, channels, audio.sampleRate, 48000);
}

/** Reads a WAV file as 48 kHz s16 (`channels` interleaved). */
export async function readWavFile(path: string, channels: 1 | 2 = 1): Promise<Int16Array> {
  return toPcm48k(parseWav(await readFile(path)), channels);
}

export async function writeWavFile(path: string, samples: Int16Array, sampleRate = 48000, channels = 1): Promise<void> {
  await writeFile(path, encodeWav(samples, sampleRate, channels));
}
