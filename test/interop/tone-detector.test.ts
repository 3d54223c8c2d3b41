import { describe, expect, it } from 'vitest';
import { analyseTone, toneRatio } from './tone-detector.js';
import { concatSamples } from '../../src/media/pcm.js';

const RATE = 48000;

function sine(hz: number, seconds: number, amplitude = 0.5): Int16Array {
  const out = new Int16Array(Math.round(seconds * RATE));
  for (let i = 0; i < out.length; i += 1) out[i] = Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * i) / RATE));
  return out;
}


describe('tone detector', () => {
  it('gives a pure on-bin tone a ratio of ~1 and another tone ~0', () => {
    const tone = sine(440, 0.1);
    expect(toneRatio(tone, 0, tone.length, 440, RATE)).toBeCloseTo(1, 2);
    expect(toneRatio(tone, 0, tone.length, 880, RATE)).toBeLessThan(0.01);
  });

  it('skips leading silence and counts dominant windows after the first voiced one', () => {
    const pcm = concatSamples([new Int16Array(RATE / 2), sine(440, 2)]);
    const a = analyseTone(pcm, 440);
    expect(a.windows).toBe(25);
    expect(a.firstVoiced).toBe(5);
    expect(a.analysed).toBe(20);
    expect(a.dominantFraction).toBe(1);
    expect(a.rmsDbfs).toBeCloseTo(-9.03, 1);
    expect(analyseTone(pcm, 880).dominantFraction).toBe(0);
  });

  it('counts a silent gap after the tone started as not dominant', () => {
    const pcm = concatSamples([sine(440, 1), new Int16Array(RATE / 2), sine(440, 0.5)]);
    const a = analyseTone(pcm, 440);
    expect(a.analysed).toBe(20);
    expect(a.dominant).toBe(15);
    expect(a.dominantFraction).toBeCloseTo(0.75, 5);
  });

  it('finds a tone under noise only when it carries most of the energy', () => {
    let seed = 1;
    const noise = new Int16Array(RATE);
    for (let i = 0; i < noise.length; i += 1) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      noise[i] = ((seed >>> 16) % 2000) - 1000;
    }
    const tone = sine(880, 1, 0.3);
    const mixed = tone.map((v, i) => v + (noise[i] ?? 0));
    expect(analyseTone(mixed, 880).dominantFraction).toBe(1);
    expect(analyseTone(noise, 880).dominantFraction).toBe(0);
  });

  it('reports nothing for silence', () => {
    const a = analyseTone(new Int16Array(RATE), 440);
    expect(a.firstVoiced).toBe(-1);
    expect(a.analysed).toBe(0);
    expect(a.dominantFraction).toBe(0);
  });
});
