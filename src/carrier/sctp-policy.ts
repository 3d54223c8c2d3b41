/**
 * Which well-formed SCTP packets the V3 carrier lets through to its SCTP stack, given the
 * association's state. Sans-I/O: a packet summary (sctp-packet.ts) and a view of the state in,
 * undefined (admit) or a drop reason out. Each rule closes a way werift-sctp 0.0.11 could be made
 * to misbehave by a peer or by whoever relays the blobs (the SCTP layer is in the clear, §5.4):
 *
 * - INIT once the association exists: werift's server would re-read it and move its cumulative
 *   TSN back (a duplicated INIT from a lossy relay is enough), after which nothing is acked.
 * - DATA before INIT/INIT-ACK, on a stream other than 0, too far ahead of the cumulative TSN, or
 *   beyond the receive window: werift buffers every such chunk without limit and sorts its
 *   out-of-order set on each one. tgcalls uses stream 0 only (§5.4, v3-sctp.md rule 4).
 * - FORWARD-TSN: we do not offer PR-SCTP, so a peer must not send it; werift would jump its
 *   cumulative TSN to any value and open a reassembly queue per listed stream.
 * - A SACK acknowledging TSNs we never sent: werift walks each gap position.
 */
import { ChunkType, type SctpPacketSummary } from './sctp-packet.js';

export interface SctpAssociationView {
  readonly role: 'client' | 'server';
  /** INIT/INIT-ACK seen: the peer's TSNs have a base. */
  readonly peerTsnKnown: boolean;
  readonly established: boolean;
  /** The peer's cumulative TSN as we ack it. */
  readonly lastReceivedTsn: number;
  /** The TSN our next DATA chunk gets (so nextLocalTsn - 1 is the highest we sent). */
  readonly nextLocalTsn: number;
  /** Receive buffer left (bytes of DATA held for reassembly are taken from it). */
  readonly receiveWindow: number;
}

export interface SctpPolicyLimits {
  /** DATA more than this many TSNs ahead of the cumulative TSN is dropped (the peer resends it). */
  readonly tsnWindow: number;
}

export type SctpPolicyDropReason = 'unexpected-chunk' | 'stream' | 'tsn-window' | 'receive-window' | 'sack-range';

const TSN_HALF = 2 ** 31;

/** (a - b) mod 2^32. */
export function tsnDistance(a: number, b: number): number {
  return (a - b + 2 ** 32) % 2 ** 32;
}

export function admitSctpPacket(packet: SctpPacketSummary, view: SctpAssociationView, limits: SctpPolicyLimits): SctpPolicyDropReason | undefined {
  let newBytes = 0;
  for (const chunk of packet.chunks) {
    switch (chunk.type) {
      case ChunkType.INIT:
        // A client ignores INIT anyway (werift); a server takes one until the association exists.
        if (view.role === 'client' || view.established) return 'unexpected-chunk';
        break;
      case ChunkType.INIT_ACK:
        if (view.role === 'server') return 'unexpected-chunk';
        break;
      case ChunkType.COOKIE_ECHO:
        if (view.role === 'client') return 'unexpected-chunk';
        break;
      case ChunkType.FORWARD_TSN:
        return 'unexpected-chunk';
      case ChunkType.DATA: {
        if (!view.peerTsnKnown) return 'unexpected-chunk';
        if (chunk.streamId !== 0) return 'stream';
        const ahead = tsnDistance(chunk.tsn, view.lastReceivedTsn);
        // At or behind the cumulative TSN = a retransmission we already have: werift only
        // re-acks it, and it must, or a peer whose SACK was lost would resend forever.
        if (ahead === 0 || ahead >= TSN_HALF) break;
        if (ahead > limits.tsnWindow) return 'tsn-window';
        newBytes += chunk.dataLength;
        if (newBytes > view.receiveWindow) return 'receive-window';
        break;
      }
      case ChunkType.SACK: {
        const highestSent = tsnDistance(view.nextLocalTsn, 1);
        // Cumulative TSN ahead of anything we sent (a stale one, behind, werift ignores).
        const ahead = tsnDistance(chunk.cumulativeTsn, highestSent);
        if (ahead !== 0 && ahead < TSN_HALF) return 'sack-range';
        const outstanding = tsnDistance(highestSent, chunk.cumulativeTsn);
        for (const [, end] of chunk.gaps) if (outstanding >= TSN_HALF || end > outstanding) return 'sack-range';
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}

/** DATA chunks of `packet` that SCTP already has below its cumulative TSN (duplicates, replays). */
export function countDuplicateData(packet: SctpPacketSummary, view: Pick<SctpAssociationView, 'peerTsnKnown' | 'lastReceivedTsn'>): number {
  if (!view.peerTsnKnown) return 0;
  let n = 0;
  for (const chunk of packet.chunks) {
    if (chunk.type !== ChunkType.DATA) continue;
    const ahead = tsnDistance(chunk.tsn, view.lastReceivedTsn);
    if (ahead === 0 || ahead >= TSN_HALF) n++;
  }
  return n;
}
