import { describe, expect, it } from 'vitest';
import { RtpPacket as WeriftRtpPacket } from 'werift-rtp';
import {
  decodeAbsSendTime,
  decodeTransportSequence,
  encodeAbsSendTime,
  encodeTransportSequence,
  findExtension,
  isRtcpPacket,
  parseRtp,
  readRtpExtensionU16,
  readRtpHeader,
  serializeRtp,
  type RtpPacket,
} from '../../src/media/rtp.js';
import { seededRandom } from './lossy-link.js';

const payload = Uint8Array.of(0xfc, 1, 2, 3, 4);

function parseOk(buf: Uint8Array) {
  const r = parseRtp(buf);
  if (!r.ok) throw new Error(`unexpected drop: ${r.reason}`);
  return r.packet;
}

describe('rtp', () => {
  it('round-trips a plain packet', () => {
    const buf = serializeRtp({ payloadType: 111, marker: true, sequenceNumber: 65535, timestamp: 0xfffffc40, ssrc: 0xdeadbeef, payload });
    expect(buf.length).toBe(12 + payload.length);
    expect(buf[0]).toBe(0x80);
    expect(buf[1]).toBe(0x80 | 111);
    const p = parseOk(buf);
    expect(p).toMatchObject({ payloadType: 111, marker: true, sequenceNumber: 65535, timestamp: 0xfffffc40, ssrc: 0xdeadbeef });
    expect([...p.payload]).toEqual([...payload]);
    expect(p.extensions).toEqual([]);
  });

  it('writes one-byte extensions (RFC 8285) that libwebrtc-style parsers read', () => {
    const ast = encodeAbsSendTime(12_345.678);
    const buf = serializeRtp({
      payloadType: 111,
      sequenceNumber: 7,
      timestamp: 960,
      ssrc: 42,
      extensions: [
        { id: 2, data: ast },
        { id: 3, data: encodeTransportSequence(0xbeef) },
      ],
      payload,
    });
    // header 12 + ext header 4 + (1+3)+(1+2)=7 → padded to 8
    expect(buf.length).toBe(12 + 4 + 8 + payload.length);
    expect(buf.readUInt16BE(12)).toBe(0xbede);
    expect(buf.readUInt16BE(14)).toBe(2);
    expect(buf[16]).toBe((2 << 4) | 2);
    const p = parseOk(buf);
    expect(decodeAbsSendTime(findExtension(p, 2)!)).toBe(Math.floor(12.345678 * 2 ** 18) & 0xffffff);
    expect(decodeTransportSequence(findExtension(p, 3)!)).toBe(0xbeef);
    expect([...p.payload]).toEqual([...payload]);

    const w = WeriftRtpPacket.deSerialize(buf);
    expect(w.header.sequenceNumber).toBe(7);
    expect(w.header.extensions.map((e) => e.id)).toEqual([2, 3]);
    expect([...w.header.extensions[1]!.payload]).toEqual([0xbe, 0xef]);
    expect([...w.payload]).toEqual([...payload]);
  });

  it('parses what werift-rtp serializes, including CSRCs and extensions', () => {
    const w = WeriftRtpPacket.deSerialize(
      serializeRtp({ payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, csrcs: [10, 20], extensions: [{ id: 5, data: Uint8Array.of(9) }], payload }),
    );
    const again = parseOk(w.serialize());
    expect(again.csrcs).toEqual([10, 20]);
    expect(again.extensions.map((e) => [e.id, [...e.data]])).toEqual([[5, [9]]]);
    expect([...again.payload]).toEqual([...payload]);
  });

  it('falls back to two-byte extensions for large elements and parses them', () => {
    const big = new Uint8Array(40).fill(7);
    const buf = serializeRtp({ payloadType: 111, sequenceNumber: 1, timestamp: 1, ssrc: 1, extensions: [{ id: 20, data: big }], payload });
    expect(buf.readUInt16BE(12)).toBe(0x1000);
    const p = parseOk(buf);
    expect(p.extensions[0]!.id).toBe(20);
    expect(p.extensions[0]!.data.length).toBe(40);
  });

  it('strips padding', () => {
    const buf = Buffer.concat([serializeRtp({ payloadType: 111, sequenceNumber: 1, timestamp: 1, ssrc: 1, payload }), Buffer.from([0, 0, 3])]);
    buf[0] = buf[0]! | 0x20;
    expect([...parseOk(buf).payload]).toEqual([...payload]);
  });

  it('drops malformed packets with a reason instead of throwing', () => {
    expect(parseRtp(new Uint8Array(5))).toEqual({ ok: false, reason: 'too-short' });
    const v1 = serializeRtp({ payloadType: 111, sequenceNumber: 1, timestamp: 1, ssrc: 1, payload });
    v1[0] = 0x40;
    expect(parseRtp(v1)).toEqual({ ok: false, reason: 'bad-version' });
    const csrc = serializeRtp({ payloadType: 111, sequenceNumber: 1, timestamp: 1, ssrc: 1, payload: new Uint8Array(0) });
    csrc[0] = 0x8f;
    expect(parseRtp(csrc)).toEqual({ ok: false, reason: 'bad-csrc' });
    const ext = serializeRtp({ payloadType: 111, sequenceNumber: 1, timestamp: 1, ssrc: 1, extensions: [{ id: 1, data: Uint8Array.of(1) }], payload });
    ext.writeUInt16BE(50, 14); // extension length beyond the packet
    expect(parseRtp(ext)).toEqual({ ok: false, reason: 'bad-extension' });
    const elem = serializeRtp({ payloadType: 111, sequenceNumber: 1, timestamp: 1, ssrc: 1, extensions: [{ id: 1, data: Uint8Array.of(1) }], payload });
    elem[16] = (1 << 4) | 15; // element claims 16 bytes inside a 4-byte block
    expect(parseRtp(elem)).toEqual({ ok: false, reason: 'bad-extension' });
    const pad = serializeRtp({ payloadType: 111, sequenceNumber: 1, timestamp: 1, ssrc: 1, payload });
    pad[0] = pad[0]! | 0x20;
    pad[pad.length - 1] = 200;
    expect(parseRtp(pad)).toEqual({ ok: false, reason: 'bad-padding' });
  });

  it('survives random garbage', () => {
    const rand = seededRandom(99);
    let ok = 0;
    for (let i = 0; i < 20_000; i += 1) {
      const buf = new Uint8Array(Math.floor(rand() * 64));
      for (let j = 0; j < buf.length; j += 1) buf[j] = Math.floor(rand() * 256);
      if (buf.length > 0 && rand() < 0.5) buf[0] = 0x90 | (buf[0]! & 0x2f); // often valid version + extension
      const r = parseRtp(buf);
      if (r.ok) {
        ok += 1;
        expect(r.packet.payload.length).toBeGreaterThanOrEqual(0);
        expect(r.packet.payload.byteOffset + r.packet.payload.length).toBeLessThanOrEqual(buf.byteOffset + buf.length);
      }
    }
    expect(ok).toBeGreaterThan(0);
  });

  it('reads headers and one extension without collecting, agreeing with parseRtp on any input', () => {
    const rand = seededRandom(7);
    const into: RtpPacket = { payloadType: 0, marker: false, sequenceNumber: 0, timestamp: 0, ssrc: 0, csrcs: [], extensions: [], payload: new Uint8Array(0) };
    let valid = 0;
    for (let i = 0; i < 20_000; i += 1) {
      let buf: Uint8Array;
      if (rand() < 0.5) {
        // well-formed, with random extension sets in either form
        const exts = Array.from({ length: Math.floor(rand() * 4) }, () => ({ id: 1 + Math.floor(rand() * (rand() < 0.8 ? 14 : 40)), data: new Uint8Array(1 + Math.floor(rand() * 3)).map(() => rand() * 256) }));
        buf = serializeRtp({ payloadType: 111, sequenceNumber: i & 0xffff, timestamp: i * 960, ssrc: 77, csrcs: rand() < 0.2 ? [5] : [], extensions: exts, payload });
        if (rand() < 0.3) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256); // sometimes damaged
      } else {
        buf = new Uint8Array(Math.floor(rand() * 48)).map(() => rand() * 256);
        if (buf.length > 0) buf[0] = 0x90 | (buf[0]! & 0x2f);
      }
      const full = parseRtp(buf);
      const reason = readRtpHeader(buf, into);
      expect(reason).toBe(full.ok ? undefined : full.reason);
      if (!full.ok) continue;
      valid += 1;
      const { csrcs: _c, extensions: _e, ...header } = full.packet;
      expect({ ...into, csrcs: undefined, extensions: undefined }).toEqual({ ...header, csrcs: undefined, extensions: undefined });
      for (const id of [1, 2, 3, 20]) {
        const data = findExtension(full.packet, id);
        expect(readRtpExtensionU16(buf, id)).toBe(data ? decodeTransportSequence(data) : undefined);
      }
    }
    expect(valid).toBeGreaterThan(5000);
  });

  it('tells RTCP from RTP on a muxed port (RFC 5761)', () => {
    expect(isRtcpPacket(Uint8Array.of(0x80, 200, 0, 6))).toBe(true);
    expect(isRtcpPacket(Uint8Array.of(0x81, 205, 0, 6))).toBe(true);
    expect(isRtcpPacket(serializeRtp({ payloadType: 111, marker: true, sequenceNumber: 1, timestamp: 1, ssrc: 1, payload }))).toBe(false);
    expect(parseRtp(Uint8Array.of(0x80, 201, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0))).toEqual({ ok: false, reason: 'rtcp' });
  });

  it('encodes abs-send-time as 6.18 fixed point wrapping every 64 s', () => {
    expect(decodeAbsSendTime(encodeAbsSendTime(0))).toBe(0);
    expect(decodeAbsSendTime(encodeAbsSendTime(1000))).toBe(1 << 18);
    expect(decodeAbsSendTime(encodeAbsSendTime(64_000))).toBe(0);
    expect(decodeAbsSendTime(encodeAbsSendTime(63_999.999))).toBe(0xffffff);
    expect(decodeAbsSendTime(Uint8Array.of(1, 2))).toBeUndefined();
  });
});
