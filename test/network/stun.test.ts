/**
 * The STUN codec against RFC 5769's vectors (test/vectors/rfc5769.json): parse, integrity with
 * short- and long-term keys, fingerprint, XOR-MAPPED-ADDRESS for IPv4 and IPv6, and byte-exact
 * rebuilding. Then round trips, every parse failure reason, and the attribute codecs.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_STUN_ATTRIBUTES,
  StunAttr,
  StunMethod,
  attributeValue,
  buildStun,
  bytesToIp,
  crc32,
  decodeAddress,
  decodeChannelNumber,
  decodeErrorCode,
  decodeText,
  decodeU32,
  decodeU64,
  encodeAddress,
  encodeChannelNumber,
  encodeErrorCode,
  encodeRequestedFamily,
  encodeRequestedTransport,
  encodeText,
  encodeU32,
  encodeU64,
  findAttribute,
  ipToBytes,
  isStunPacket,
  longTermKey,
  parseStun,
  shortTermKey,
  stunMessageType,
  verifyFingerprint,
  verifyIntegrity,
  type StunAttributeInit,
  type StunMessage,
} from '../../src/network/stun.js';
import { loadJson } from '../helpers/vectors.js';

interface Rfc5769 {
  shortTermPassword: string;
  request: { hex: string; software: string; priority: number; iceControlledHex: string; username: string };
  ipv4Response: { hex: string; software: string; mapped: { address: string; port: number } };
  ipv6Response: { hex: string; software: string; mapped: { address: string; port: number } };
  longTermRequest: { hex: string; username: string; password: string; nonce: string; realm: string };
}

const V = loadJson<Rfc5769>('rfc5769.json');
const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function parsed(bytes: Uint8Array): StunMessage {
  const m = parseStun(bytes);
  if (!m.ok) throw new Error(`parse failed: ${m.reason}`);
  return m;
}

function text(m: StunMessage, type: number): string | undefined {
  const v = attributeValue(m, type);
  return v && decodeText(v);
}

describe('RFC 5769 vectors', () => {
  it('§2.1 sample request: fields, short-term integrity, fingerprint, byte-exact rebuild', () => {
    const bytes = hex(V.request.hex);
    expect(isStunPacket(bytes)).toBe(true);
    const m = parsed(bytes);
    expect([m.method, m.cls]).toEqual([StunMethod.BINDING, 'request']);
    expect(toHex(m.transactionId)).toBe('b7e7a701bc34d686fa87dfae');
    expect(m.attributes.map((a) => a.type)).toEqual([
      StunAttr.SOFTWARE,
      StunAttr.PRIORITY,
      StunAttr.ICE_CONTROLLED,
      StunAttr.USERNAME,
      StunAttr.MESSAGE_INTEGRITY,
      StunAttr.FINGERPRINT,
    ]);
    expect(text(m, StunAttr.SOFTWARE)).toBe(V.request.software);
    expect(text(m, StunAttr.USERNAME)).toBe(V.request.username);
    expect(decodeU32(attributeValue(m, StunAttr.PRIORITY)!)).toBe(V.request.priority);
    expect(verifyIntegrity(m, V.shortTermPassword)).toBe(true);
    expect(verifyIntegrity(m, shortTermKey(V.shortTermPassword))).toBe(true);
    expect(verifyIntegrity(m, 'VOkJxbRl1RmTxUk/WvJxBu')).toBe(false);
    expect(verifyFingerprint(m)).toBe(true);

    const rebuilt = buildStun({
      method: StunMethod.BINDING,
      cls: 'request',
      transactionId: m.transactionId,
      attributes: [
        { type: StunAttr.SOFTWARE, value: encodeText(V.request.software) },
        { type: StunAttr.PRIORITY, value: encodeU32(V.request.priority) },
        { type: StunAttr.ICE_CONTROLLED, value: hex(V.request.iceControlledHex) },
        { type: StunAttr.USERNAME, value: encodeText(V.request.username) },
      ],
      integrityKey: V.shortTermPassword,
      fingerprint: true,
      padding: 0x20,
    });
    expect(toHex(rebuilt)).toBe(V.request.hex);
  });

  for (const [name, vector] of [
    ['§2.2 IPv4', V.ipv4Response],
    ['§2.3 IPv6', V.ipv6Response],
  ] as const) {
    it(`${name} response: XOR-MAPPED-ADDRESS, integrity, fingerprint, byte-exact rebuild`, () => {
      const m = parsed(hex(vector.hex));
      expect([m.method, m.cls]).toEqual([StunMethod.BINDING, 'success']);
      expect(text(m, StunAttr.SOFTWARE)).toBe(vector.software);
      expect(decodeAddress(attributeValue(m, StunAttr.XOR_MAPPED_ADDRESS)!, m.transactionId)).toEqual(vector.mapped);
      expect(verifyIntegrity(m, V.shortTermPassword)).toBe(true);
      expect(verifyFingerprint(m)).toBe(true);
      const rebuilt = buildStun({
        method: StunMethod.BINDING,
        cls: 'success',
        transactionId: m.transactionId,
        attributes: [
          { type: StunAttr.SOFTWARE, value: encodeText(vector.software) },
          { type: StunAttr.XOR_MAPPED_ADDRESS, value: encodeAddress(vector.mapped, m.transactionId) },
        ],
        integrityKey: V.shortTermPassword,
        fingerprint: true,
        padding: 0x20,
      });
      expect(toHex(rebuilt)).toBe(vector.hex);
    });
  }

  it('§2.4 long-term request: MD5(username:realm:password) key, no fingerprint, byte-exact rebuild', () => {
    const v = V.longTermRequest;
    const m = parsed(hex(v.hex));
    expect(text(m, StunAttr.USERNAME)).toBe(v.username);
    expect(text(m, StunAttr.NONCE)).toBe(v.nonce);
    expect(text(m, StunAttr.REALM)).toBe(v.realm);
    expect(m.fingerprintOffset).toBe(-1);
    expect(verifyFingerprint(m)).toBe(false);
    const key = longTermKey(v.username, v.realm, v.password);
    expect(verifyIntegrity(m, key)).toBe(true);
    expect(verifyIntegrity(m, longTermKey(v.username, v.realm, 'TheMatrix'))).toBe(false);
    const rebuilt = buildStun({
      method: StunMethod.BINDING,
      cls: 'request',
      transactionId: m.transactionId,
      attributes: [
        { type: StunAttr.USERNAME, value: encodeText(v.username) },
        { type: StunAttr.NONCE, value: encodeText(v.nonce) },
        { type: StunAttr.REALM, value: encodeText(v.realm) },
      ],
      integrityKey: key,
    });
    expect(toHex(rebuilt)).toBe(v.hex);
  });

  it('a flipped bit anywhere before MESSAGE-INTEGRITY breaks it; anywhere at all breaks the fingerprint', () => {
    const bytes = hex(V.request.hex);
    const mi = parsed(bytes).integrityOffset;
    for (let i = 0; i < bytes.length; i += 1) {
      if (i === 2 || i === 3) continue; // the length: another message, checked by the parser
      const copy = bytes.slice();
      copy[i]! ^= 0x01;
      const m = parseStun(copy);
      if (!m.ok) continue;
      if (i < mi + 24) expect(verifyIntegrity(m, V.shortTermPassword), `byte ${i}`).toBe(false);
      expect(verifyFingerprint(m), `byte ${i}`).toBe(false);
    }
  });
});

describe('message codec', () => {
  const id = hex('0102030405060708090a0b0c');

  it('message types put the class bits between the method bits (RFC 8489 §5)', () => {
    expect(stunMessageType(StunMethod.BINDING, 'request')).toBe(0x0001);
    expect(stunMessageType(StunMethod.BINDING, 'success')).toBe(0x0101);
    expect(stunMessageType(StunMethod.BINDING, 'error')).toBe(0x0111);
    expect(stunMessageType(StunMethod.SEND, 'indication')).toBe(0x0016);
    expect(stunMessageType(StunMethod.DATA, 'indication')).toBe(0x0017);
    expect(stunMessageType(StunMethod.ALLOCATE, 'error')).toBe(0x0113);
    expect(stunMessageType(StunMethod.CHANNEL_BIND, 'success')).toBe(0x0109);
    expect(stunMessageType(0xfff, 'error')).toBe(0x3fff);
  });

  it('round-trips every method and class with integrity and fingerprint', () => {
    const methods = Object.values(StunMethod);
    for (const method of [...methods, 0x080, 0xfff]) {
      for (const cls of ['request', 'indication', 'success', 'error'] as const) {
        const attributes: StunAttributeInit[] = [
          { type: StunAttr.USERNAME, value: encodeText('a:b') },
          { type: StunAttr.DATA, value: new Uint8Array(0) },
          { type: StunAttr.LIFETIME, value: encodeU32(600) },
        ];
        const bytes = buildStun({ method, cls, transactionId: id, attributes, integrityKey: 'pw', fingerprint: true });
        const m = parsed(bytes);
        expect([m.method, m.cls]).toEqual([method, cls]);
        expect(m.attributes.map((a) => [a.type, a.length])).toEqual([
          [StunAttr.USERNAME, 3],
          [StunAttr.DATA, 0],
          [StunAttr.LIFETIME, 4],
          [StunAttr.MESSAGE_INTEGRITY, 20],
          [StunAttr.FINGERPRINT, 4],
        ]);
        expect(verifyIntegrity(m, 'pw')).toBe(true);
        expect(verifyFingerprint(m)).toBe(true);
      }
    }
  });

  it('attribute views point into the input (no copies)', () => {
    const bytes = buildStun({ method: 1, cls: 'request', transactionId: id, attributes: [{ type: StunAttr.DATA, value: encodeText('xyz') }] });
    const m = parsed(bytes);
    const value = attributeValue(m, StunAttr.DATA)!;
    expect(value.buffer).toBe(bytes.buffer);
    expect(m.transactionId.buffer).toBe(bytes.buffer);
    expect(findAttribute(m, StunAttr.DATA)).toEqual({ type: StunAttr.DATA, offset: 24, length: 3 });
    expect(findAttribute(m, StunAttr.USERNAME)).toBeUndefined();
  });

  it('only the first of repeated attributes counts; attributes after MESSAGE-INTEGRITY are ignored', () => {
    const base = buildStun({
      method: 1,
      cls: 'request',
      transactionId: id,
      attributes: [
        { type: StunAttr.USERNAME, value: encodeText('first') },
        { type: StunAttr.USERNAME, value: encodeText('second') },
      ],
      integrityKey: 'k',
    });
    const tail = Uint8Array.of(0x80, 0x22, 0, 4, 0x61, 0x62, 0x63, 0x64); // SOFTWARE "abcd" after MI
    const bytes = new Uint8Array(base.length + tail.length);
    bytes.set(base);
    bytes.set(tail, base.length);
    bytes[3]! += tail.length;
    const m = parsed(bytes);
    expect(text(m, StunAttr.USERNAME)).toBe('first');
    expect(findAttribute(m, StunAttr.SOFTWARE)).toBeUndefined();
    expect(verifyIntegrity(m, 'k')).toBe(true);
  });

  it('isStunPacket rejects media, DTLS, ChannelData and inconsistent lengths', () => {
    const ok = buildStun({ method: 1, cls: 'request', transactionId: id });
    expect(isStunPacket(ok)).toBe(true);
    const rtp = new Uint8Array(172);
    rtp[0] = 0x80;
    expect(isStunPacket(rtp)).toBe(false);
    const dtls = ok.slice();
    dtls[0] = 22;
    expect(isStunPacket(dtls)).toBe(false);
    const channel = ok.slice();
    channel[0] = 0x40;
    expect(isStunPacket(channel)).toBe(false);
    expect(isStunPacket(ok.subarray(0, 19))).toBe(false);
    const longer = new Uint8Array(24);
    longer.set(ok);
    expect(isStunPacket(longer)).toBe(false);
    const reserved = buildStun({ method: 0x100, cls: 'request', transactionId: id });
    expect(isStunPacket(reserved)).toBe(false); // RFC 7983: not in the demux range...
    expect(parseStun(reserved).ok).toBe(true); // ...but a well-formed RFC 8489 message
    const cookie = ok.slice();
    cookie[7] = 0x43;
    expect(isStunPacket(cookie)).toBe(false);
  });

  it('reports each malformation with its reason', () => {
    const good = buildStun({ method: 1, cls: 'request', transactionId: id, attributes: [{ type: StunAttr.USERNAME, value: encodeText('ab') }], integrityKey: 'k', fingerprint: true });
    const reason = (b: Uint8Array): string => {
      const r = parseStun(b);
      return r.ok ? 'ok' : r.reason;
    };
    expect(reason(good)).toBe('ok');
    expect(reason(good.subarray(0, 10))).toBe('too-short');
    const notStun = good.slice();
    notStun[0] = 0x80;
    expect(reason(notStun)).toBe('not-stun');
    expect(reason(good.subarray(0, good.length - 4))).toBe('bad-length');
    const overrun = good.slice();
    overrun[23] = 200; // USERNAME length past the end
    expect(reason(overrun)).toBe('attribute-overrun');
    const badMi = buildStun({ method: 1, cls: 'request', transactionId: id, attributes: [{ type: StunAttr.MESSAGE_INTEGRITY, value: new Uint8Array(16) }] });
    expect(reason(badMi)).toBe('bad-integrity-length');
    const badFp = buildStun({ method: 1, cls: 'request', transactionId: id, attributes: [{ type: StunAttr.FINGERPRINT, value: new Uint8Array(8) }] });
    expect(reason(badFp)).toBe('bad-fingerprint-length');
    const fpNotLast = buildStun({
      method: 1,
      cls: 'request',
      transactionId: id,
      attributes: [
        { type: StunAttr.FINGERPRINT, value: new Uint8Array(4) },
        { type: StunAttr.USERNAME, value: encodeText('x') },
      ],
    });
    expect(reason(fpNotLast)).toBe('fingerprint-not-last');
    const many = buildStun({
      method: 1,
      cls: 'request',
      transactionId: id,
      attributes: Array.from({ length: MAX_STUN_ATTRIBUTES + 1 }, () => ({ type: StunAttr.PRIORITY, value: encodeU32(1) })),
    });
    expect(reason(many)).toBe('too-many-attributes');
    // a rejection allocates nothing: the same frozen object every time
    expect(parseStun(notStun)).toBe(parseStun(notStun));
  });

  it('throws only on builder misuse', () => {
    expect(() => buildStun({ method: 1, cls: 'request', transactionId: new Uint8Array(11) })).toThrow(RangeError);
    expect(() => buildStun({ method: 0x1000, cls: 'request', transactionId: id })).toThrow(RangeError);
    expect(() => buildStun({ method: 1, cls: 'request', transactionId: id, attributes: [{ type: 1, value: new Uint8Array(0x10000) }] })).toThrow(RangeError);
  });

  it('CRC-32 is the ISO-HDLC one (check value of "123456789")', () => {
    expect(crc32(encodeText('123456789'))).toBe(0xcbf43926);
  });
});

describe('attribute codecs', () => {
  const id = hex('b7e7a701bc34d686fa87dfae');

  it('address attributes round-trip for IPv4 and IPv6, plain and XOR', () => {
    const endpoints = [
      { address: '192.0.2.1', port: 32853 },
      { address: '0.0.0.0', port: 0 },
      { address: '255.255.255.255', port: 65535 },
      { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 },
      { address: '::1', port: 1 },
      { address: 'fe80::1', port: 443 },
      { address: '2001:db8::', port: 5 },
    ];
    for (const e of endpoints) {
      expect(decodeAddress(encodeAddress(e))).toEqual(e);
      expect(decodeAddress(encodeAddress(e, id), id)).toEqual(e);
    }
    expect(toHex(encodeAddress({ address: '192.0.2.1', port: 32853 }, id))).toBe('0001a147e112a643');
    // IPv4-mapped IPv6 is encoded as IPv4 (one peer, one form: endpoint.ts)
    expect(decodeAddress(encodeAddress({ address: '::ffff:10.0.0.1', port: 9 }, id), id)).toEqual({ address: '10.0.0.1', port: 9 });
    // a Node Buffer in (what dgram delivers) is never written to
    const packet = Buffer.from(encodeAddress({ address: '2001:db8::9', port: 7 }, id));
    const before = Buffer.from(packet);
    expect(decodeAddress(packet, id)).toEqual({ address: '2001:db8::9', port: 7 });
    expect(packet.equals(before)).toBe(true);
    expect(decodeAddress(Uint8Array.of(0, 3, 0, 0, 1, 2, 3, 4))).toBeUndefined();
    expect(decodeAddress(Uint8Array.of(0, 1, 0, 0, 1, 2, 3))).toBeUndefined();
    expect(decodeAddress(Uint8Array.of(0, 2, 0, 0, 1, 2, 3, 4))).toBeUndefined();
    expect(() => encodeAddress({ address: 'example.org', port: 1 })).toThrow(RangeError);
    expect(() => encodeAddress({ address: '1.2.3.4', port: 70000 })).toThrow(RangeError);
  });

  it('IP literals parse and print as Node reports them (RFC 5952)', () => {
    const cases: [string, string][] = [
      ['::', '::'],
      ['1::', '1::'],
      ['2001:DB8::1', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['1:0:0:2::3', '1:0:0:2::3'],
      ['fe80::1%eth0', 'fe80::1'],
      ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ];
    for (const [input, output] of cases) expect(bytesToIp(ipToBytes(input)!), input).toBe(output);
    for (const bad of ['1.2.3', '256.1.1.1', '1:2:3:4:5:6:7:8:9', '1::2::3', '::g', '1.2.3.4::', '1:2:3:4:5:6:7::8', '', 'a.b.c.d']) {
      expect(ipToBytes(bad), bad).toBeUndefined();
    }
  });

  it('numbers, error codes, channel numbers, transports', () => {
    expect(decodeU32(encodeU32(0xffffffff))).toBe(0xffffffff);
    expect(decodeU32(new Uint8Array(3))).toBeUndefined();
    expect(decodeU64(encodeU64(0x0123456789abcdefn))).toBe(0x0123456789abcdefn);
    expect(decodeU64(new Uint8Array(7))).toBeUndefined();
    expect(decodeErrorCode(encodeErrorCode(438, 'Stale Nonce'))).toEqual({ code: 438, reason: 'Stale Nonce' });
    expect(toHex(encodeErrorCode(401, ''))).toBe('00000401');
    expect(decodeErrorCode(Uint8Array.of(0, 0, 2, 0))).toBeUndefined();
    expect(decodeErrorCode(Uint8Array.of(0, 0, 4, 100))).toBeUndefined();
    expect(decodeChannelNumber(encodeChannelNumber(0x4001))).toBe(0x4001);
    expect(toHex(encodeRequestedTransport())).toBe('11000000');
    expect(toHex(encodeRequestedFamily(6))).toBe('02000000');
    expect(() => encodeU32(-1)).toThrow(RangeError);
    expect(() => encodeErrorCode(200, 'x')).toThrow(RangeError);
  });
});
