/** tone.ts: the test tone generator. */
import { describe, expect, it } from 'vitest';
import { detectTone } from '../../src/media/goertzel.js';
import { toneFrames } from '../../src/media/tone.js';

describe('toneFrames', () => {
  it('yields 20 ms tone frames while more() holds, with optional bursts of silence', () => {
    let left = 100;
    const steady = [...toneFrames({ frequency: 440, more: () => left-- > 0 })];
    expect(steady).toHaveLength(100);
    expect(steady.every((f) => f.length === 960)).toBe(true);
    left = 100;
    const bursts = [...toneFrames({ frequency: 440, more: () => left-- > 0, burst: { onMs: 200, offMs: 300 } })];
    const voiced = bursts.map((f) => f.some((s) => s !== 0));
    // 10 frames on, 15 off, repeated
    expect(voiced.slice(0, 25)).toEqual([...Array(10).fill(true), ...Array(15).fill(false)]);
    expect(voiced.filter(Boolean)).toHaveLength(40);
    const joined = new Int16Array(steady.length * 960);
    steady.forEach((f, i) => joined.set(f, i * 960));
    expect(detectTone(joined, 440).fraction).toBe(1);
  });
});
