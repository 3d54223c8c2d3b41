/** goertzel.ts: the tone detector the tests and the demo use to check what was heard. */
import { describe, expect, it } from 'vitest';
import { detectTone, goertzelPower, toneFraction, toneRatio } from '../../src/media/goertzel.js';
import { generateTone, ToneGenerator } from '../../src/media/tone.js';
import { seededRandom } from './lossy-link.js';

describe('goertzel', () => {
  it('measures the energy share of a frequency', () => {
    const tone = generateTone({ frequency: 880, durationMs: 100 });
    expect(toneRatio(tone, 880, 48000)).toBeGreaterThan(0.99);
    expect(toneRatio(tone, 440, 48000)).toBeLessThan(0.01);
    expect(toneRatio(new Int16Array(4800), 880, 48000)).toBe(0);
    expect(goertzelPower(tone, 880, 48000)).toBeGreaterThan(1e12);
  });

  it('returns the fraction of 100 ms windows in which the tone dominates', () => {
    const a = generateTone({ frequency: 880, durationMs: 600 });
    const b = generateTone({ frequency: 440, durationMs: 200 });
    const silence = new Int16Array(48 * 200);
    const pcm = new Int16Array(a.length + b.length + silence.length);
    pcm.set(a);
    pcm.set(b, a.length);
    pcm.set(silence, a.length + b.length);
    const det = detectTone(pcm, 880);
    expect(det.windows).toBe(10);
    expect(det.dominated).toBe(6);
    expect(toneFraction(pcm, 440)).toBeCloseTo(0.2);
    // A quiet tone under loud noise does not dominate; with a little noise it still does.
    const rand = seededRandom(1);
    const noisy = generateTone({ frequency: 880, durationMs: 500, amplitude: 0.3 }).map((v) => v + Math.round((rand() - 0.5) * 3000));
    expect(toneFraction(noisy, 880)).toBe(1);
    const drowned = generateTone({ frequency: 880, durationMs: 500, amplitude: 0.02 }).map((v) => v + Math.round((rand() - 0.5) * 30000));
    expect(toneFraction(drowned, 880)).toBe(0);
    // Stereo input: the first channel is analysed.
    expect(toneFraction(new ToneGenerator({ frequency: 880, channels: 2 }).next(9600), 880, { channels: 2 })).toBe(1);
  });
});
