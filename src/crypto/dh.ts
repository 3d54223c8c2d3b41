/**
 * The DH exchange of a call (call-crypto-and-signaling.md §2.3–§2.5): secret generation mixed
 * with the server's random, g^x with the 2^1984 range rule on both own and peer values, minimal
 * big-endian encoding of g_a/g_b, g_a_hash, and the 256-byte shared key.
 */
import { createHash, randomBytes as nodeRandomBytes } from 'node:crypto';
import { CryptoError } from '../errors.js';
import { bytesToBigInt, constantTimeEqual } from './bytes.js';
import { modExpFor, type DhParams } from './dh-config.js';

export const DH_SECRET_SIZE = 256;
const RANGE_BITS = 1984n;
const MAX_KEYGEN_ATTEMPTS = 32;

export type RandomBytes = (size: number) => Uint8Array;

export interface DhKeyPair {
  /** 256-byte secret exponent. Never log it. */
  readonly secret: Uint8Array;
  /** g^secret mod p, minimal big-endian (what goes on the wire as g_a / g_b). */
  readonly publicKey: Uint8Array;
}

/** True when 2^1984 <= x <= p - 2^1984 (TDLib's rule; satisfies every official client). */
export function isDhValueInRange(params: DhParams, x: bigint): boolean {
  const bound = 1n << RANGE_BITS;
  return x >= bound && x <= params.p - bound;
}

/** Throws `CryptoError('DH_BAD_VALUE')` unless `value` is a well-formed, in-range g_a / g_b. */
export function checkDhValue(params: DhParams, value: Uint8Array, what = 'DH value'): void {
  if (!(value instanceof Uint8Array) || value.length === 0 || value.length > DH_SECRET_SIZE) {
    throw new CryptoError('DH_BAD_VALUE', `${what} has an invalid length`);
  }
  if (!isDhValueInRange(params, bytesToBigInt(value))) {
    throw new CryptoError('DH_BAD_VALUE', `${what} is outside 2^1984 .. p - 2^1984`);
  }
}

/**
 * Draws a secret (256 random bytes XOR the server's 256 random bytes, like tdesktop/Android) and
 * computes its public value, retrying until the public value is in range.
 */
export function generateDhKeyPair(
  params: DhParams,
  serverRandom: Uint8Array,
  randomBytes: RandomBytes = nodeRandomBytes,
): DhKeyPair {
  if (!(serverRandom instanceof Uint8Array) || serverRandom.length !== DH_SECRET_SIZE) {
    throw new CryptoError('DH_BAD_RANDOM', 'the server random must be exactly 256 bytes');
  }
  const engine = modExpFor(params);
  for (let attempt = 0; attempt < MAX_KEYGEN_ATTEMPTS; attempt++) {
    const own = randomBytes(DH_SECRET_SIZE);
    if (own.length !== DH_SECRET_SIZE) throw new CryptoError('DH_BAD_RANDOM', 'random source returned a short buffer');
    const secret = new Uint8Array(DH_SECRET_SIZE);
    for (let i = 0; i < DH_SECRET_SIZE; i++) secret[i] = own[i]! ^ serverRandom[i]!;
    const publicKey = engine.powG(secret);
    if (isDhValueInRange(params, bytesToBigInt(publicKey))) return { secret, publicKey };
  }
  throw new CryptoError('DH_KEYGEN_FAILED', 'no in-range DH value after repeated attempts');
}

/** Public value for a given secret (used by tests with fixed secrets). */
export function dhPublicKey(params: DhParams, secret: Uint8Array): Uint8Array {
  return modExpFor(params).powG(secret);
}

/** key = peer^secret mod p, left-padded to 256 bytes. Checks the peer's value first. */
export function computeSharedKey(params: DhParams, secret: Uint8Array, peerPublic: Uint8Array): Uint8Array {
  checkDhValue(params, peerPublic, 'peer DH value');
  if (secret.length !== DH_SECRET_SIZE) throw new CryptoError('DH_BAD_SECRET', 'secret must be 256 bytes');
  try {
    return modExpFor(params).pow(peerPublic, secret);
  } catch (cause) {
    throw new CryptoError('DH_BAD_VALUE', 'shared key computation failed', { cause });
  }
}

/** g_a_hash = SHA-256 over exactly the g_a bytes that will be sent in confirmCall. */
export function gAHash(gA: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(gA).digest());
}

/** Callee's check that the revealed g_a matches the hash it received first (constant time). */
export function checkGAHash(gA: Uint8Array, expectedHash: Uint8Array): void {
  if (expectedHash.length !== 32 || !constantTimeEqual(gAHash(gA), expectedHash)) {
    throw new CryptoError('DH_HASH_MISMATCH', 'g_a does not match g_a_hash');
  }
}
