/**
 * Sample-rate conversion of 16-bit PCM by band-limited (windowed-sinc) interpolation. Rates with
 * a small rational ratio (every common one: 8k, 16k, 22.05k, 24k, 32k, 44.1k, 48k) use a
 * precomputed polyphase table; others compute the kernel per sample. Quality: 16 zero crossings
 * per side, Blackman window, cut-off at the lower Nyquist frequency — enough that a resampled
 * tone stays a clean tone. For files and tools, not for the real-time path (which is all 48 kHz).
 */
import { MediaError } from '../errors.js';

const ZERO_CROSSINGS = 16;
/** Polyphase tables larger than this many phases fall back to direct evaluation. */
const MAX_PHASES = 4096;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

/** Blackman window over [-1, 1]. */
function blackman(u: number): number {
  if (u <= -1 || u >= 1) return 0;
  const x = (u + 1) / 2;
  return 0.42 - 0.5 * Math.cos(2 * Math.PI * x) + 0.08 * Math.cos(4 * Math.PI * x);
}

/**
 * Resamples interleaved PCM from `fromRate` to `toRate`.
 * The output holds round(frames × toRate / fromRate) frames.
 */
export function resample(samples: Int16Array, channels: number, fromRate: number, toRate: number): Int16Array {
  const stream = new StreamResampler(channels, fromRate, toRate);
  if (samples.length % channels !== 0) {
    throw new MediaError('MEDIA_BAD_PCM', 'sample count is not a multiple of the channel count');
  }
  const body = stream.push(samples);
  const tail = stream.end();
  if (tail.length === 0) return body;
  const out = new Int16Array(body.length + tail.length);
  out.set(body);
  out.set(tail, body.length);
  return out;
}

/**
 * The same conversion over a stream of chunks (a file read piece by piece): it keeps only the
 * kernel's window of input (2 × half-width frames) between chunks, so memory does not grow with
 * the length of the audio. `push` then `end` gives exactly what `resample` gives for the whole.
 */
export class StreamResampler {
  private readonly channels: number;
  private readonly same: boolean;
  private readonly L: number;
  private readonly M: number;
  private readonly cutoff: number;
  private readonly half: number;
  private readonly taps: number;
  private readonly table: Float32Array | undefined;
  /** Buffered input frames (interleaved), the first being frame number `bufStart`. */
  private buf = new Int16Array(0);
  private bufStart = 0;
  /** Input frames pushed so far. */
  private received = 0;
  /** Next output frame. */
  private next = 0;
  private ended = false;

  constructor(channels: number, fromRate: number, toRate: number) {
    if (!Number.isInteger(fromRate) || !Number.isInteger(toRate) || fromRate <= 0 || toRate <= 0) {
      throw new MediaError('MEDIA_BAD_RATE', `cannot resample ${fromRate} Hz → ${toRate} Hz`);
    }
    if (!Number.isInteger(channels) || channels < 1) throw new MediaError('MEDIA_BAD_PCM', `bad channel count ${channels}`);
    this.channels = channels;
    this.same = fromRate === toRate;
    const g = gcd(fromRate, toRate);
    this.L = toRate / g; // output steps per M input steps
    this.M = fromRate / g;
    this.cutoff = Math.min(1, toRate / fromRate); // relative to the input Nyquist
    this.half = Math.ceil(ZERO_CROSSINGS / this.cutoff); // kernel half-width in input samples
    this.taps = 2 * this.half;
    // kernel(p, k): weight of input sample (base - half + 1 + k) for an output at phase p / L.
    if (!this.same && this.L <= MAX_PHASES) {
      const table = new Float32Array(this.L * this.taps);
      for (let p = 0; p < this.L; p += 1) {
        for (let k = 0; k < this.taps; k += 1) table[p * this.taps + k] = this.weight(p, k);
      }
      this.table = table;
    }
  }

  /** Converts what `samples` completes; the rest waits for more input or `end()`. */
  push(samples: Int16Array): Int16Array {
    if (this.ended) throw new MediaError('MEDIA_BAD_PCM', 'push() after end()');
    if (samples.length % this.channels !== 0) throw new MediaError('MEDIA_BAD_PCM', 'sample count is not a multiple of the channel count');
    if (this.same) return samples.slice();
    const merged = new Int16Array(this.buf.length + samples.length);
    merged.set(this.buf);
    merged.set(samples, this.buf.length);
    this.buf = merged;
    this.received += samples.length / this.channels;
    // An output needs input up to frame base + half.
    let last = this.next;
    while (Math.floor((last * this.M) / this.L) + this.half < this.received) last += 1;
    const out = this.produce(last);
    // Keep from the first frame the next output reads.
    const keep = Math.max(this.bufStart, Math.floor((this.next * this.M) / this.L) - this.half + 1);
    this.buf = this.buf.slice((keep - this.bufStart) * this.channels);
    this.bufStart = keep;
    return out;
  }

  /** The outputs that read past the end of the input (taken as silence). */
  end(): Int16Array {
    if (this.ended || this.same) {
      this.ended = true;
      return new Int16Array(0);
    }
    this.ended = true;
    return this.produce(Math.round((this.received * this.L) / this.M));
  }

  private produce(until: number): Int16Array {
    const { channels, taps, half, L, M, table } = this;
    const count = Math.max(0, until - this.next);
    const out = new Int16Array(count * channels);
    for (let n = 0; n < count; n += 1) {
      const j = this.next + n;
      const num = j * M; // position j*M/L in input samples
      const base = Math.floor(num / L);
      const phase = num - base * L;
      const first = base - half + 1;
      for (let c = 0; c < channels; c += 1) {
        let acc = 0;
        for (let k = 0; k < taps; k += 1) {
          const i = first + k;
          if (i < 0 || i >= this.received) continue;
          const w = table ? table[phase * taps + k]! : this.weight(phase, k);
          acc += w * this.buf[(i - this.bufStart) * channels + c]!;
        }
        out[n * channels + c] = acc > 32767 ? 32767 : acc < -32768 ? -32768 : Math.round(acc);
      }
    }
    this.next += count;
    return out;
  }

  private weight(phase: number, k: number): number {
    const d = phase / this.L - (k - this.half + 1); // distance from the input sample to the output position
    return this.cutoff * sinc(this.cutoff * d) * blackman(d / this.half);
  }
}
