/**
 * A WAV file read piece by piece as 48 kHz s16 (issue 15 defect 6: `playFile('/dev/zero')` read
 * the whole "file" into memory, 2.5 GB, and never settled). Only regular files are read, their
 * header is walked with positional reads (bounded chunk count), the samples are read
 * `READ_BYTES` at a time and converted on the way (StreamResampler), so memory stays bounded
 * whatever the file's length; the file handle is closed when the stream ends, fails or is
 * abandoned (`return()` of the iterator, which `for await` calls on an early exit).
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { MediaError } from '../errors.js';
import { StreamResampler } from './resampler.js';
import { decodeWavSamples, wavFormat, toChannels, type WavFormat } from './wav.js';

export interface WavStreamOptions {
  /** Output channels (1 or 2). Default 1. */
  readonly channels?: 1 | 2;
  /** Longest audio accepted, ms (checked from the header before anything is played). Default `MAX_WAV_DURATION_MS`. */
  readonly maxDurationMs?: number;
  /** Output chunk length in samples per channel. Default 960 (20 ms). */
  readonly chunkFrames?: number;
}

/** Four hours: longer is refused (`WAV_TOO_LONG`) unless `maxDurationMs` says otherwise. */
export const MAX_WAV_DURATION_MS = 4 * 3600 * 1000;
/** Bytes of samples read at a time. */
const READ_BYTES = 64 * 1024;
/** Chunks walked before `fmt ` and `data` are found (a file of a million tiny chunks is not a WAV). */
const MAX_HEADER_CHUNKS = 1024;
/** A `fmt ` chunk larger than this is not one (the extensible form has 40 bytes). */
const MAX_FMT_BYTES = 4096;

export interface WavStream extends AsyncIterable<Int16Array> {
  readonly format: WavFormat;
  /** Duration of the audio in the file, ms. */
  readonly durationMs: number;
  /** Closes the file (also done when iteration ends). Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens `path` and reads its header. Rejects with `WAV_NOT_FILE` (a directory, a device such as
 * /dev/zero, a FIFO, a socket), `WAV_TOO_LONG`, or the `WAV_*` code of a bad header; the file is
 * closed on every rejection.
 */
export async function openWavStream(path: string, options: WavStreamOptions = {}): Promise<WavStream> {
  // O_NONBLOCK: opening a FIFO without a writer would otherwise block a libuv thread for good
  // (and the promise with it); on a regular file it changes nothing.
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)).catch((err: NodeJS.ErrnoException) => {
    throw new MediaError('WAV_NOT_FILE', `cannot open ${path}: ${err.code ?? err.message}`, { cause: err });
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new MediaError('WAV_NOT_FILE', `${path} is not a regular file`);
    const header = await readHeader(handle, stat.size);
    const frameBytes = header.format.blockAlign;
    const frames = Math.floor(header.dataBytes / frameBytes);
    const durationMs = (frames / header.format.rate) * 1000;
    const limit = options.maxDurationMs ?? MAX_WAV_DURATION_MS;
    if (durationMs > limit) throw new MediaError('WAV_TOO_LONG', `${path} holds ${Math.round(durationMs / 1000)} s of audio; the limit is ${limit / 1000} s`);
    return stream(handle, header, options, durationMs);
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

interface Header {
  readonly format: WavFormat;
  readonly dataStart: number;
  readonly dataBytes: number;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

async function readHeader(handle: FileHandle, size: number): Promise<Header> {
  const riff = await readAt(handle, 0, 12);
  if (riff.length < 12 || riff.toString('latin1', 0, 4) !== 'RIFF' || riff.toString('latin1', 8, 12) !== 'WAVE') {
    throw new MediaError('WAV_NOT_WAV', 'not a RIFF/WAVE file');
  }
  let format: WavFormat | undefined;
  let o = 12;
  for (let n = 0; n < MAX_HEADER_CHUNKS && o + 8 <= size; n++) {
    const head = await readAt(handle, o, 8);
    if (head.length < 8) break;
    const id = head.toString('latin1', 0, 4);
    const chunkSize = head.readUInt32LE(4);
    const start = o + 8;
    if (id === 'fmt ') {
      if (chunkSize > MAX_FMT_BYTES) throw new MediaError('WAV_BAD_FMT', `fmt chunk of ${chunkSize} bytes`);
      format = wavFormat(await readAt(handle, start, chunkSize));
    } else if (id === 'data') {
      if (!format) throw new MediaError('WAV_NO_FMT', 'data chunk before the fmt chunk');
      // A truncated last chunk (or a streaming writer's 0 / 0xFFFFFFFF size) reads to the end of the file.
      const dataBytes = Math.min(size - start, chunkSize === 0 ? size - start : chunkSize);
      return { format, dataStart: start, dataBytes };
    }
    o = start + chunkSize + (chunkSize & 1); // chunks are word aligned
  }
  throw format ? new MediaError('WAV_NO_DATA', 'no data chunk') : new MediaError('WAV_NO_FMT', 'no fmt chunk');
}

function stream(handle: FileHandle, header: Header, options: WavStreamOptions, durationMs: number): WavStream {
  const channels = options.channels ?? 1;
  const chunk = (options.chunkFrames ?? 960) * channels;
  const { format } = header;
  const readBytes = Math.max(1, Math.floor(READ_BYTES / format.blockAlign)) * format.blockAlign;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await handle.close().catch(() => undefined);
  };
  async function* generate(): AsyncGenerator<Int16Array> {
    const resampler = new StreamResampler(channels, format.rate, 48000);
    let pending = new Int16Array(0);
    const emit = function* (pcm: Int16Array, flush: boolean): Generator<Int16Array> {
      const all = pending.length === 0 ? pcm : concat(pending, pcm);
      let at = 0;
      for (; at + chunk <= all.length; at += chunk) yield all.slice(at, at + chunk);
      pending = all.slice(at);
      if (flush && pending.length > 0) {
        yield pending;
        pending = new Int16Array(0);
      }
    };
    try {
      for (let done = 0; done < header.dataBytes; ) {
        if (closed) return;
        let bytes: Buffer;
        try {
          bytes = await readAt(handle, header.dataStart + done, Math.min(readBytes, header.dataBytes - done));
        } catch (err) {
          if (closed) return; // close() during a read: the stream just ends
          throw err;
        }
        if (bytes.length === 0) break; // the file shrank under us
        done += bytes.length;
        const whole = bytes.length - (bytes.length % format.blockAlign);
        const decoded = decodeWavSamples(bytes.subarray(0, whole), format);
        yield* emit(resampler.push(toChannels(decoded, format.channels, channels)), false);
      }
      yield* emit(resampler.end(), true);
    } finally {
      await close();
    }
  }
  const iterable = generate();
  return { format, durationMs, close, [Symbol.asyncIterator]: () => iterable };
}

function concat(a: Int16Array, b: Int16Array): Int16Array {
  const out = new Int16Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
