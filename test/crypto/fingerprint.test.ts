import { describe, expect, it } from 'vitest';
import { EMOJI_TABLE, emojiFingerprint, fromHex, keyFingerprint, keyFingerprintBytes, toHex } from '../../src/crypto/index.js';
import { CryptoError } from '../../src/errors.js';
import { callVectors, loadJson, rawVectorText } from '../helpers/vectors.js';

const v = callVectors();

/** int64 fields lose precision through JSON.parse: read them from the text. */
function int64Field(name: string): bigint {
  const match = new RegExp(`"${name}"\\s*:\\s*(-?\\d+)`).exec(rawVectorText('test-vectors.json'));
  if (!match) throw new Error(`no ${name} in vectors`);
  return BigInt(match[1]!);
}

describe('key fingerprint', () => {
  it('matches the generated vector (little-endian int64 of SHA1(key)[12..20])', () => {
    const key = fromHex(v.key_hex);
    expect(toHex(keyFingerprintBytes(key))).toBe(v.key_fingerprint_tl_bytes_hex);
    expect(keyFingerprint(key)).toBe(int64Field('key_fingerprint_int64'));
  });

  it('matches TDLib’s official calc_key_id vector', () => {
    const vector = v.tdlib_official_key_id_vector;
    const key = fromHex(vector.key_hex);
    expect(toHex(keyFingerprintBytes(key))).toBe(vector.fingerprint_bytes_hex);
    expect(keyFingerprint(key)).toBe(int64Field('fingerprint_int64'));
  });

  it('is signed: a high last byte gives a negative int64', () => {
    for (let seed = 0; seed < 64; seed++) {
      const key = new Uint8Array(256).fill(seed);
      const bytes = keyFingerprintBytes(key);
      const value = keyFingerprint(key);
      expect(value < 0n).toBe((bytes[7]! & 0x80) !== 0);
      expect(BigInt.asUintN(64, value)).toBe(Buffer.from(bytes).readBigUInt64LE(0));
    }
  });

  it('rejects keys that are not 256 bytes', () => {
    expect(() => keyFingerprint(new Uint8Array(255))).toThrow(CryptoError);
  });
});

describe('emoji fingerprint', () => {
  it('ships the same 333-entry table as shared/protocol', () => {
    expect(EMOJI_TABLE).toEqual(loadJson<string[]>('emoji-table.json'));
    expect(EMOJI_TABLE).toHaveLength(333);
  });

  it('matches the vector: SHA-256(key || g_a) -> 4 indices', () => {
    const result = emojiFingerprint(fromHex(v.key_hex), fromHex(v.g_a_hex));
    expect([...result.indices]).toEqual(v.emoji_indices);
    expect([...result.emoji]).toEqual(v.emoji);
  });

  it('depends on the exact g_a bytes', () => {
    const key = fromHex(v.key_hex);
    const gA = fromHex(v.g_a_hex);
    const other = emojiFingerprint(key, gA.subarray(1));
    expect(other.indices).not.toEqual(emojiFingerprint(key, gA).indices);
  });
});
