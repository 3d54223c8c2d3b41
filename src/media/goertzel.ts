/**
 * Goertzel tone detection: is a given frequency what this PCM mostly contains? For each window
 * the share of its energy at the frequency is 2|X(f)|² / (N · Σx²): 1 for a pure tone at f
 * (integer cycles per window), near 0 for silence, noise or another tone. A window is "dominated"
 * when that share reaches the threshold and the window is not silent.
 */

/** Goertzel power |X(f)|² over `samples[start, start + length)` (mono). */
export function goertzelPower(samples: Int16Array, frequency: number, sampleRate: number, start = 0, length = samples.length - start): number {
  const coeff = 2 * Math.cos((2 * Math.PI * frequency) / sampleRate);
  let s1 = 0;
  let s2 = 0;
  const end = Math.min(samples.length, start + length);
  for (let i = start; i < end; i += 1) {
    const s0 = samples[i]! + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/** Share of the window's energy at `frequency` (0–1). */
export function toneRatio(samples: Int16Array, frequency: number, sampleRate: number, start = 0, length = samples.length - start): number {
  const end = Math.min(samples.length, start + length);
  const n = end - start;
  let energy = 0;
  for (let i = start; i < end; i += 1) energy += samples[i]! * samples[i]!;
  if (energy === 0 || n <= 0) return 0;
  return (2 * goertzelPower(samples, frequency, sampleRate, start, n)) / (n * energy);
}

export interface ToneDetectionOptions {
  /** Default 48000. */
  sampleRate?: number;
  /** Interleaved channels of `pcm`; only the first is analysed. Default 1. */
  channels?: number;
  /** Default 100. */
  windowMs?: number;
  /** Minimum energy share for the tone to dominate. Default 0.5. */
  threshold?: number;
  /** Windows quieter than this never count as dominated. Default −50 dBFS. */
  minLevelDbfs?: number;
}

export interface ToneDetection {
  windows: number;
  dominated: number;
  /** dominated / windows (0 when there is no whole window). */
  fraction: number;
  /** Energy share per window. */
  ratios: number[];
}

export function detectTone(pcm: Int16Array, frequency: number, options: ToneDetectionOptions = {}): ToneDetection {
  const rate = options.sampleRate ?? 48000;
  const channels = options.channels ?? 1;
  const windowSize = Math.round((rate * (options.windowMs ?? 100)) / 1000);
  const threshold = options.threshold ?? 0.5;
  const minEnergyPerSample = 32768 * 32768 * 10 ** ((options.minLevelDbfs ?? -50) / 10);
  const mono = channels === 1 ? pcm : pcm.filter((_, i) => i % channels === 0);
  const windows = Math.floor(mono.length / windowSize);
  const ratios: number[] = [];
  let dominated = 0;
  for (let w = 0; w < windows; w += 1) {
    const start = w * windowSize;
    let energy = 0;
    for (let i = start; i < start + windowSize; i += 1) energy += mono[i]! * mono[i]!;
    const ratio = toneRatio(mono, frequency, rate, start, windowSize);
    ratios.push(ratio);
    if (energy / windowSize >= minEnergyPerSample && ratio >= threshold) dominated += 1;
  }
  return { windows, dominated, fraction: windows === 0 ? 0 : dominated / windows, ratios };
}

/** Fraction of `windowMs` windows of `pcm` in which `frequency` dominates. */
export function toneFraction(pcm: Int16Array, frequency: number, options: ToneDetectionOptions = {}): number {
  return detectTone(pcm, frequency, options).fraction;
}
