/** Raw TCP framing of reflectors (reflector.md §4): writer, incremental readers, broken streams. */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/fake/seeded-random.js';
import { encodeTcpFrame, TCP_MAX_PACKET, TcpClientFramer, TcpDeframer, TcpServerDeframer } from '../../src/network/tcp-framing.js';

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

describe('writer', () => {
  it('LE32 length then the packet; the client prologue ee ee ee ee once per connection', () => {
    expect(toHex(encodeTcpFrame(Uint8Array.of(1, 2, 3)))).toBe('03000000010203');
    const framer = new TcpClientFramer();
    expect(toHex(framer.frame(Uint8Array.of(9)))).toBe('eeeeeeee' + '01000000' + '09');
    expect(toHex(framer.frame(Uint8Array.of(9)))).toBe('01000000' + '09');
    framer.reset();
    expect(toHex(framer.frame(new Uint8Array(0)))).toBe('eeeeeeee' + '00000000');
    expect(encodeTcpFrame(new Uint8Array(TCP_MAX_PACKET)).length).toBe(TCP_MAX_PACKET + 4);
    expect(() => encodeTcpFrame(new Uint8Array(TCP_MAX_PACKET + 1))).toThrow(RangeError);
  });
});

describe('TcpDeframer', () => {
  it('merged frames in one chunk', () => {
    const d = new TcpDeframer();
    const stream = concat([encodeTcpFrame(Uint8Array.of(1)), encodeTcpFrame(Uint8Array.of(2, 2)), encodeTcpFrame(Uint8Array.of(3, 3, 3))]);
    expect(d.push(stream).map(toHex)).toEqual(['01', '0202', '030303']);
    expect(d.buffered).toBe(0);
    expect(d.stats).toMatchObject({ frames: 3, bytes: 6 });
  });

  it('a frame split byte by byte, header included', () => {
    const d = new TcpDeframer();
    const stream = concat([encodeTcpFrame(Uint8Array.of(5, 6, 7, 8, 9)), encodeTcpFrame(Uint8Array.of(1))]);
    const got: string[] = [];
    for (const byte of stream) got.push(...d.push(Uint8Array.of(byte)).map(toHex));
    expect(got).toEqual(['0506070809', '01']);
  });

  it('random chunking of a random stream yields the same packets', () => {
    const random = new SeededRandom(5);
    const packets = Array.from({ length: 300 }, () => random.bytes(random.nextUint32() % 700));
    const stream = concat(packets.map(encodeTcpFrame));
    const d = new TcpDeframer();
    const got: Uint8Array[] = [];
    for (let at = 0; at < stream.length; ) {
      const n = 1 + (random.nextUint32() % 1500);
      got.push(...d.push(stream.subarray(at, at + n)));
      at += n;
    }
    expect(got.map(toHex)).toEqual(packets.map(toHex));
    expect(d.broken).toBeUndefined();
  });

  it('delivered packets are copies, not views of the chunk', () => {
    const d = new TcpDeframer();
    const chunk = encodeTcpFrame(Uint8Array.of(1, 2));
    const [packet] = d.push(chunk);
    chunk.fill(0);
    expect(toHex(packet!)).toBe('0102');
  });

  it('zero-length frames are delivered (a reflector parser counts them as short) and counted', () => {
    const d = new TcpDeframer();
    expect(d.push(concat([encodeTcpFrame(new Uint8Array(0)), encodeTcpFrame(Uint8Array.of(4))])).map(toHex)).toEqual(['', '04']);
    expect(d.stats.empty).toBe(1);
  });

  it('exactly 64 KiB passes; one byte more breaks the stream: counted, buffer dropped, rest ignored', () => {
    const d = new TcpDeframer();
    expect(d.push(encodeTcpFrame(new Uint8Array(TCP_MAX_PACKET)))).toHaveLength(1);
    const header = Uint8Array.of(0x01, 0x00, 0x01, 0x00); // 65537
    expect(d.push(concat([header, new Uint8Array(100), encodeTcpFrame(Uint8Array.of(1))]))).toEqual([]);
    expect(d.broken).toBe('oversize');
    expect(d.stats.errors.oversize).toBe(1);
    expect(d.stats.ignoredBytes).toBe(105);
    expect(d.buffered).toBe(0);
    expect(d.push(encodeTcpFrame(Uint8Array.of(1)))).toEqual([]);
    expect(d.stats.errors.oversize).toBe(1); // counted once
  });

  it('garbage reads as a huge length: broken, never buffered beyond one maximal frame', () => {
    const random = new SeededRandom(9);
    for (let i = 0; i < 200; i++) {
      const d = new TcpDeframer();
      for (let j = 0; j < 20 && !d.broken; j++) {
        d.push(random.bytes(1 + (random.nextUint32() % 5000)));
        expect(d.buffered).toBeLessThanOrEqual(TCP_MAX_PACKET + 4);
      }
    }
  });
});

describe('TcpServerDeframer (the fake reading a client)', () => {
  it('expects the prologue first, even split across chunks', () => {
    const d = new TcpServerDeframer();
    const stream = concat([Uint8Array.of(0xee, 0xee, 0xee, 0xee), encodeTcpFrame(Uint8Array.of(7))]);
    expect(d.push(stream.subarray(0, 2))).toEqual([]);
    expect(d.push(stream.subarray(2, 6)).map(toHex)).toEqual([]);
    expect(d.push(stream.subarray(6)).map(toHex)).toEqual(['07']);
  });

  it('a client framer stream reads back', () => {
    const framer = new TcpClientFramer();
    const d = new TcpServerDeframer();
    const stream = concat([framer.frame(Uint8Array.of(1)), framer.frame(Uint8Array.of(2))]);
    expect(d.push(stream).map(toHex)).toEqual(['01', '02']);
  });

  it('anything else first is a bad prologue: broken', () => {
    const d = new TcpServerDeframer();
    expect(d.push(concat([Uint8Array.of(0xee, 0x00), encodeTcpFrame(Uint8Array.of(1))]))).toEqual([]);
    expect(d.broken).toBe('bad-prologue');
    expect(d.stats.errors['bad-prologue']).toBe(1);
    expect(d.push(Uint8Array.of(0xee, 0xee, 0xee, 0xee))).toEqual([]);
  });
});
