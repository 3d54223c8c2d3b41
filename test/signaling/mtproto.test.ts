/** mtproto.ts: update containers. */
import { describe, expect, it } from 'vitest';
import { Api } from 'telegram';
import { roundTrip } from '../../src/fake/index.js';
import { toLong, unwrapUpdates } from '../../src/signaling/index.js';

describe('unwrapUpdates', () => {
  it('unwraps Updates, UpdatesCombined and UpdateShort', () => {
    const u = new Api.UpdatePhoneCallSignalingData({ phoneCallId: toLong(1n), data: Buffer.from([1]) });
    expect(unwrapUpdates(roundTrip(new Api.UpdateShort({ update: u, date: 1 })))).toHaveLength(1);
    expect(unwrapUpdates(roundTrip(new Api.Updates({ updates: [u, u], users: [], chats: [], date: 1, seq: 0 })))).toHaveLength(2);
    expect(unwrapUpdates(u)).toEqual([u]);
    expect(unwrapUpdates(null)).toEqual([]);
  });
});
