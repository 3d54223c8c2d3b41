/**
 * Streams 16-bit PCM into a WAV file: the header is written first with placeholder sizes and
 * patched when the writer is closed, so a recording of any length never sits in memory.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { MediaError } from '../errors.js';

const HEADER_SIZE = 44;
/** RIFF sizes are 32-bit: stop appending before the file would overflow them. */
const MAX_DATA_BYTES = 0xffffffff - HEADER_SIZE;

export class WavFileWriter {
  private dataBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private truncated = false;

  private constructor(
    private readonly file: FileHandle,
    readonly path: string,
    readonly sampleRate: number,
    readonly channels: number,
  ) {}

  static async create(path: string, sampleRate = 48000, channels = 1): Promise<WavFileWriter> {
    if (!Number.isInteger(sampleRate) || sampleRate <= 0 || !Number.isInteger(channels) || channels < 1 || channels > 8) {
      throw new MediaError('WAV_BAD_FORMAT', 'invalid sample rate or channel count');
    }
    const file = await open(path, 'w');
    const writer = new WavFileWriter(file, path, sampleRate, channels);
    await file.write(writer.header(0), 0, HEADER_SIZE, 0);
    return writer;
  }

  /** Bytes of PCM written so far. */
  get bytes(): number {
    return this.dataBytes;
  }

  get durationMs(): number {
    return (this.dataBytes / (2 * this.channels * this.sampleRate)) * 1000;
  }

  /** Appends samples (interleaved s16). Writes are serialized; errors surface from `close()`. */
  write(samples: Int16Array): void {
    if (this.closed || this.truncated || samples.length === 0) return;
    const bytes = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    if (this.dataBytes + bytes.length > MAX_DATA_BYTES) {
      this.truncated = true;
      return;
    }
    const position = HEADER_SIZE + this.dataBytes;
    this.dataBytes += bytes.length;
    const copy = Buffer.from(bytes); // the caller may reuse its buffer
    this.chain = this.chain.then(async () => {
      await this.file.write(copy, 0, copy.length, position);
    });
  }

  /** Flushes, patches the header and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return this.chain;
    this.closed = true;
    this.chain = this.chain
      .then(async () => {
        await this.file.write(this.header(this.dataBytes), 0, HEADER_SIZE, 0);
      })
      .finally(() => this.file.close());
    return this.chain;
  }

  private header(dataBytes: number): Buffer {
    const h = Buffer.alloc(HEADER_SIZE);
    h.write('RIFF', 0, 'ascii');
    h.writeUInt32LE(36 + dataBytes, 4);
    h.write('WAVE', 8, 'ascii');
    h.write('fmt ', 12, 'ascii');
    h.writeUInt32LE(16, 16);
    h.writeUInt16LE(1, 20);
    h.writeUInt16LE(this.channels, 22);
    h.writeUInt32LE(this.sampleRate, 24);
    h.writeUInt32LE(this.sampleRate * this.channels * 2, 28);
    h.writeUInt16LE(this.channels * 2, 32);
    h.writeUInt16LE(16, 34);
    h.write('data', 36, 'ascii');
    h.writeUInt32LE(dataBytes, 40);
    return h;
  }
}
