/** The carrier's state-dependent admission rules (sctp-policy.ts), each against the hazard it closes. */
import { describe, expect, it } from 'vitest';
import { admitSctpPacket, countDuplicateData, parseSctpPacket, tsnDistance, type SctpAssociationView, type SctpPacketSummary } from '../../src/carrier/index.js';
import { chunk, dataChunk, initChunk, packet, sackChunk, u32 } from './sctp-builder.js';

const LIMITS = { tsnWindow: 256 };
const SERVER_UP: SctpAssociationView = { role: 'server', peerTsnKnown: true, established: true, lastReceivedTsn: 1000, nextLocalTsn: 5000, receiveWindow: 65536 };

function summary(chunks: number[][], vtag = 1): SctpPacketSummary {
  const parsed = parseSctpPacket(packet(chunks, { vtag }));
  if (!parsed.ok) throw new Error(`test packet rejected: ${parsed.reason}`);
  return parsed.packet;
}

describe('admitSctpPacket', () => {
  it('admits in-window DATA on stream 0, duplicates (they must be re-acked) and a SACK for what we sent', () => {
    expect(admitSctpPacket(summary([dataChunk(1001, [1])]), SERVER_UP, LIMITS)).toBeUndefined();
    expect(admitSctpPacket(summary([dataChunk(1256, [1])]), SERVER_UP, LIMITS)).toBeUndefined();
    expect(admitSctpPacket(summary([dataChunk(1000, [1]), dataChunk(990, [1])]), SERVER_UP, LIMITS)).toBeUndefined();
    expect(admitSctpPacket(summary([sackChunk(4999, [])]), SERVER_UP, LIMITS)).toBeUndefined();
    expect(admitSctpPacket(summary([sackChunk(4990, [[2, 9]])]), SERVER_UP, LIMITS)).toBeUndefined();
  });

  it('drops INIT once established (werift would reset its cumulative TSN), and INIT at a client', () => {
    const init = summary([initChunk()], 0);
    expect(admitSctpPacket(init, { ...SERVER_UP, established: false, peerTsnKnown: false }, LIMITS)).toBeUndefined();
    expect(admitSctpPacket(init, SERVER_UP, LIMITS)).toBe('unexpected-chunk');
    expect(admitSctpPacket(init, { ...SERVER_UP, role: 'client', established: false }, LIMITS)).toBe('unexpected-chunk');
  });

  it('drops INIT-ACK at a server, COOKIE-ECHO at a client, and any FORWARD-TSN (PR-SCTP is not offered)', () => {
    expect(admitSctpPacket(summary([initChunk({ type: 2 })]), SERVER_UP, LIMITS)).toBe('unexpected-chunk');
    expect(admitSctpPacket(summary([chunk(10, [1, 2, 3, 4])]), { ...SERVER_UP, role: 'client' }, LIMITS)).toBe('unexpected-chunk');
    expect(admitSctpPacket(summary([chunk(192, u32(2000))]), SERVER_UP, LIMITS)).toBe('unexpected-chunk');
  });

  it('drops DATA before the peer TSN is known, on other streams, too far ahead, or beyond the receive window', () => {
    expect(admitSctpPacket(summary([dataChunk(1001, [1])]), { ...SERVER_UP, peerTsnKnown: false }, LIMITS)).toBe('unexpected-chunk');
    expect(admitSctpPacket(summary([dataChunk(1001, [1], { stream: 3 })]), SERVER_UP, LIMITS)).toBe('stream');
    expect(admitSctpPacket(summary([dataChunk(1257, [1])]), SERVER_UP, LIMITS)).toBe('tsn-window');
    expect(admitSctpPacket(summary([dataChunk(1001, new Uint8Array(600)), dataChunk(1002, new Uint8Array(600))]), { ...SERVER_UP, receiveWindow: 1000 }, LIMITS)).toBe('receive-window');
  });

  it('works across the 2^32 TSN wrap', () => {
    const view = { ...SERVER_UP, lastReceivedTsn: 0xffffff80 };
    expect(admitSctpPacket(summary([dataChunk(0x10, [1])]), view, LIMITS)).toBeUndefined();
    expect(admitSctpPacket(summary([dataChunk(0x100, [1])]), view, LIMITS)).toBe('tsn-window');
    expect(tsnDistance(5, 0xfffffffe)).toBe(7);
  });

  it('drops a SACK that acknowledges TSNs we never sent (werift walks every gap position)', () => {
    expect(admitSctpPacket(summary([sackChunk(5000, [])]), SERVER_UP, LIMITS)).toBe('sack-range');
    expect(admitSctpPacket(summary([sackChunk(4990, [[2, 10]])]), SERVER_UP, LIMITS)).toBe('sack-range');
    expect(admitSctpPacket(summary([sackChunk(4990, [[60000, 65535]])]), SERVER_UP, LIMITS)).toBe('sack-range');
  });

  it('counts DATA at or behind the cumulative TSN as duplicates', () => {
    expect(countDuplicateData(summary([dataChunk(1000, [1]), dataChunk(999, [1]), dataChunk(1001, [1])]), SERVER_UP)).toBe(2);
  });
});
