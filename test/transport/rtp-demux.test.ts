import { describe, expect, it } from 'vitest';
import { classifyMediaPacket } from '../../src/transport/rtp-demux.js';

describe('RTP/RTCP demultiplexing (RFC 5761)', () => {
  const rtp = (pt: number, marker = false): Uint8Array => Uint8Array.from([0x80, (marker ? 0x80 : 0) | pt, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7]);
  it('tells RTP from RTCP by the packet type byte', () => {
    expect(classifyMediaPacket(rtp(111))).toBe('rtp');
    expect(classifyMediaPacket(rtp(111, true))).toBe('rtp');
    expect(classifyMediaPacket(rtp(0))).toBe('rtp');
    for (const type of [192, 200, 201, 202, 203, 205, 206, 207, 223]) {
      expect(classifyMediaPacket(Uint8Array.from([0x81, type, 0, 1, 0, 0, 0, 7]))).toBe('rtcp');
    }
  });
  it('rejects what is neither', () => {
    expect(classifyMediaPacket(new Uint8Array(0))).toBe('invalid');
    expect(classifyMediaPacket(Uint8Array.from([0x80, 111, 0, 1]))).toBe('invalid');
    expect(classifyMediaPacket(Uint8Array.from([0x40, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7]))).toBe('invalid');
    expect(classifyMediaPacket(Uint8Array.from([0x80, 111, 0, 1, 0, 0, 0, 0]))).toBe('invalid'); // 8-byte "RTP"
  });
});
