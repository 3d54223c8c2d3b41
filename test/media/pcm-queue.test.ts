/** pcm-queue.ts: the bounded input queue of the sender. */
import { describe, expect, it } from 'vitest';
import { PcmQueue } from '../../src/media/pcm-queue.js';

describe('PcmQueue', () => {
  it('queues with a bound, dropping the oldest, and pads the last frame on request', () => {
    const q = new PcmQueue(10);
    expect(q.push(Int16Array.from({ length: 8 }, (_, i) => i))).toBe(0);
    expect(q.push(Int16Array.of(8, 9, 10, 11))).toBe(2);
    expect([...q.take(4)!]).toEqual([2, 3, 4, 5]);
    expect(q.take(8)).toBeUndefined();
    expect([...q.take(8, true)!]).toEqual([6, 7, 8, 9, 10, 11, 0, 0]);
  });

  it('discards from the front with a crossfade from the dropped head into the kept audio, across chunks', () => {
    const q = new PcmQueue(100);
    q.push(Int16Array.from({ length: 6 }, () => 1000)); // what would have followed the last frame sent
    q.push(Int16Array.from({ length: 6 }, () => 0));
    q.push(Int16Array.from({ length: 3 }, () => 0));
    expect(q.discard(6, 4)).toBe(6);
    expect(q.length).toBe(9);
    expect(q.dropped).toBe(6);
    // 1000 fades to the kept level (0) in 4 steps instead of jumping.
    expect([...q.take(9)!]).toEqual([800, 600, 400, 200, 0, 0, 0, 0, 0]);
    q.push(Int16Array.of(1, 2, 3));
    expect(q.discard(10, 5)).toBe(3); // no more than is queued, no fade without kept audio
    expect(q.length).toBe(0);
  });
});
