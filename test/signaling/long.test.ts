/** long.ts: TL `long` values to and from bigint. */
import { describe, expect, it } from 'vitest';
import { Api, helpers } from 'telegram';
import { roundTrip } from '../../src/fake/index.js';
import { readLong, toLong } from '../../src/signaling/index.js';

describe('TL long', () => {
  it('reads long values in every representation and refuses the rest', () => {
    expect(readLong(helpers.returnBigInt('-9223372036854775808'))).toBe(-(2n ** 63n));
    expect(readLong(5n)).toBe(5n);
    expect(readLong(42)).toBe(42n);
    expect(readLong('-17')).toBe(-17n);
    for (const bad of [2 ** 60, 1.5, '0x10', '9223372036854775808', null, undefined, {}, true]) {
      expect(() => readLong(bad)).toThrow(expect.objectContaining({ code: 'BAD_TL' }));
    }
    // toLong values serialise through GramJS exactly, at both ends of the int64 range.
    const wire = roundTrip(new Api.InputPhoneCall({ id: toLong(-(2n ** 63n)), accessHash: toLong(2n ** 63n - 1n) }));
    expect([readLong(wire.id), readLong(wire.accessHash)]).toEqual([-(2n ** 63n), 2n ** 63n - 1n]);
    expect(() => toLong(2n ** 63n)).toThrow(RangeError);
  });
});
