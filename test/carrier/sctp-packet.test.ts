/**
 * The carrier's strict SCTP reader: accepts what dcSCTP/ntgcalls and werift send, rejects with a
 * reason everything that would make werift-sctp 0.0.11 loop, throw or do unbounded work.
 */
import { describe, expect, it } from 'vitest';
import { ChunkType, crc32c, parseSctpPacket, sctpChecksum } from '../../src/carrier/index.js';
import { SeededRandom } from '../../src/fake/index.js';
import { chunk, dataChunk, initChunk, packet, param, restamp, sackChunk, u16, u32 } from './sctp-builder.js';

/** ntgcalls 3.0.5's INIT on 13.0.0, captured (v3-sctp.md step 1). */
const NTGCALLS_INIT = '13881388000000004f6eef3d0100001e9cfb659e00500000ffffffff97924fb5c00000048008000682c00000';

describe('CRC32c', () => {
  it('matches the RFC 3720 B.4 vectors', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('verifies a captured ntgcalls INIT (checksum stored little-endian)', () => {
    const bytes = new Uint8Array(Buffer.from(NTGCALLS_INIT, 'hex'));
    const stored = Buffer.from(bytes).readUInt32LE(8);
    expect(sctpChecksum(bytes)).toBe(stored);
  });
});

describe('parseSctpPacket', () => {
  it('reads the captured ntgcalls INIT: ports 5000/5000, tag 0, one INIT chunk', () => {
    const result = parseSctpPacket(new Uint8Array(Buffer.from(NTGCALLS_INIT, 'hex')));
    expect(result).toEqual({ ok: true, packet: { sourcePort: 5000, destinationPort: 5000, verificationTag: 0, chunks: [{ type: ChunkType.INIT, flags: 0 }], spans: [[12, 44]] } });
  });

  it('reads bundled DATA and SACK chunks', () => {
    const result = parseSctpPacket(packet([dataChunk(7, [1, 2, 3]), sackChunk(99, [[2, 3]], [5])], { vtag: 9 }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.packet.chunks).toEqual([
      { type: ChunkType.DATA, flags: 3, tsn: 7, streamId: 0, dataLength: 3 },
      { type: ChunkType.SACK, cumulativeTsn: 99, gaps: [[2, 3]] },
    ]);
  });

  const cases: [string, Uint8Array, string][] = [
    ['too short', new Uint8Array(12), 'size'],
    ['too large', new Uint8Array(70_000), 'size'],
    ['bad checksum', packet([dataChunk(1, [1])], { badChecksum: true }), 'checksum'],
    // werift's parsePacket never advances past a zero-length chunk: an endless loop.
    ['zero-length chunk', packet([chunk(0, [], 0, 0)]), 'malformed'],
    ['chunk longer than the packet', packet([chunk(0, [...u32(1), 0, 0, 0, 0, ...u32(53), 1], 3, 400)]), 'malformed'],
    // werift's decodeParams never advances past a zero-length parameter either.
    ['zero-length INIT parameter', packet([initChunk({ params: param(0x8008, [], 0) })]), 'malformed'],
    ['zero-length HEARTBEAT parameter', packet([chunk(4, param(1, [], 0))]), 'malformed'],
    ['unknown chunk type', packet([chunk(0x40, [1, 2, 3, 4])]), 'unknown-chunk'],
    ['INIT bundled with DATA', packet([initChunk(), dataChunk(1, [1])]), 'malformed'],
    ['INIT with a non-zero verification tag', packet([initChunk()], { vtag: 5 }), 'malformed'],
    ['INIT with zero streams', packet([initChunk({ os: 0 })]), 'malformed'],
    ['DATA without user data', packet([chunk(0, [...u32(1), 0, 0, 0, 0, ...u32(53)])]), 'malformed'],
    ['SACK with a wrong length', packet([sackChunk(1, [[1, 1]], [], { gaps: 2 })]), 'malformed'],
    ['SACK gap end before start', packet([sackChunk(1, [[5, 2]])]), 'malformed'],
    ['SACK with too many gap blocks', packet([sackChunk(1, Array.from({ length: 65 }, (_, i) => [2 * i + 1, 2 * i + 1] as [number, number]))]), 'limit'],
    ['SACK with too many duplicates', packet([sackChunk(1, [], Array.from({ length: 65 }, (_, i) => i))]), 'limit'],
    ['FORWARD-TSN listing many streams', packet([chunk(192, [...u32(5), ...Array.from({ length: 17 }, (_, i) => [...u16(i), ...u16(0)]).flat()])]), 'limit'],
    ['RE-CONFIG reset request naming many streams', packet([chunk(130, param(13, [...u32(1), ...u32(1), ...u32(1), ...Array.from({ length: 17 }, (_, i) => u16(i)).flat()]))]), 'limit'],
    ['RE-CONFIG reset request too short', packet([chunk(130, param(13, [...u32(1)]))]), 'malformed'],
    ['more than 128 chunks', packet(Array.from({ length: 129 }, () => chunk(11, []))), 'limit'],
    ['trailing garbage', packet([chunk(11, []), [1, 2, 3, 4, 5]]), 'malformed'],
  ];
  for (const [name, bytes, reason] of cases) {
    it(`drops ${name} (${reason})`, () => {
      expect(parseSctpPacket(bytes)).toEqual({ ok: false, reason });
    });
  }

  it('never throws on random bytes or mutations of valid packets (seeded)', () => {
    const random = new SeededRandom(42);
    const valid = [packet([dataChunk(7, [1, 2, 3]), sackChunk(99, [[2, 3]], [5])], { vtag: 9 }), packet([initChunk({ params: param(0xc000, []) })])];
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const base = valid[i % valid.length]!;
      const bytes = i % 5 === 0 ? random.bytes(12 + Math.floor(random.next() * 100)) : new Uint8Array(base);
      for (let m = 0; m < 1 + Math.floor(random.next() * 4); m++) bytes[Math.floor(random.next() * bytes.length)] = Math.floor(random.next() * 256);
      const result = parseSctpPacket(restamp(bytes));
      if (result.ok) accepted++;
    }
    // Most single-byte mutations of a valid packet still parse (e.g. a changed TSN); none threw.
    expect(accepted).toBeGreaterThan(0);
  });
});
