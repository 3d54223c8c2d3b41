/**
 * Time compression of decoded audio, to drain a jitter buffer without dropping packets: NetEq's
 * "accelerate" (webrtc modules/audio_coding/neteq/accelerate.cc, time_stretch.cc). In a segment
 * that repeats itself — voiced speech, a tone: one pitch period looks like the next — one period
 * of L samples is removed by crossfading it into the following one, which shortens the audio
 * without changing its pitch and without a discontinuity. A segment that does not repeat
 * (onsets, noise-like consonants) is left alone unless it is quiet, where any splice is
 * inaudible. NetEq requires a correlation of 0.9 for active speech and accepts anything in
 * passive (quiet) signal; so do we.
 *
 * The lag is searched on a 4× decimated signal (12 kHz) over 2.5–15 ms, NetEq's pitch range, then
 * refined at 48 kHz. One splice per 20 ms of input at most. Pure: PCM in, shorter PCM out.
 */

const RATE = 48000;
const MIN_LAG = (2.5 * RATE) / 1000;
const MAX_LAG = (15 * RATE) / 1000;
const BLOCK = (20 * RATE) / 1000;
const DECIMATION = 4;
/** NetEq's kCorrelationThreshold (14746 / 16384). */
const MIN_CORRELATION = 0.9;
/** Below this RMS (≈ −45 dBFS) a segment counts as quiet: spliced whatever its correlation. */
const QUIET_RMS = 184;

export interface AccelerateResult {
  /** The compressed audio (interleaved like the input); the input itself when nothing was removed. */
  pcm: Int16Array;
  /** Samples per channel removed. */
  removed: number;
}

/** Shortens `pcm` (interleaved, `channels`) by at most `maxRemove` samples per channel. */
export function accelerate(pcm: Int16Array, channels: 1 | 2, maxRemove: number): AccelerateResult {
  const frames = Math.floor(pcm.length / channels);
  if (maxRemove < MIN_LAG || frames < 2 * MIN_LAG) return { pcm, removed: 0 };
  const mono = channels === 1 ? pcm : mixdown(pcm, frames);
  const cuts: { at: number; lag: number }[] = [];
  let budget = Math.floor(maxRemove);
  let consumed = 0; // input before this is already part of the output plan
  for (let b = 0; b + 2 * MIN_LAG <= frames && budget >= MIN_LAG; b += BLOCK) {
    if (b < consumed) continue;
    const maxLag = Math.min(MAX_LAG, budget, Math.floor((frames - b) / 2));
    if (maxLag < MIN_LAG) break;
    const lag = bestLag(mono, b, maxLag);
    if (lag === undefined) continue;
    cuts.push({ at: b, lag });
    budget -= lag;
    consumed = b + 2 * lag;
  }
  if (cuts.length === 0) return { pcm, removed: 0 };

  const removed = cuts.reduce((n, c) => n + c.lag, 0);
  const out = new Int16Array((frames - removed) * channels);
  let src = 0;
  let dst = 0;
  for (const { at, lag } of cuts) {
    out.set(pcm.subarray(src * channels, at * channels), dst * channels);
    dst += at - src;
    // Fade the period out while the next one fades in: the output holds one period for two.
    for (let i = 0; i < lag; i += 1) {
      const w = (i + 0.5) / lag;
      for (let c = 0; c < channels; c += 1) {
        const a = pcm[(at + i) * channels + c]!;
        const b = pcm[(at + lag + i) * channels + c]!;
        out[(dst + i) * channels + c] = Math.round(a * (1 - w) + b * w);
      }
    }
    dst += lag;
    src = at + 2 * lag;
  }
  out.set(pcm.subarray(src * channels, frames * channels), dst * channels);
  return { pcm: out, removed };
}

/** The lag in [MIN_LAG, maxLag] at which x[b, b+L) best matches x[b+L, b+2L), if good enough. */
function bestLag(x: Int16Array, b: number, maxLag: number): number | undefined {
  // Coarse search on the decimated signal (a 4-sample mean is lowpass enough for pitch).
  const lo = Math.ceil(MIN_LAG / DECIMATION);
  const hi = Math.floor(maxLag / DECIMATION);
  const n = Math.floor((2 * maxLag) / DECIMATION);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i += 1) {
    let sum = 0;
    for (let k = 0; k < DECIMATION; k += 1) sum += x[b + i * DECIMATION + k]!;
    d[i] = sum / DECIMATION;
  }
  let coarse = lo;
  let coarseCorr = -Infinity;
  for (let l = lo; l <= hi; l += 1) {
    const c = correlation(d, 0, l, l);
    if (c > coarseCorr) {
      coarseCorr = c;
      coarse = l;
    }
  }
  // Refine at the full rate around the coarse lag.
  let lag = coarse * DECIMATION;
  let corr = -Infinity;
  for (let l = Math.max(MIN_LAG, lag - DECIMATION + 1); l <= Math.min(maxLag, lag + DECIMATION - 1); l += 1) {
    const c = correlation(x, b, b + l, l);
    if (c > corr) {
      corr = c;
      lag = l;
    }
  }
  if (corr >= MIN_CORRELATION) return lag;
  return rms(x, b, 2 * lag) < QUIET_RMS ? lag : undefined;
}

/** Normalised cross-correlation of a[i, i+n) and a[j, j+n). Silence correlates as 0. */
function correlation(a: ArrayLike<number>, i: number, j: number, n: number): number {
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let k = 0; k < n; k += 1) {
    const p = a[i + k]!;
    const q = a[j + k]!;
    xy += p * q;
    xx += p * p;
    yy += q * q;
  }
  return xx > 0 && yy > 0 ? xy / Math.sqrt(xx * yy) : 0;
}

function rms(a: Int16Array, from: number, n: number): number {
  let sum = 0;
  for (let k = from; k < from + n; k += 1) sum += a[k]! * a[k]!;
  return Math.sqrt(sum / n);
}

function mixdown(pcm: Int16Array, frames: number): Int16Array {
  const out = new Int16Array(frames);
  for (let i = 0; i < frames; i += 1) out[i] = (pcm[2 * i]! + pcm[2 * i + 1]!) >> 1;
  return out;
}
