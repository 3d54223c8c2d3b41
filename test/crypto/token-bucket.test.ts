import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/crypto/index.js';

describe('token bucket (virtual clock)', () => {
  it('starts full, refills at its rate up to its capacity', () => {
    const bucket = new TokenBucket({ capacity: 10, perSecond: 4 });
    expect(bucket.take(10, 0)).toBe(true);
    expect(bucket.take(1, 0)).toBe(false);
    expect(bucket.available(250)).toBe(1);
    expect(bucket.readyAt(3, 250)).toBe(750);
    expect(bucket.available(100_000)).toBe(10);
  });

  it('charge() may go into debt, which delays what comes next', () => {
    const bucket = new TokenBucket({ capacity: 4, perSecond: 2 });
    bucket.charge(6, 0);
    expect(bucket.available(0)).toBe(-2);
    expect(bucket.readyAt(1, 0)).toBe(1500);
    expect(bucket.take(1, 1499)).toBe(false);
    expect(bucket.take(1, 1500)).toBe(true);
  });

  it('a clock that steps back refills nothing', () => {
    const bucket = new TokenBucket({ capacity: 4, perSecond: 1 });
    bucket.charge(4, 10_000);
    expect(bucket.available(5_000)).toBe(0);
    expect(bucket.available(6_000)).toBe(1);
  });

  it('refuses limits that could never refill', () => {
    expect(() => new TokenBucket({ capacity: 0, perSecond: 1 })).toThrow(RangeError);
    expect(() => new TokenBucket({ capacity: 1, perSecond: Number.NaN })).toThrow(RangeError);
  });
});
