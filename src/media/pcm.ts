/**
 * 16-bit PCM helpers: little-endian bytes ↔ samples, channel mixing, levels.
 * The library's PCM is always signed 16-bit little-endian, interleaved.
 */
import { endianness } from 'node:os';

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** Samples of s16le bytes (`bytes.length` must be even). Copies unless the view can be reused. */
export function bytesToSamples(bytes: Uint8Array): Int16Array {
  const n = bytes.length >> 1;
  if (LITTLE_ENDIAN_HOST && bytes.byteOffset % 2 === 0) {
    return new Int16Array(bytes.buffer, bytes.byteOffset, n);
  }
  const out = new Int16Array(n);
  for (let i = 0; i < n; i += 1) out[i] = (bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) << 16 >> 16;
  return out;
}

/** s16le bytes of `pcm` (a view on little-endian hosts). */
export function samplesToBuffer(pcm: Int16Array): Buffer {
  if (LITTLE_ENDIAN_HOST) return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const out = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length; i += 1) out.writeInt16LE(pcm[i]!, 2 * i);
  return out;
}

/** Averages interleaved stereo into mono. */
export function downmixToMono(interleaved: Int16Array, channels: 1 | 2): Int16Array {
  if (channels === 1) return interleaved;
  const n = interleaved.length >> 1;
  const out = new Int16Array(n);
  for (let i = 0; i < n; i += 1) out[i] = (interleaved[2 * i]! + interleaved[2 * i + 1]!) >> 1;
  return out;
}

/** Duplicates mono into interleaved stereo. */
export function upmixToStereo(mono: Int16Array): Int16Array {
  const out = new Int16Array(mono.length * 2);
  for (let i = 0; i < mono.length; i += 1) {
    out[2 * i] = mono[i]!;
    out[2 * i + 1] = mono[i]!;
  }
  return out;
}

/** RMS level in dBFS (−Infinity for digital silence). */
export function rmsDbfs(pcm: Int16Array): number {
  if (pcm.length === 0) return -Infinity;
  let sum = 0;
  for (let i = 0; i < pcm.length; i += 1) {
    const v = pcm[i]!;
    sum += v * v;
  }
  if (sum === 0) return -Infinity;
  return 10 * Math.log10(sum / pcm.length / (32768 * 32768));
}

export function isSilent(pcm: Int16Array): boolean {
  for (let i = 0; i < pcm.length; i += 1) if (pcm[i] !== 0) return false;
  return true;
}

/** Joins chunks of samples into one array. */
export function concatSamples(parts: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
