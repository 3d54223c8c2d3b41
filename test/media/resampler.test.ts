/** resampler.ts: sample-rate conversion. */
import { describe, expect, it } from 'vitest';
import { resample } from '../../src/media/resampler.js';
import { generateTone } from '../../src/media/tone.js';

describe('resample', () => {
  it('downsamples without aliasing above the new Nyquist frequency', () => {
    const high = generateTone({ frequency: 10000, durationMs: 200 }); // above 8 kHz Nyquist of 16 kHz
    const out = resample(high, 1, 48000, 16000);
    expect(out.length).toBe(3200);
    const rms = Math.sqrt(out.subarray(400, 2800).reduce((s, v) => s + v * v, 0) / 2400);
    expect(rms).toBeLessThan(200);
  });
});
