/**
 * Which chunks of a well-formed SCTP packet the V3 carrier lets through to its SCTP stack, given
 * the association's state. Sans-I/O: a packet summary (sctp-packet.ts) and a view of the state in,
 * a keep/drop verdict per chunk out (the carrier rebuilds the packet with `keepSctpChunks`).
 * Dropping a chunk is always safe for a real peer: a DATA chunk is retransmitted, a control chunk
 * repeated on its timer; so the rules can be strict without stalling an association. Each rule
 * closes a way werift-sctp 0.0.11 could be made to misbehave by a peer or by whoever relays the
 * blobs (the SCTP layer is in the clear, §5.4):
 *
 * - INIT once the association exists: werift's server would re-read it and move its cumulative
 *   TSN back (a duplicated INIT from a lossy relay is enough), after which nothing is acked.
 * - DATA before INIT/INIT-ACK, on a stream other than 0, too far ahead of the cumulative TSN,
 *   beyond the receive window, or more than `maxDataChunks` new ones in a packet: werift buffers
 *   every such chunk and, per chunk, re-sorts its out-of-order TSN set and rescans its reassembly
 *   queue (quadratic in what it holds). tgcalls uses stream 0 only (§5.4, v3-sctp.md rule 4).
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
  /** New DATA chunks taken from one packet; the rest are dropped (the peer resends them). */
  readonly maxDataChunks: number;
}

export type SctpPolicyDropReason = 'unexpected-chunk' | 'stream' | 'tsn-window' | 'receive-window' | 'data-per-packet' | 'sack-range';

export interface SctpPolicyVerdict {
  /** Per chunk of the packet: hand it to the stack. */
  readonly keep: readonly boolean[];
  /** Why each refused chunk was refused. */
  readonly dropped: readonly SctpPolicyDropReason[];
  /** DATA chunks at or behind the cumulative TSN (retransmissions, replays): kept, werift re-acks them. */
  readonly duplicateData: number;
}

const TSN_HALF = 2 ** 31;

/** (a - b) mod 2^32. */
export function tsnDistance(a: number, b: number): number {
  return (a - b + 2 ** 32) % 2 ** 32;
}

export function filterSctpPacket(packet: SctpPacketSummary, view: SctpAssociationView, limits: SctpPolicyLimits): SctpPolicyVerdict {
  const keep: boolean[] = [];
  const dropped: SctpPolicyDropReason[] = [];
  let newBytes = 0;
  let newData = 0;
  let duplicateData = 0;
  for (const chunk of packet.chunks) {
    let reason: SctpPolicyDropReason | undefined;
    switch (chunk.type) {
      case ChunkType.INIT:
        // A client ignores INIT anyway (werift); a server takes one until the association exists.
        if (view.role === 'client' || view.established) reason = 'unexpected-chunk';
        break;
      case ChunkType.INIT_ACK:
        if (view.role === 'server') reason = 'unexpected-chunk';
        break;
      case ChunkType.COOKIE_ECHO:
        if (view.role === 'client') reason = 'unexpected-chunk';
        break;
      case ChunkType.FORWARD_TSN:
        reason = 'unexpected-chunk';
        break;
      case ChunkType.DATA: {
        if (!view.peerTsnKnown) {
          reason = 'unexpected-chunk';
          break;
        }
        if (chunk.streamId !== 0) {
          reason = 'stream';
          break;
        }
        const ahead = tsnDistance(chunk.tsn, view.lastReceivedTsn);
        // At or behind the cumulative TSN = a retransmission we already have: werift only
        // re-acks it, and it must, or a peer whose SACK was lost would resend forever.
        if (ahead === 0 || ahead >= TSN_HALF) {
          duplicateData++;
          break;
        }
        if (ahead > limits.tsnWindow) reason = 'tsn-window';
        else if (newData >= limits.maxDataChunks) reason = 'data-per-packet';
        else if (newBytes + chunk.dataLength > view.receiveWindow) reason = 'receive-window';
        else {
          newData++;
          newBytes += chunk.dataLength;
        }
        break;
      }
      case ChunkType.SACK: {
        const highestSent = tsnDistance(view.nextLocalTsn, 1);
        // Cumulative TSN ahead of anything we sent (a stale one, behind, werift ignores).
        const ahead = tsnDistance(chunk.cumulativeTsn, highestSent);
        const outstanding = tsnDistance(highestSent, chunk.cumulativeTsn);
        if ((ahead !== 0 && ahead < TSN_HALF) || chunk.gaps.some(([, end]) => outstanding >= TSN_HALF || end > outstanding)) reason = 'sack-range';
        break;
      }
      default:
        break;
    }
    keep.push(reason === undefined);
    if (reason) dropped.push(reason);
  }
  return { keep, dropped, duplicateData };
}
