/** signaling-inbox.ts: the bounded inbox that holds signaling data until the consumer attaches. */
import { describe, expect, it } from 'vitest';
import { SignalingInbox } from '../../src/signaling/index.js';

describe('SignalingInbox', () => {
  it('is bounded in packets and bytes, dropping the oldest', () => {
    const inbox = new SignalingInbox({ maxPackets: 3, maxBytes: 10 });
    for (let i = 0; i < 5; i++) inbox.push(new Uint8Array([i]));
    expect(inbox.drain().map((p) => p[0])).toEqual([2, 3, 4]);
    inbox.push(new Uint8Array(6));
    inbox.push(new Uint8Array(6));
    expect(inbox.size).toBe(1);
    inbox.push(new Uint8Array(11));
    expect(inbox.size).toBe(1);
    expect(inbox.dropped).toBe(2 + 1 + 1);
  });
});
