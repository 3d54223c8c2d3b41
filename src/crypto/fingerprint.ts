/**
 * Key fingerprints (call-crypto-and-signaling.md §2.6, §3): the TL `key_fingerprint` and the
 * 4-emoji visualisation both peers display.
 */
import { createHash } from 'node:crypto';
import { CryptoError } from '../errors.js';
import { EMOJI_TABLE } from './emoji-table.js';

export const CALL_KEY_SIZE = 256;

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== CALL_KEY_SIZE) {
    throw new CryptoError('BAD_KEY', 'a call key is exactly 256 bytes');
  }
}

/** The 8 raw bytes SHA1(key)[12..20] (the TL `long` slot verbatim). */
export function keyFingerprintBytes(key: Uint8Array): Uint8Array {
  checkKey(key);
  return new Uint8Array(createHash('sha1').update(key).digest().subarray(12, 20));
}

/** SHA1(key)[12..20] read as a little-endian signed int64 (GramJS `long`). */
export function keyFingerprint(key: Uint8Array): bigint {
  const bytes = keyFingerprintBytes(key);
  return Buffer.from(bytes).readBigInt64LE(0);
}

export interface EmojiFingerprint {
  /** The 4 emoji, canonical form (no U+FE0F). */
  readonly emoji: readonly [string, string, string, string];
  /** Their indices in the 333-entry table. */
  readonly indices: readonly [number, number, number, number];
}

/** SHA-256(key || caller's g_a), 4 big-endian uint64 chunks with bit 63 cleared, mod 333. */
export function emojiFingerprint(key: Uint8Array, callerGA: Uint8Array): EmojiFingerprint {
  checkKey(key);
  const hash = createHash('sha256').update(key).update(callerGA).digest();
  const indices: number[] = [];
  for (let i = 0; i < 4; i++) {
    const chunk = hash.readBigUInt64BE(i * 8) & 0x7fffffffffffffffn;
    indices.push(Number(chunk % BigInt(EMOJI_TABLE.length)));
  }
  const emoji = indices.map((index) => EMOJI_TABLE[index]!);
  return {
    emoji: emoji as unknown as EmojiFingerprint['emoji'],
    indices: indices as unknown as EmojiFingerprint['indices'],
  };
}
