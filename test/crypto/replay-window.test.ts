import { describe, expect, it } from 'vitest';
import { ReplayWindow } from '../../src/crypto/index.js';
import { seededRandom } from '../helpers/vectors.js';

/** tgcalls' registerIncomingCounter, written as the spec states it (a sorted list). */
class ReferenceWindow {
  private list: number[] = [];
  accept(c: number): boolean {
    if (this.list.includes(c)) return false;
    const largest = this.list.length === 0 ? 0 : this.list[this.list.length - 1]!;
    if (c + 64 <= largest) return false;
    this.list = this.list.filter((e) => !(e + 64 <= c));
    this.list.push(c);
    this.list.sort((a, b) => a - b);
    return true;
  }
}

describe('replay window', () => {
  it('accepts each counter once and rejects counters 64 or more below the largest', () => {
    const w = new ReplayWindow();
    expect(w.accept(1)).toBe(true);
    expect(w.accept(1)).toBe(false);
    expect(w.accept(100)).toBe(true);
    expect(w.accept(36)).toBe(false); // 36 + 64 = 100
    expect(w.accept(37)).toBe(true);
    expect(w.accept(37)).toBe(false);
    expect(w.accept(99)).toBe(true);
    expect(w.accept(1000)).toBe(true);
    expect(w.accept(100)).toBe(false);
  });

  it('agrees with the reference list model on random sequences with reordering and repeats', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = seededRandom(seed);
      const ours = new ReplayWindow();
      const reference = new ReferenceWindow();
      let base = 1;
      for (let i = 0; i < 2000; i++) {
        const jump = random() < 0.05 ? Math.floor(random() * 200) : 0;
        base += jump;
        const c = Math.max(0, base + Math.floor(random() * 140) - 100);
        if (random() < 0.6) base++;
        expect(ours.accept(c)).toBe(reference.accept(c));
      }
    }
  });
});
