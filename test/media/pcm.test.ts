/** pcm.ts: bytes and samples, channel mixing. */
import { describe, expect, it } from 'vitest';
import { bytesToSamples, downmixToMono, samplesToBuffer } from '../../src/media/pcm.js';

describe('pcm helpers', () => {
  it('converts bytes and samples and mixes down', () => {
    const s = Int16Array.of(1, -2, 32767, -32768);
    const b = samplesToBuffer(s);
    expect([...b]).toEqual([1, 0, 0xfe, 0xff, 0xff, 0x7f, 0x00, 0x80]);
    expect([...bytesToSamples(b)]).toEqual([...s]);
    expect([...bytesToSamples(Buffer.concat([Buffer.from([9]), b]).subarray(1))]).toEqual([...s]); // unaligned
    expect([...downmixToMono(Int16Array.of(100, 300, -5, -7), 2)]).toEqual([200, -6]);
  });
});
