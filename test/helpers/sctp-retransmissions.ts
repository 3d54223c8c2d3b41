/**
 * A fake-Telegram signaling hook that counts SCTP retransmissions: DATA chunks a sender put on the
 * wire more than once. It sees each blob as sent, before the relay's loss and duplication, so a
 * repeat is the sender's SCTP retransmitting, not the relay copying.
 */
import { ChunkType, parseSctpPacket } from '../../src/carrier/index.js';
import type { FakeSignalingPacket } from '../../src/fake/index.js';

export function retransmissionCounter(): { hook: (packet: FakeSignalingPacket) => Uint8Array; readonly count: number } {
  const seen = new Map<bigint, Set<number>>();
  let count = 0;
  return {
    hook: (packet) => {
      const parsed = parseSctpPacket(packet.data);
      if (parsed.ok) {
        const tsns = seen.get(packet.from) ?? new Set<number>();
        seen.set(packet.from, tsns);
        for (const chunk of parsed.packet.chunks) {
          if (chunk.type !== ChunkType.DATA) continue;
          if (tsns.has(chunk.tsn)) count++;
          tsns.add(chunk.tsn);
        }
      }
      return packet.data;
    },
    get count() {
      return count;
    },
  };
}
