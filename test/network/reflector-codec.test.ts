/**
 * Reflector wire format against the vectors of reflector.md (§2, §3.1-3.4, §4, §5.1) and
 * reflector-shim.md §4, plus round trips and a fuzz of the never-throwing parsers.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/fake/seeded-random.js';
import {
  dataOverhead,
  encodeData,
  encodeSelfInfo,
  encodeTcpHello,
  encodeUdpHello,
  idToWire,
  parseClientPacket,
  parseReflectorHostname,
  parseServerDatagram,
  reflectorCandidateLine,
  reflectorHostname,
  REFLECTOR_SELF_INFO_LENGTH,
} from '../../src/network/reflector-codec.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// The peer tag of the verified runs (reflector.md §10) and the id vector of §2.
const TAG = hex('00112233445566778899aabbccddeeff');
const ID = 411335037; // wire 7d 79 84 18

describe('ids and hostnames (reflector.md §2, §5.1)', () => {
  it('an id is 4 little-endian bytes on the wire and decimal in the hostname', () => {
    expect(toHex(idToWire(ID))).toBe('7d798418');
    expect(reflectorHostname(1, ID)).toBe('reflector-1-411335037.reflector');
    expect(parseReflectorHostname('reflector-1-411335037.reflector')).toEqual({ serverId: 1, id: ID });
  });

  it('parses the extremes and refuses everything else', () => {
    expect(parseReflectorHostname('reflector-255-4294967295.reflector')).toEqual({ serverId: 255, id: 0xffffffff });
    for (const bad of [
      'reflector-0-1.reflector', // server id 0: no port (§1)
      'reflector-1-0.reflector', // id 0 is discarded by SendTo (§3.3)
      'reflector-256-1.reflector',
      'reflector-1-4294967296.reflector',
      'reflector-1-01.reflector',
      'reflector-1-12abc.reflector',
      'reflector-1-1.reflector.',
      'Reflector-1-1.reflector',
      'reflector-1-1',
      'reflector--1.reflector',
      '10.78.0.1',
      '',
    ]) {
      expect(parseReflectorHostname(bad), bad).toBeUndefined();
    }
    expect(() => reflectorHostname(0, 1)).toThrow(RangeError);
    expect(() => reflectorHostname(1, 0)).toThrow(RangeError);
  });
});

describe('client packets', () => {
  it('UDP hello: 40 bytes, tag12 | myId LE | ff*12 | fe ff ff ff | BE64 123 (§3.1)', () => {
    expect(toHex(encodeUdpHello(TAG, ID))).toBe(
      '00112233445566778899aabb' + '7d798418' + 'ff'.repeat(12) + 'feffffff' + '000000000000007b',
    );
  });

  it('TCP hello: 20 bytes, tag16 | 00000000 (§4)', () => {
    expect(toHex(encodeTcpHello(TAG, ID))).toBe('00112233445566778899aabb7d79841800000000');
  });

  it('DATA: tag12 | dstId LE | myId LE | BE32 len | payload | zero pad to 4 (§3.3)', () => {
    const packet = encodeData(TAG, ID, 2, hex('0102030405'));
    expect(toHex(packet)).toBe('00112233445566778899aabb' + '7d798418' + '02000000' + '00000005' + '0102030405' + '000000');
    expect(packet.length % 4).toBe(0);
  });

  it('pads every payload length to a multiple of 4 with 0..3 zero bytes', () => {
    for (let len = 0; len <= 9; len++) {
      const packet = encodeData(TAG, 1, 2, new Uint8Array(len).fill(0xaa));
      expect(packet.length).toBe(24 + Math.ceil(len / 4) * 4);
      expect(packet.length).toBe(len + dataOverhead(len));
      expect([...packet.subarray(24 + len)].every((b) => b === 0)).toBe(true);
    }
  });

  it('refuses ids 0 and tags under 12 bytes (caller bugs, not wire input)', () => {
    expect(() => encodeUdpHello(TAG, 0)).toThrow(RangeError);
    expect(() => encodeData(TAG, 0, 1, new Uint8Array(1))).toThrow(RangeError);
    expect(() => encodeData(TAG.subarray(0, 11), 1, 1, new Uint8Array(1))).toThrow(RangeError);
  });
});

describe('parseServerDatagram: the accept/drop table of §3.4', () => {
  const withLength = (total: number, declared: number, tag = TAG): Uint8Array => {
    const p = new Uint8Array(total);
    p.set(tag.subarray(0, 12));
    p.set(idToWire(7), 16);
    new DataView(p.buffer).setUint32(20, declared, false);
    return p;
  };

  it.each([
    ['15 bytes', new Uint8Array(15), { kind: 'drop', reason: 'short' }],
    ['16 bytes, tag byte 0 wrong', hex('ff112233445566778899aabb00000000'), { kind: 'drop', reason: 'wrong-tag' }],
    ['16 bytes, tag byte 11 wrong', hex('00112233445566778899aa0000000000'), { kind: 'drop', reason: 'wrong-tag' }],
    ['16 bytes, our tag (bytes 12..15 anything)', hex('00112233445566778899aabbdeadbeef'), { kind: 'ready' }],
    ['24 bytes, our tag', withLength(24, 0), { kind: 'ready' }],
    ['25 bytes, len too big', withLength(25, 2), { kind: 'drop', reason: 'bad-length' }],
    ['27 bytes of ff after the tag: not special below 28 bytes, len ff.. too big', (() => {
      const p = new Uint8Array(27).fill(0xff);
      p.set(TAG.subarray(0, 12));
      return p;
    })(), { kind: 'drop', reason: 'bad-length' }],
    ['36 bytes, len = size-24+1', withLength(36, 13), { kind: 'drop', reason: 'bad-length' }],
  ])('%s', (_name, packet, expected) => {
    expect(parseServerDatagram(packet, TAG)).toEqual(expected);
  });

  it('a SELF_INFO hello reply is special (bytes 16..27 all ff)', () => {
    const reply = encodeSelfInfo(encodeUdpHello(TAG, ID).subarray(0, 16), hex('000000000000007b'), { address: '10.78.0.1', port: 40000 }, 0);
    expect(parseServerDatagram(reply, TAG)).toEqual({ kind: 'special' });
  });

  it('DATA: sender id LE at 16, BE length at 20, payload exact, padding ignored', () => {
    const exact = withLength(36, 12);
    const parsed = parseServerDatagram(exact, TAG);
    expect(parsed).toMatchObject({ kind: 'data', senderId: 7 });
    expect(parsed.kind === 'data' && parsed.payload.length).toBe(12);
    const padded = parseServerDatagram(withLength(36, 9), TAG);
    expect(padded.kind === 'data' && padded.payload.length).toBe(9);
    const one = parseServerDatagram(withLength(25, 1), TAG);
    expect(one.kind === 'data' && one.payload.length).toBe(1);
  });

  it('round trip: what a client sends, rewritten to the receiver tag, parses back to (myId, payload)', () => {
    const random = new SeededRandom(3);
    for (let i = 0; i < 200; i++) {
      const payload = random.bytes(random.nextUint32() % 300);
      const myId = (random.nextUint32() >>> 0) || 1;
      const packet = encodeData(TAG, ID, myId, payload);
      const parsed = parseServerDatagram(packet, TAG);
      expect(parsed.kind).toBe('data');
      if (parsed.kind !== 'data') return;
      expect(parsed.senderId).toBe(myId);
      expect(toHex(parsed.payload)).toBe(toHex(payload));
    }
  });

  it('fuzz: random and mutated datagrams never throw and always classify', () => {
    const random = new SeededRandom(11);
    const kinds = new Map<string, number>();
    const valid = encodeData(TAG, ID, 5, random.bytes(40));
    for (let i = 0; i < 20_000; i++) {
      let packet: Uint8Array;
      if (i % 2 === 0) {
        packet = random.bytes(random.nextUint32() % 120);
        if (i % 4 === 0 && packet.length >= 12) packet.set(TAG.subarray(0, 12)); // our tag, random rest
      } else {
        packet = valid.slice(0, random.nextUint32() % (valid.length + 1));
        for (let flips = random.nextUint32() % 4; flips > 0 && packet.length > 0; flips--) {
          packet[random.nextUint32() % packet.length] = random.nextUint32() & 0xff;
        }
      }
      const parsed = parseServerDatagram(packet, TAG);
      const kind = parsed.kind === 'drop' ? `drop:${parsed.reason}` : parsed.kind;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      if (parsed.kind === 'data') expect(24 + parsed.payload.length).toBeLessThanOrEqual(packet.length);
    }
    for (const kind of ['data', 'ready', 'drop:short', 'drop:wrong-tag', 'drop:bad-length']) {
      expect(kinds.get(kind), kind).toBeGreaterThan(0);
    }
  });
});

describe('server side (the fake reflector)', () => {
  it('classifies hellos, TCP hellos, DATA, STUN, special and junk', () => {
    const hello = parseClientPacket(encodeUdpHello(TAG, ID), 'udp');
    expect(hello).toMatchObject({ kind: 'hello', id: ID });
    expect(hello.kind === 'hello' && toHex(hello.query)).toBe('000000000000007b');
    expect(parseClientPacket(encodeTcpHello(TAG, ID), 'tcp')).toMatchObject({ kind: 'tcp-hello', id: ID });
    // Over UDP the same 20 bytes are a 20-byte "DATA" with no payload room: not a hello.
    expect(parseClientPacket(encodeTcpHello(TAG, ID), 'udp')).toEqual({ kind: 'drop', reason: 'unknown' });
    expect(parseClientPacket(encodeData(TAG, ID, 9, hex('0102')), 'udp')).toMatchObject({ kind: 'data', dstId: ID, srcId: 9, payloadLength: 2 });
    // A STUN Binding request (RFC 5389 header + one 4-byte attribute).
    const stun = hex('0001 0008 2112a442 000102030405060708090a0b 8022 0004 74657374');
    expect(parseClientPacket(stun, 'udp')).toEqual({ kind: 'stun' });
    expect(parseClientPacket(new Uint8Array(32).fill(0xff), 'udp')).toEqual({ kind: 'special' });
    expect(parseClientPacket(new Uint8Array(10), 'udp')).toEqual({ kind: 'drop', reason: 'short' });
    const bad = encodeData(TAG, ID, 9, hex('0102'));
    bad[23] = 9;
    expect(parseClientPacket(bad, 'udp')).toEqual({ kind: 'drop', reason: 'bad-length' });
  });

  it('SELF_INFO: tag16 | ff*12 | c7 72 15 c0 | LE32 date | query | ::ffff:IPv4 | LE32 port (§3.2)', () => {
    const tag16 = encodeUdpHello(TAG, ID).subarray(0, 16);
    const reply = encodeSelfInfo(tag16, hex('000000000000007b'), { address: '10.78.0.1', port: 0x1234 }, 0x5f5e1000);
    expect(reply.length).toBe(REFLECTOR_SELF_INFO_LENGTH);
    expect(toHex(reply)).toBe(
      toHex(tag16) + 'ff'.repeat(12) + 'c77215c0' + '00105e5f' + '000000000000007b' + '00000000000000000000ffff0a4e0001' + '34120000',
    );
    const v6 = encodeSelfInfo(tag16, new Uint8Array(8), { address: '2001:db8::1', port: 1 }, 0);
    expect(toHex(v6.subarray(44, 60))).toBe('20010db8000000000000000000000001');
    const mapped = encodeSelfInfo(tag16, new Uint8Array(8), { address: '::ffff:127.0.0.1', port: 1 }, 0);
    expect(toHex(mapped.subarray(44, 60))).toBe('00000000000000000000ffff7f000001');
  });
});

describe('our relay candidate (reflector-shim.md §4, reflector.md §5.1)', () => {
  it('UDP: the exact line, 58655488, network-id 1, no raddr', () => {
    expect(reflectorCandidateLine({ serverId: 1, id: ID, port: 5555, ufrag: 'AQn9', foundation: '2200557375' })).toBe(
      'candidate:2200557375 1 udp 58655488 reflector-1-411335037.reflector 5555 typ relay generation 0 ufrag AQn9 network-id 1 network-cost 50',
    );
  });

  it('TCP: same line with the TCP relay type preference (25101056), protocol still udp', () => {
    const line = reflectorCandidateLine({ serverId: 2, id: 7, port: 443, ufrag: 'abcd', tcp: true });
    expect(line).toMatch(/^candidate:\d+ 1 udp 25101056 reflector-2-7\.reflector 443 typ relay generation 0 ufrag abcd network-id 1 network-cost 50$/);
  });

  it('refuses a ufrag that would break the SDP line', () => {
    expect(() => reflectorCandidateLine({ serverId: 1, id: 1, port: 1, ufrag: 'ab c' })).toThrow(RangeError);
    expect(() => reflectorCandidateLine({ serverId: 1, id: 1, port: 0, ufrag: 'abcd' })).toThrow(RangeError);
  });
});
