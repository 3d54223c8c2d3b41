import { describe, expect, it } from 'vitest';
import { AckRequiredWindow, MAX_REMEMBERED_ACK_REQUIRED } from '../../src/crypto/ack-required-window.js';
import { seededRandom } from '../helpers/vectors.js';

/**
 * registerSentAck as §5.3 states it (a sorted list, linear scans), plus the floor the channel has
 * always kept (a counter below the first of a later packet is a duplicate), unbounded: the
 * channel's implementation before it was made O(log n).
 */
class Reference {
  private list: number[] = [];
  private floor = 0;
  register(c: number, first: boolean): boolean {
    if (c < this.floor || this.list.includes(c)) return false;
    if (first && c > this.floor) {
      this.floor = c;
      this.list = this.list.filter((e) => e >= c);
    }
    this.list.push(c);
    this.list.sort((a, b) => a - b);
    return true;
  }
}

describe('ack-required window (registerSentAck)', () => {
  it('agrees with the reference on random packets of resent, reordered and duplicated messages', () => {
    const random = seededRandom(11);
    const window = new AckRequiredWindow();
    const reference = new Reference();
    let oldest = 1;
    for (let packet = 0; packet < 3000; packet++) {
      // a sender's packet starts with its oldest unacked message, then newer ones in order
      if (random() < 0.3) oldest += Math.floor(random() * 4);
      const stale = random() < 0.1 ? Math.floor(random() * 30) : 0; // a delayed old packet
      const start = Math.max(1, oldest - stale);
      const count = 1 + Math.floor(random() * 5);
      for (let i = 0; i < count; i++) {
        const c = start + i;
        const expected = reference.register(c, i === 0);
        const got = !window.has(c);
        if (got) window.add(c, i === 0);
        expect(got).toBe(expected);
      }
    }
  });

  it('stays bounded: the oldest are forgotten by raising the floor, never delivered twice', () => {
    const window = new AckRequiredWindow();
    window.add(1, true);
    for (let c = 2; c <= MAX_REMEMBERED_ACK_REQUIRED + 10; c++) window.add(c, false);
    expect(window.has(1)).toBe(true); // below the floor now: treated as seen
    expect(window.has(MAX_REMEMBERED_ACK_REQUIRED + 10)).toBe(true);
    expect(window.has(MAX_REMEMBERED_ACK_REQUIRED + 11)).toBe(false);
  });
});
