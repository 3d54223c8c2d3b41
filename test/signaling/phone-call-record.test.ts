/** phone-call-record.ts: plain, validated records of the TL phone-call objects. */
import { describe, expect, it } from 'vitest';
import { Api } from 'telegram';
import { roundTrip } from '../../src/fake/index.js';
import { decodeBool, decodeDhConfig, decodePhoneCall, decodePhoneUpdate, toLong } from '../../src/signaling/index.js';

describe('phone call records', () => {
  it('decodes round-tripped phone call objects into plain records', () => {
    const protocol = new Api.PhoneCallProtocol({ udpP2p: true, minLayer: 65, maxLayer: 92, libraryVersions: ['9.0.0'] });
    const call = roundTrip(
      new Api.PhoneCall({
        p2pAllowed: true,
        id: toLong(1n),
        accessHash: toLong(2n),
        date: 3,
        adminId: toLong(4n),
        participantId: toLong(5n),
        gAOrB: Buffer.from([9, 9]),
        keyFingerprint: toLong(-6n),
        protocol,
        connections: [new Api.PhoneConnectionWebrtc({ stun: true, id: toLong(7n), ip: '10.0.0.1', ipv6: '', port: 3478, username: '', password: '' })],
        startDate: 8,
        customParameters: new Api.DataJSON({ data: '{"a":1}' }),
      }),
    );
    expect(decodePhoneCall(call)).toEqual({
      kind: 'call',
      id: 1n,
      accessHash: 2n,
      date: 3,
      adminId: 4n,
      participantId: 5n,
      protocol: { udpP2p: true, udpReflector: false, minLayer: 65, maxLayer: 92, libraryVersions: ['9.0.0'] },
      video: false,
      gAOrB: new Uint8Array([9, 9]),
      keyFingerprint: -6n,
      connections: [{ kind: 'webrtc', id: 7n, ip: '10.0.0.1', ipv6: '', port: 3478, username: '', password: '', turn: false, stun: true }],
      startDate: 8,
      p2pAllowed: true,
      customParameters: '{"a":1}',
    });
    const discarded = roundTrip(new Api.PhoneCallDiscarded({ needRating: true, id: toLong(1n), reason: new Api.PhoneCallDiscardReasonBusy(), duration: 12 }));
    expect(decodePhoneCall(discarded)).toEqual({ kind: 'discarded', id: 1n, reason: 'busy', duration: 12, needRating: true, needDebug: false, video: false });
  });

  it('rejects malformed objects with BAD_TL and ignores non-phone updates', () => {
    expect(() => decodePhoneCall({ className: 'PhoneCallWaiting', id: 1n })).toThrow(expect.objectContaining({ code: 'BAD_TL' }));
    expect(() => decodePhoneCall({ className: 'Something' })).toThrow(expect.objectContaining({ code: 'BAD_TL' }));
    expect(() => decodePhoneCall(7)).toThrow(expect.objectContaining({ code: 'BAD_TL' }));
    expect(() => decodeDhConfig({ className: 'messages.DhConfig', g: 3, p: 'x', version: 1, random: Buffer.alloc(1) })).toThrow(
      expect.objectContaining({ code: 'BAD_TL' }),
    );
    expect(decodePhoneUpdate(new Api.UpdateUserTyping({ userId: toLong(1n), action: new Api.SendMessageTypingAction() }))).toBeUndefined();
    expect(decodePhoneUpdate(undefined)).toBeUndefined();
    expect(() => decodeBool('yes')).toThrow(expect.objectContaining({ code: 'BAD_TL' }));
    expect(decodeBool(roundTrip(true))).toBe(true);
  });
});
