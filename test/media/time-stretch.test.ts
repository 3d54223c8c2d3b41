import { describe, expect, it } from 'vitest';
import { toneRatio } from '../../src/media/goertzel.js';
import { accelerate } from '../../src/media/time-stretch.js';
import { ToneGenerator } from '../../src/media/tone.js';
import { upmixToStereo } from '../../src/media/pcm.js';
import { seededRandom } from './lossy-link.js';

/** Largest sample-to-sample step, relative to the tone's own largest step. */
function worstStep(pcm: Int16Array): number {
  let max = 0;
  for (let i = 1; i < pcm.length; i += 1) max = Math.max(max, Math.abs(pcm[i]! - pcm[i - 1]!));
  return max;
}

function noise(n: number, amplitude: number, seed: number): Int16Array {
  const r = seededRandom(seed);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i += 1) out[i] = Math.round((r() * 2 - 1) * amplitude);
  return out;
}

describe('time compression (accelerate)', () => {
  it('removes whole periods of a tone: same pitch, no discontinuity, within the budget', () => {
    for (const hz of [220, 440, 880, 1000]) {
      const pcm = new ToneGenerator({ frequency: hz }).next(2880); // one 60 ms packet
      const smooth = worstStep(pcm);
      const r = accelerate(pcm, 1, 2000);
      expect(r.removed).toBeGreaterThanOrEqual(120); // at least 2.5 ms
      expect(r.removed).toBeLessThanOrEqual(2000);
      expect(r.pcm.length).toBe(2880 - r.removed);
      // A multiple of the period (within a sample): the phase continues across the splice.
      const period = 48000 / hz;
      const rest = r.removed / period - Math.round(r.removed / period);
      expect(Math.abs(rest * period)).toBeLessThanOrEqual(1.5 * 3); // up to three splices, ≤ 1.5 samples each
      expect(worstStep(r.pcm)).toBeLessThanOrEqual(smooth * 1.2);
      expect(toneRatio(r.pcm, hz, 48000)).toBeGreaterThan(0.95);
    }
  });

  it('makes at most one splice per 20 ms and never more than 15 ms at once', () => {
    const pcm = new ToneGenerator({ frequency: 200 }).next(960);
    const r = accelerate(pcm, 1, 10_000);
    expect(r.removed).toBeLessThanOrEqual(480); // 2 × lag must fit in the 20 ms packet
    const long = accelerate(new ToneGenerator({ frequency: 100 }).next(2880), 1, 10_000);
    expect(long.removed).toBeLessThanOrEqual(3 * 720);
  });

  it('leaves loud noise-like audio alone and compresses quiet audio', () => {
    const loud = noise(2880, 8000, 1);
    expect(accelerate(loud, 1, 2000)).toEqual({ pcm: loud, removed: 0 });
    const quiet = noise(2880, 100, 2);
    expect(accelerate(quiet, 1, 2000).removed).toBeGreaterThan(0);
  });

  it('respects a budget below one minimum period, and handles stereo', () => {
    const tone = new ToneGenerator({ frequency: 440 }).next(2880);
    expect(accelerate(tone, 1, 100).removed).toBe(0);
    const stereo = upmixToStereo(tone);
    const r = accelerate(stereo, 2, 600);
    expect(r.removed).toBeGreaterThan(0);
    expect(r.pcm.length).toBe(2 * (2880 - r.removed));
    for (let i = 0; i < r.pcm.length; i += 2) expect(r.pcm[i]).toBe(r.pcm[i + 1]);
  });
});
