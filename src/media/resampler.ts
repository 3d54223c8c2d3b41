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
  if (!Number.isInteger(fromRate) || !Number.isInteger(toRate) || fromRate <= 0 || toRate <= 0) {
    throw new MediaError('MEDIA_BAD_RATE', `cannot resample ${fromRate} Hz → ${toRate} Hz`);
  }
  if (!Number.isInteger(channels) || channels < 1 || samples.length % channels !== 0) {
    throw new MediaError('MEDIA_BAD_PCM', 'sample count is not a multiple of the channel count');
  }
  if (fromRate === toRate) return samples.slice();
  const inFrames = samples.length / channels;
  const outFrames = Math.round((inFrames * toRate) / fromRate);
  const out = new Int16Array(outFrames * channels);
  const g = gcd(fromRate, toRate);
  const L = toRate / g; // output steps per M input steps
  const M = fromRate / g;
  const cutoff = Math.min(1, toRate / fromRate); // relative to the input Nyquist
  const half = Math.ceil(ZERO_CROSSINGS / cutoff); // kernel half-width in input samples
  const taps = 2 * half;

  // kernel(p, k): weight of input sample (base - half + 1 + k) for an output at phase p / L.
  let table: Float32Array | undefined;
  if (L <= MAX_PHASES) {
    table = new Float32Array(L * taps);
    for (let p = 0; p < L; p += 1) {
      const frac = p / L;
      for (let k = 0; k < taps; k += 1) {
        const d = frac - (k - half + 1); // distance from the input sample to the output position
        table[p * taps + k] = cutoff * sinc(cutoff * d) * blackman(d / half);
      }
    }
  }

  for (let j = 0; j < outFrames; j += 1) {
    const num = j * M; // position j*M/L in input samples
    const base = Math.floor(num / L);
    const phase = num - base * L;
    const first = base - half + 1;
    for (let c = 0; c < channels; c += 1) {
      let acc = 0;
      for (let k = 0; k < taps; k += 1) {
        const i = first + k;
        if (i < 0 || i >= inFrames) continue;
        let w: number;
        if (table) {
          w = table[phase * taps + k]!;
        } else {
          const d = phase / L - (k - half + 1);
          w = cutoff * sinc(cutoff * d) * blackman(d / half);
        }
        acc += w * samples[i * channels + c]!;
      }
      out[j * channels + c] = acc > 32767 ? 32767 : acc < -32768 ? -32768 : Math.round(acc);
    }
  }
  return out;
}
