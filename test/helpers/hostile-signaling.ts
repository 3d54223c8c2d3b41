/**
 * A hostile 8.0.0/9.0.0 signaling peer built from the library's own lower layers: it holds the
 * call key (it is the other party), so it can encrypt any body it likes (framing of
 * call-crypto-and-signaling.md §5.3). Used by the hostile-input tests and bench/signaling-hostile.ts.
 */
import { deflateSync, gzipSync } from 'node:zlib';
import { concatBytes, writeUint32BE } from '../../src/crypto/bytes.js';
import { MAX_INCOMING_PACKET_SIZE, MSG_KEY_SIZE, PacketCipher } from '../../src/crypto/packet-cipher.js';
import { REQUIRES_ACK_BIT } from '../../src/crypto/signaling-channel.js';

/** The largest body a packet accepted by the receiver can carry (128 KiB − msg_key). */
export const MAX_HOSTILE_BODY = MAX_INCOMING_PACKET_SIZE - MSG_KEY_SIZE;

export class HostilePeer {
  private readonly cipher: PacketCipher;
  /** The peer's outgoing counter: every message and packet takes a fresh one. */
  private counter = 0;

  /** `peerIsOutgoing`: the role of the hostile side (the opposite of the channel under attack). */
  constructor(key: Uint8Array, peerIsOutgoing: boolean) {
    this.cipher = new PacketCipher(key, peerIsOutgoing, 'signaling');
  }

  next(): number {
    return ++this.counter;
  }

  encrypt(body: Uint8Array): Uint8Array {
    return this.cipher.encrypt(body);
  }

  /** Service header (0xFE) followed by as many ack-requiring custom messages as fit in `maxBody`. */
  serviceWith(payloads: (index: number) => Uint8Array | undefined, maxBody = MAX_HOSTILE_BODY): { packet: Uint8Array; count: number } {
    const parts: Uint8Array[] = [empty(this.next())];
    let size = 5;
    let count = 0;
    for (;;) {
      const payload = payloads(count);
      if (!payload || size + 9 + payload.length > maxBody) break;
      parts.push(custom((this.next() | REQUIRES_ACK_BIT) >>> 0, payload));
      size += 9 + payload.length;
      count++;
    }
    return { packet: this.encrypt(concatBytes(...parts)), count };
  }

  /** A service packet (fresh counter) carrying these ack-requiring messages, then acks of `acks` (full seqs). */
  packet(messages: readonly { counter: number; payload: Uint8Array }[], acks: readonly number[] = []): Uint8Array {
    const parts = [empty(this.next())];
    for (const m of messages) parts.push(custom((m.counter | REQUIRES_ACK_BIT) >>> 0, m.payload));
    for (const seq of acks) parts.push(ack(seq));
    return this.encrypt(concatBytes(...parts));
  }

  /** One ack-requiring custom message alone, as a sender with an empty queue sends it. */
  single(payload: Uint8Array): Uint8Array {
    return this.encrypt(custom((this.next() | REQUIRES_ACK_BIT) >>> 0, payload));
  }
}

export function empty(seq: number): Uint8Array {
  const out = new Uint8Array(5);
  writeUint32BE(out, 0, seq);
  out[4] = 0xfe;
  return out;
}

export function ack(seq: number): Uint8Array {
  const out = new Uint8Array(5);
  writeUint32BE(out, 0, seq);
  out[4] = 0xff;
  return out;
}

export function custom(seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(9 + payload.length);
  writeUint32BE(out, 0, seq);
  out[4] = 0x7f;
  writeUint32BE(out, 5, payload.length);
  out.set(payload, 9);
  return out;
}

/** A payload that inflates to `size` zero bytes (just under the 2 MiB cap of §5.5 by default). */
export function bomb(kind: 'gzip' | 'zlib', size = 2 * 1024 * 1024 - 1): Uint8Array {
  const zeros = new Uint8Array(size);
  // default level: its zlib header is 78 9C, the one receivers recognise (level 9 writes 78 DA)
  return new Uint8Array(kind === 'gzip' ? gzipSync(zeros, { level: 9 }) : deflateSync(zeros));
}
