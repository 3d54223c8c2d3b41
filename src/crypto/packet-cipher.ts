/**
 * Packet encryption of tgcalls' EncryptedConnection (call-crypto-and-signaling.md §4):
 * packet = msg_key(16) || AES-256-CTR(aes_key, aes_iv, body), with msg_key and the key/IV
 * derived from the 256-byte call key at an offset x that depends on the sender's role.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { CryptoError } from '../errors.js';
import { constantTimeEqual } from './bytes.js';
import { CALL_KEY_SIZE } from './fingerprint.js';

export type ConnectionKind = 'signaling' | 'transport';

export const MSG_KEY_SIZE = 16;
/** 16 msg_key + 4 seq + at least one byte. */
export const MIN_PACKET_SIZE = 21;
/** Larger incoming packets are not even decrypted (tgcalls kMaxIncomingPacketSize). */
export const MAX_INCOMING_PACKET_SIZE = 128 * 1024;

/** x for the sender: caller 0 / callee 8, plus 128 on the signaling connection. */
export function senderOffset(senderIsOutgoing: boolean, kind: ConnectionKind): number {
  return (senderIsOutgoing ? 0 : 8) + (kind === 'signaling' ? 128 : 0);
}

/** msg_key = SHA256(key[88+x .. 88+x+32] || body)[8..24]. */
export function computeMsgKey(key: Uint8Array, body: Uint8Array, x: number): Uint8Array {
  const large = createHash('sha256').update(key.subarray(88 + x, 88 + x + 32)).update(body).digest();
  return new Uint8Array(large.subarray(8, 24));
}

/** AES key (32 bytes) and IV (16 bytes) for one packet. */
export function deriveAesKeyIv(key: Uint8Array, msgKey: Uint8Array, x: number): { key: Uint8Array; iv: Uint8Array } {
  const a = createHash('sha256').update(msgKey).update(key.subarray(x, x + 36)).digest();
  const b = createHash('sha256').update(key.subarray(40 + x, 40 + x + 36)).update(msgKey).digest();
  const aesKey = new Uint8Array(32);
  aesKey.set(a.subarray(0, 8), 0);
  aesKey.set(b.subarray(8, 24), 8);
  aesKey.set(a.subarray(24, 32), 24);
  const iv = new Uint8Array(16);
  iv.set(b.subarray(0, 4), 0);
  iv.set(a.subarray(8, 16), 4);
  iv.set(b.subarray(24, 28), 12);
  return { key: aesKey, iv };
}

/** AES-256-CTR with the full 128-bit big-endian counter (OpenSSL's aes-256-ctr). */
export function aesCtr(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  const first = cipher.update(data);
  const rest = cipher.final();
  if (rest.length === 0) return new Uint8Array(first.buffer, first.byteOffset, first.byteLength);
  return new Uint8Array(Buffer.concat([first, rest]));
}

export type DecryptResult =
  | { ok: true; body: Uint8Array }
  | { ok: false; reason: 'size' | 'msg-key' };

/** Encrypts our packets and decrypts the peer's, for one call key and role. */
export class PacketCipher {
  private readonly key: Uint8Array;
  private readonly encryptX: number;
  private readonly decryptX: number;

  constructor(key: Uint8Array, isOutgoing: boolean, kind: ConnectionKind = 'signaling') {
    if (!(key instanceof Uint8Array) || key.length !== CALL_KEY_SIZE) {
      throw new CryptoError('BAD_KEY', 'a call key is exactly 256 bytes');
    }
    this.key = new Uint8Array(key);
    this.encryptX = senderOffset(isOutgoing, kind);
    this.decryptX = senderOffset(!isOutgoing, kind);
  }

  encrypt(body: Uint8Array): Uint8Array {
    const msgKey = computeMsgKey(this.key, body, this.encryptX);
    const { key, iv } = deriveAesKeyIv(this.key, msgKey, this.encryptX);
    const packet = new Uint8Array(MSG_KEY_SIZE + body.length);
    packet.set(msgKey, 0);
    packet.set(aesCtr(key, iv, body), MSG_KEY_SIZE);
    return packet;
  }

  /** Never throws: a bad packet is reported as a reason the caller counts. */
  decrypt(packet: Uint8Array): DecryptResult {
    if (!(packet instanceof Uint8Array) || packet.length < MIN_PACKET_SIZE || packet.length > MAX_INCOMING_PACKET_SIZE) {
      return { ok: false, reason: 'size' };
    }
    const msgKey = packet.subarray(0, MSG_KEY_SIZE);
    const { key, iv } = deriveAesKeyIv(this.key, msgKey, this.decryptX);
    const body = aesCtr(key, iv, packet.subarray(MSG_KEY_SIZE));
    const expected = computeMsgKey(this.key, body, this.decryptX);
    if (!constantTimeEqual(expected, msgKey)) return { ok: false, reason: 'msg-key' };
    return { ok: true, body };
  }
}

/**
 * Encrypts one packet body for the peer: the one-shot form of `PacketCipher.encrypt` (keep a
 * `PacketCipher` for a stream of packets; it checks and copies the key once).
 *
 * @param key the 256-byte call key (`CallReadyInfo.key`)
 * @param isOutgoing our side of the key: true on the caller (`CallReadyInfo.isOutgoing`)
 * @param body the plaintext body (on the signaling connection: seq and message, §4)
 * @param kind which connection's key offset to use (default `signaling`)
 * @returns msg_key(16) || AES-256-CTR(body)
 * @throws CryptoError `BAD_KEY` when the key is not 256 bytes
 *
 * @example
 * const packet = encryptPacket(ready.key, ready.isOutgoing, body);
 * // the peer, with the same key and its own side:
 * const result = decryptPacket(key, !ready.isOutgoing, packet); // { ok: true, body }
 */
export function encryptPacket(key: Uint8Array, isOutgoing: boolean, body: Uint8Array, kind: ConnectionKind = 'signaling'): Uint8Array {
  return new PacketCipher(key, isOutgoing, kind).encrypt(body);
}

/**
 * Decrypts one packet from the peer: the one-shot form of `PacketCipher.decrypt`. `isOutgoing`
 * is our own side of the key, as for `encryptPacket`. Never throws for a bad packet: a wrong size
 * or msg_key (tampered, or encrypted by the other side of the key) comes back as
 * `{ ok: false, reason }`.
 *
 * @throws CryptoError `BAD_KEY` when the key is not 256 bytes (local misuse)
 */
export function decryptPacket(key: Uint8Array, isOutgoing: boolean, packet: Uint8Array, kind: ConnectionKind = 'signaling'): DecryptResult {
  return new PacketCipher(key, isOutgoing, kind).decrypt(packet);
}
