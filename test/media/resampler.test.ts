/** resampler.ts: sample-rate conversion. */
import { describe, expect, it } from 'vitest';
import { resample, StreamResampler } from '../../src/media/resampler.js';
import { SeededRandom } from '../../src/fake/seeded-random.js';
import { generateTone } from '../../src/media/tone.js';

describe('resample', () => {
  it('downsamples without aliasing above the new Nyquist frequency', () => {
    const high = generateTone({ frequency: 10000, durationMs: 200 }); // above 8 kHz Nyquist of 16 kHz
    const out = resample(high, 1, 48000, 16000);
    expect(out.length).toBe(3200);
    const rms = Math.sqrt(out.subarray(400, 2800).reduce((s, v) => s + v * v, 0) / 2400);
    expect(rms).toBeLessThan(200);
  });

  it('streamed in chunks of any size, gives exactly the whole-buffer result (and keeps only its window)', () => {
    const rng = new SeededRandom(9);
    for (const [from, to, channels] of [[44100, 48000, 1], [8000, 48000, 2], [22050, 48000, 2], [48000, 16000, 1], [11025, 48000, 1], [48000, 48000, 2]] as const) {
      const tone = generateTone({ frequency: 700, durationMs: 150, sampleRate: from, amplitude: 0.6 });
      const pcm = channels === 1 ? tone : Int16Array.from({ length: tone.length * 2 }, (_, i) => tone[i >> 1]! ^ (i & 1));
      const whole = resample(pcm, channels, from, to);
      const stream = new StreamResampler(channels, from, to);
      const parts: Int16Array[] = [];
      for (let at = 0; at < pcm.length; ) {
        const n = Math.min(pcm.length - at, channels * (1 + Math.floor(rng.next() * 700)));
        parts.push(stream.push(pcm.subarray(at, at + n)));
        at += n;
        expect((stream as unknown as { buf: Int16Array }).buf.length).toBeLessThanOrEqual(channels * (2 * 16 * 6 + 700));
      }
      parts.push(stream.end());
      const joined = new Int16Array(parts.reduce((s, p) => s + p.length, 0));
      let o = 0;
      for (const p of parts) joined.set(p, (o += p.length) - p.length);
      expect(joined).toEqual(whole);
    }
  });
});
