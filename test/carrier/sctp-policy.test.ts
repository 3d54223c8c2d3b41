/** The carrier's state-dependent admission rules (sctp-policy.ts), each against the hazard it closes. */
import { describe, expect, it } from 'vitest';
import { filterSctpPacket, keepSctpChunks, parseSctpPacket, tsnDistance, type SctpAssociationView, type SctpPacketSummary } from '../../src/carrier/index.js';
import { chunk, dataChunk, initChunk, packet, sackChunk, u32 } from './sctp-builder.js';

const LIMITS = { tsnWindow: 64, maxDataChunks: 4 };
const SERVER_UP: SctpAssociationView = { role: 'server', peerTsnKnown: true, established: true, lastReceivedTsn: 1000, nextLocalTsn: 5000, receiveWindow: 65536 };

function summary(chunks: number[][], vtag = 1): SctpPacketSummary {
  const parsed = parseSctpPacket(packet(chunks, { vtag }));
  if (!parsed.ok) throw new Error(`test packet rejected: ${parsed.reason}`);
  return parsed.packet;
}

/** The drop reasons for a packet (empty = all admitted). */
function drops(chunks: number[][], view: SctpAssociationView = SERVER_UP, vtag = 1): string[] {
  return [...filterSctpPacket(summary(chunks, vtag), view, LIMITS).dropped];
}

describe('filterSctpPacket', () => {
  it('admits in-window DATA on stream 0, duplicates (they must be re-acked) and a SACK for what we sent', () => {
    expect(drops([dataChunk(1001, [1])])).toEqual([]);
    expect(drops([dataChunk(1064, [1])])).toEqual([]);
    expect(drops([dataChunk(1000, [1]), dataChunk(990, [1])])).toEqual([]);
    expect(filterSctpPacket(summary([dataChunk(1000, [1]), dataChunk(990, [1]), dataChunk(1001, [1])]), SERVER_UP, LIMITS).duplicateData).toBe(2);
    expect(drops([sackChunk(4999, [])])).toEqual([]);
    expect(drops([sackChunk(4990, [[2, 9]])])).toEqual([]);
  });

  it('drops INIT once established (werift would reset its cumulative TSN), and INIT at a client', () => {
    expect(drops([initChunk()], { ...SERVER_UP, established: false, peerTsnKnown: false }, 0)).toEqual([]);
    expect(drops([initChunk()], SERVER_UP, 0)).toEqual(['unexpected-chunk']);
    expect(drops([initChunk()], { ...SERVER_UP, role: 'client', established: false }, 0)).toEqual(['unexpected-chunk']);
  });

  it('drops INIT-ACK at a server, COOKIE-ECHO at a client, and any FORWARD-TSN (PR-SCTP is not offered)', () => {
    expect(drops([initChunk({ type: 2 })])).toEqual(['unexpected-chunk']);
    expect(drops([chunk(10, [1, 2, 3, 4])], { ...SERVER_UP, role: 'client' })).toEqual(['unexpected-chunk']);
    expect(drops([chunk(192, u32(2000))])).toEqual(['unexpected-chunk']);
  });

  it('drops DATA before the peer TSN is known, on other streams, too far ahead, beyond the receive window or the per-packet count', () => {
    expect(drops([dataChunk(1001, [1])], { ...SERVER_UP, peerTsnKnown: false })).toEqual(['unexpected-chunk']);
    expect(drops([dataChunk(1001, [1], { stream: 3 })])).toEqual(['stream']);
    expect(drops([dataChunk(1065, [1])])).toEqual(['tsn-window']);
    expect(drops([dataChunk(1001, new Uint8Array(600)), dataChunk(1002, new Uint8Array(600))], { ...SERVER_UP, receiveWindow: 1000 })).toEqual(['receive-window']);
    expect(drops([1, 2, 3, 4, 5, 6].map((i) => dataChunk(1000 + i, [i])))).toEqual(['data-per-packet', 'data-per-packet']);
  });

  it('cuts refused chunks out of a bundle and keeps the rest, re-checksummed', () => {
    const bytes = packet([sackChunk(4999, []), dataChunk(1001, [1]), dataChunk(1001, [2], { stream: 9 }), dataChunk(1002, [3])], { vtag: 1 });
    const parsed = parseSctpPacket(bytes);
    if (!parsed.ok) throw new Error('rejected');
    const verdict = filterSctpPacket(parsed.packet, SERVER_UP, LIMITS);
    expect(verdict.keep).toEqual([true, true, false, true]);
    const rebuilt = keepSctpChunks(bytes, parsed.packet, verdict.keep)!;
    const again = parseSctpPacket(rebuilt);
    expect(again.ok && again.packet.chunks.map((c) => c.type)).toEqual([3, 0, 0]);
    expect(keepSctpChunks(bytes, parsed.packet, [false, false, false, false])).toBeUndefined();
    expect(keepSctpChunks(bytes, parsed.packet, [true, true, true, true])).toBe(bytes);
  });

  it('works across the 2^32 TSN wrap', () => {
    const view = { ...SERVER_UP, lastReceivedTsn: 0xffffffe0 };
    expect(drops([dataChunk(0x10, [1])], view)).toEqual([]);
    expect(drops([dataChunk(0x30, [1])], view)).toEqual(['tsn-window']);
    expect(tsnDistance(5, 0xfffffffe)).toBe(7);
  });

  it('drops a SACK that acknowledges TSNs we never sent (werift walks every gap position)', () => {
    expect(drops([sackChunk(5000, [])])).toEqual(['sack-range']);
    expect(drops([sackChunk(4990, [[2, 10]])])).toEqual(['sack-range']);
    expect(drops([sackChunk(4990, [[60000, 65535]])])).toEqual(['sack-range']);
  });
});
