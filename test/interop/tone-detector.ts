/**
 * Is a given sine tone what a phone heard? Goertzel power at the tone frequency per 100 ms window,
 * normalised by the window's energy: for a pure tone on the analysis bin the ratio is 1, for
 * silence or another tone it is near 0. Frames arriving prove nothing (NetEq fills gaps with
 * comfort noise, ntgcalls-peer.md §1.4); the content has to be checked.
 */
import { readFileSync } from 'node:fs';
import { toneRatio as libraryToneRatio } from '../../src/media/goertzel.js';

export interface ToneOptions {
  sampleRate?: number;
  windowMs?: number;
  /** A window is voiced when its RMS is at least this (dBFS). Default -40. */
  voicedDbfs?: number;
  /** The tone dominates a window when it carries at least this share of its energy. Default 0.5. */
  dominance?: number;
}

export interface ToneAnalysis {
  freqHz: number;
  /** Whole windows in the recording. */
  windows: number;
  /** Index of the first voiced window, -1 if none. */
  firstVoiced: number;
  /** Windows from the first voiced one to the end. */
  analysed: number;
  /** Of those, the ones that are voiced and where the tone dominates. */
  dominant: number;
  /** dominant / analysed (0 when nothing was voiced). */
  dominantFraction: number;
  /** Mean tone energy share over the analysed windows. */
  meanRatio: number;
  /** RMS of the analysed part, dBFS. */
  rmsDbfs: number;
}

/** Share of the window's energy at `freqHz` (1 for a pure on-bin tone): the library's Goertzel. */
export function toneRatio(samples: Int16Array, start: number, length: number, freqHz: number, sampleRate: number): number {
  return libraryToneRatio(samples, freqHz, sampleRate, start, length);
}

export function analyseTone(samples: Int16Array, freqHz: number, options: ToneOptions = {}): ToneAnalysis {
  const rate = options.sampleRate ?? 48000;
  const win = Math.round((rate * (options.windowMs ?? 100)) / 1000);
  const voicedDbfs = options.voicedDbfs ?? -40;
  const dominance = options.dominance ?? 0.5;
  const windows = win > 0 ? Math.floor(samples.length / win) : 0;
  let firstVoiced = -1;
  let dominant = 0;
  let ratioSum = 0;
  let energySum = 0;
  for (let w = 0; w < windows; w += 1) {
    const start = w * win;
    let energy = 0;
    for (let i = start; i < start + win; i += 1) {
      const v = samples[i] ?? 0;
      energy += v * v;
    }
    const rms = Math.sqrt(energy / win) / 32768;
    const voiced = rms > 0 && 20 * Math.log10(rms) >= voicedDbfs;
    if (firstVoiced < 0) {
      if (!voiced) continue;
      firstVoiced = w;
    }
    const ratio = energy === 0 ? 0 : libraryToneRatio(samples, freqHz, rate, start, win);
    ratioSum += ratio;
    energySum += energy;
    if (voiced && ratio >= dominance) dominant += 1;
  }
  const analysed = firstVoiced < 0 ? 0 : windows - firstVoiced;
  const rms = analysed > 0 ? Math.sqrt(energySum / (analysed * win)) / 32768 : 0;
  return {
    freqHz,
    windows,
    firstVoiced,
    analysed,
    dominant,
    dominantFraction: analysed > 0 ? dominant / analysed : 0,
    meanRatio: analysed > 0 ? ratioSum / analysed : 0,
    rmsDbfs: rms > 0 ? 20 * Math.log10(rms) : -Infinity,
  };
}

/** Reads raw s16le mono PCM, optionally only the first `maxBytes`. */
export function readS16le(path: string, maxBytes?: number): Int16Array {
  const buf = readFileSync(path);
  const len = Math.min(buf.length, maxBytes ?? buf.length) & ~1;
  const out = new Int16Array(len / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = buf.readInt16LE(i * 2);
  return out;
}
