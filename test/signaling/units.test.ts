/**
 * The small units of the signaling layer: TL decoders, long conversion, update unwrapping, RPC
 * failure classification, DH config cache, timeouts, the inbox and the ordered send queue.
 */
import { describe, expect, it } from 'vitest';
import { Api, errors, helpers } from 'telegram';
import { fromHex } from '../../src/crypto/bytes.js';
import { TELEGRAM_DH_PRIME_HEX } from '../../src/crypto/dh-config.js';
import { fakeFloodWait, fakeRpcError, roundTrip } from '../../src/fake/index.js';
import {
  DhConfigCache,
  SignalingInbox,
  SignalingSendQueue,
  classifyRpcFailure,
  decodeBool,
  decodeDhConfig,
  decodePhoneCall,
  decodePhoneUpdate,
  readLong,
  resolveCallTimeouts,
  toLong,
  unwrapUpdates,
} from '../../src/signaling/index.js';
import { liveTimeouts } from './helpers.js';

describe('TL decoding', () => {
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

  it('unwraps Updates, UpdatesCombined and UpdateShort', () => {
    const u = new Api.UpdatePhoneCallSignalingData({ phoneCallId: toLong(1n), data: Buffer.from([1]) });
    expect(unwrapUpdates(roundTrip(new Api.UpdateShort({ update: u, date: 1 })))).toHaveLength(1);
    expect(unwrapUpdates(roundTrip(new Api.Updates({ updates: [u, u], users: [], chats: [], date: 1, seq: 0 })))).toHaveLength(2);
    expect(unwrapUpdates(u)).toEqual([u]);
    expect(unwrapUpdates(null)).toEqual([]);
  });
});

describe('RPC failures', () => {
  it('classifies GramJS errors', () => {
    expect(classifyRpcFailure(fakeFloodWait(3))).toEqual({ kind: 'flood', waitMs: 3000 });
    expect(classifyRpcFailure(fakeRpcError('FLOOD_WAIT_7', 420))).toEqual({ kind: 'flood', waitMs: 7000 });
    expect(classifyRpcFailure(fakeRpcError('FLOOD_PREMIUM_WAIT_2', 420))).toEqual({ kind: 'flood', waitMs: 2000 });
    expect(classifyRpcFailure(new errors.RPCError('CALL_PEER_INVALID', undefined as never, 400))).toEqual({
      kind: 'rpc',
      type: 'CALL_PEER_INVALID',
      code: 400,
    });
    expect(classifyRpcFailure(new Error('Cannot send requests while disconnected'))).toMatchObject({ kind: 'network' });
    expect(classifyRpcFailure('weird')).toMatchObject({ kind: 'network' });
  });
});

describe('DhConfigCache', () => {
  const p = Buffer.from(fromHex(TELEGRAM_DH_PRIME_HEX));
  it('asks with version 0 until a valid group is cached, then reuses it', () => {
    const cache = new DhConfigCache();
    expect(cache.requestArgs()).toEqual({ version: 0, randomLength: 256 });
    expect(() => cache.apply({ kind: 'not-modified', random: new Uint8Array(256) })).toThrow(expect.objectContaining({ code: 'DH_CONFIG_MISSING' }));
    expect(() => cache.apply({ kind: 'config', g: 9, p, version: 4, random: new Uint8Array(256) })).toThrow(
      expect.objectContaining({ code: 'DH_BAD_GENERATOR' }),
    );
    expect(cache.requestArgs().version).toBe(0);
    const first = cache.apply({ kind: 'config', g: 3, p, version: 4, random: new Uint8Array(256).fill(1) });
    expect(cache.requestArgs().version).toBe(4);
    const again = cache.apply({ kind: 'not-modified', random: new Uint8Array(256).fill(2) });
    expect(again.params).toBe(first.params);
    expect(again.random[0]).toBe(2);
    expect(() => cache.apply({ kind: 'not-modified', random: new Uint8Array(32) })).toThrow(expect.objectContaining({ code: 'DH_BAD_RANDOM' }));
  });
});

describe('timeouts', () => {
  it('defaults and validation', () => {
    expect(resolveCallTimeouts(undefined)).toEqual({ receiveMs: 20_000, ringMs: 90_000, connectMs: 30_000, hangupMs: 5_000 });
    expect(resolveCallTimeouts({ ringMs: 5 }).ringMs).toBe(5);
    expect(() => resolveCallTimeouts({ ringMs: -1 })).toThrow(RangeError);
    expect(() => resolveCallTimeouts({ receiveMs: Number.NaN })).toThrow(RangeError);
  });
});

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

describe('SignalingSendQueue', () => {
  it('with maxInFlight 1 sends strictly in order, one at a time, retrying failures in place', async () => {
    const sent: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    const queue = new SignalingSendQueue({
      send: async (d) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setImmediate(r));
        inFlight--;
        calls++;
        if (calls === 2) throw new Error('reset');
        if (calls === 4) return false;
        sent.push(d[0]!);
        return true;
      },
      onFailure: () => {
        throw new Error('must not fail');
      },
      policy: { baseDelayMs: 1, maxInFlight: 1 },
    });
    for (let i = 0; i < 5; i++) queue.enqueue(new Uint8Array([i]));
    await queue.idle();
    expect(sent).toEqual([0, 1, 2, 3, 4]);
    expect(maxInFlight).toBe(1);
    expect(queue.getStats()).toEqual({ sent: 5, retries: 2, floodWaits: 0, dropped: 0 });
  });

  it('pipelines up to maxInFlight requests and still delivers every packet', async () => {
    const sent: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    const queue = new SignalingSendQueue({
      send: async (d) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        if (++calls === 2) throw new Error('reset');
        sent.push(d[0]!);
        return true;
      },
      onFailure: () => {
        throw new Error('must not fail');
      },
      policy: { baseDelayMs: 1, maxInFlight: 3 },
    });
    for (let i = 0; i < 10; i++) queue.enqueue(new Uint8Array([i]));
    await queue.idle();
    expect(maxInFlight).toBe(3);
    expect([...sent].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(queue.getStats()).toEqual({ sent: 10, retries: 1, floodWaits: 0, dropped: 0 });
  });

  it('fails once after the attempts are used up, and drops what is left', async () => {
    const failures: string[] = [];
    const queue = new SignalingSendQueue({
      send: () => Promise.reject(new Error('down')),
      onFailure: (e) => failures.push(e.code),
      policy: { baseDelayMs: 1, maxAttempts: 3, maxInFlight: 1 },
    });
    queue.enqueue(new Uint8Array([1]));
    queue.enqueue(new Uint8Array([2]));
    await queue.idle();
    expect(failures).toEqual(['NETWORK_ERROR']);
    expect(queue.getStats().retries).toBe(2);
    expect(queue.enqueue(new Uint8Array([3]))).toBe(false);
    expect(queue.getStats().dropped).toBe(3); // the two queued at the failure plus the refused one
  });

  it('close() during a back-off releases its timer at once', async () => {
    const before = liveTimeouts();
    const queue = new SignalingSendQueue({
      send: () => Promise.reject(fakeFloodWait(20)),
      onFailure: () => {},
    });
    queue.enqueue(new Uint8Array([1]));
    await new Promise((r) => setTimeout(r, 10));
    expect(liveTimeouts()).toBe(before + 1);
    queue.close();
    await queue.idle();
    expect(liveTimeouts()).toBe(before);
    expect(queue.getStats()).toMatchObject({ floodWaits: 1, dropped: 1, sent: 0 });
  });

  it('bounds the queue', () => {
    const queue = new SignalingSendQueue({ send: () => new Promise(() => {}), onFailure: () => {}, policy: { maxQueued: 2 } });
    expect([1, 2, 3].map((i) => queue.enqueue(new Uint8Array([i])))).toEqual([true, true, false]);
    queue.close();
  });
});
