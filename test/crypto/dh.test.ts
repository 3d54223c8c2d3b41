import { createDiffieHellman, createHash } from 'node:crypto';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  bigIntToBytes,
  bytesToBigInt,
  checkDhValue,
  checkGAHash,
  computeSharedKey,
  dhPublicKey,
  fromHex,
  gAHash,
  generateDhKeyPair,
  stripLeadingZeros,
  TELEGRAM_DH_PRIME_HEX,
  toHex,
  validateDhConfig,
} from '../../src/crypto/index.js';
import { ModExp } from '../../src/crypto/dh-config.js';
import { CryptoError } from '../../src/errors.js';
import { callVectors, loadJson, seededBytes, seededRandom } from '../helpers/vectors.js';

const v = callVectors();
const primes = loadJson<{ rfc3526_modp14_hex: string; non_safe_prime_hex: string }>('dh-primes.json');

/** g^((p-1)/2) mod p through Node's DH object (independent of the module under test). */
function dhPublicKeyFor(pBytes: Uint8Array, g: number): Uint8Array {
  const dh = createDiffieHellman(Buffer.from(pBytes), Buffer.from([g]));
  dh.setPrivateKey(Buffer.from(bigIntToBytes((bytesToBigInt(pBytes) - 1n) / 2n)));
  return new Uint8Array(dh.generateKeys());
}

/** base^exp mod p by square-and-multiply (slow, independent of OpenSSL). */
function modPow(base: bigint, exp: bigint, p: bigint): bigint {
  let result = 1n;
  let b = base % p;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % p;
    b = (b * b) % p;
  }
  return result;
}

function expectCryptoError(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CryptoError);
    expect((error as CryptoError).code).toBe(code);
    return;
  }
  throw new Error(`expected CryptoError ${code}`);
}

describe('DH config validation', () => {
  it('accepts exactly the g in 2..7 that are quadratic residues mod p (Euler’s criterion)', () => {
    for (const hex of [v.p_hex, primes.rfc3526_modp14_hex]) {
      const pBytes = fromHex(hex);
      const p = bytesToBigInt(pBytes);
      for (let g = 2; g <= 7; g++) {
        // g is a residue iff g^((p-1)/2) = 1 mod p; computed here independently of the mod rules
        const residue = bytesToBigInt(dhPublicKeyFor(pBytes, g)) === 1n;
        if (residue) expect(validateDhConfig(g, pBytes).g).toBe(g);
        else expectCryptoError(() => validateDhConfig(g, pBytes), 'DH_BAD_GENERATOR');
      }
      expect(validateDhConfig(4, pBytes).p).toBe(p);
    }
    expect(validateDhConfig(3, fromHex(v.p_hex)).g).toBe(3);
  });

  it('rejects g outside 2..7', () => {
    const p = fromHex(v.p_hex);
    for (const g of [0, 1, 8, -3, 65537, 3.5]) expectCryptoError(() => validateDhConfig(g, p), 'DH_BAD_GENERATOR');
  });

  it('rejects p that is not exactly 2048 bits', () => {
    const p = fromHex(v.p_hex);
    expectCryptoError(() => validateDhConfig(3, p.subarray(1)), 'DH_BAD_PRIME');
    expectCryptoError(() => validateDhConfig(3, new Uint8Array([0, ...p.subarray(1)])), 'DH_BAD_PRIME');
    const long = new Uint8Array(257);
    long.set(p, 1);
    expectCryptoError(() => validateDhConfig(3, long), 'DH_BAD_PRIME');
    expectCryptoError(() => validateDhConfig(3, new Uint8Array(0)), 'DH_BAD_PRIME');
  });

  it('runs Miller–Rabin for unknown primes: accepts a safe prime, rejects a plain prime and a composite', () => {
    expect(validateDhConfig(2, fromHex(primes.rfc3526_modp14_hex)).g).toBe(2);
    const nonSafe = fromHex(primes.non_safe_prime_hex);
    // pick a g whose residue rule holds so the primality test is what rejects it
    expectCryptoError(() => validateDhConfig(4, nonSafe), 'DH_BAD_PRIME');
    const composite = fromHex(v.p_hex);
    composite[255] = composite[255]! ^ 0x02; // still odd, no longer prime
    expectCryptoError(() => validateDhConfig(4, composite), 'DH_BAD_PRIME');
    // the verdict is cached: the second call answers the same
    expectCryptoError(() => validateDhConfig(4, nonSafe), 'DH_BAD_PRIME');
  });
});

describe('DH exchange', () => {
  const params = validateDhConfig(v.g, fromHex(v.p_hex));

  it('reproduces the vector: g_a, g_b, g_a_hash, shared key', () => {
    const gA = dhPublicKey(params, fromHex(v.a_hex));
    const gB = dhPublicKey(params, fromHex(v.b_hex));
    expect(toHex(gA)).toBe(v.g_a_hex);
    expect(toHex(gB)).toBe(v.g_b_hex);
    expect(toHex(gAHash(gA))).toBe(v.g_a_hash_hex);
    expect(toHex(computeSharedKey(params, fromHex(v.a_hex), gB))).toBe(v.key_hex);
    expect(toHex(computeSharedKey(params, fromHex(v.b_hex), gA))).toBe(v.key_hex);
    expect(() => checkGAHash(gA, fromHex(v.g_a_hash_hex))).not.toThrow();
  });

  it('agrees with bigint square-and-multiply on random exponents', () => {
    const random = seededRandom(7);
    const p = params.p;
    const modPow = (base: bigint, exp: bigint): bigint => {
      let result = 1n;
      let b = base % p;
      let e = exp;
      while (e > 0n) {
        if (e & 1n) result = (result * b) % p;
        b = (b * b) % p;
        e >>= 1n;
      }
      return result;
    };
    for (let i = 0; i < 3; i++) {
      const secret = seededBytes(random, 256);
      expect(bytesToBigInt(dhPublicKey(params, secret))).toBe(modPow(3n, bytesToBigInt(secret)));
    }
  });

  it('generates key pairs from the server random and both sides derive the same key', () => {
    const serverRandom = new Uint8Array(256).fill(0xa5);
    const alice = generateDhKeyPair(params, serverRandom);
    const bob = generateDhKeyPair(params, serverRandom);
    expect(alice.secret).toHaveLength(256);
    expect(alice.publicKey[0]).not.toBe(0); // minimal encoding
    checkDhValue(params, alice.publicKey);
    const k1 = computeSharedKey(params, alice.secret, bob.publicKey);
    const k2 = computeSharedKey(params, bob.secret, alice.publicKey);
    expect(k1).toHaveLength(256);
    expect(toHex(k1)).toBe(toHex(k2));
  });

  it('mixes the server random: secret = own random XOR server random', () => {
    const serverRandom = seededBytes(seededRandom(3), 256);
    const own = seededBytes(seededRandom(4), 256);
    const pair = generateDhKeyPair(params, serverRandom, () => own);
    for (let i = 0; i < 256; i++) expect(pair.secret[i]).toBe(own[i]! ^ serverRandom[i]!);
  });

  it('retries until the public value is in range and gives up with a typed error', () => {
    const serverRandom = new Uint8Array(256);
    // secret 1 gives g^1 = 3: far below 2^1984, so it must be redrawn
    const one = new Uint8Array(256);
    one[255] = 1;
    const good = seededBytes(seededRandom(11), 256);
    const draws = [one, one, good];
    const pair = generateDhKeyPair(params, serverRandom, () => draws.shift() ?? good);
    expect(toHex(pair.secret)).toBe(toHex(good));
    expectCryptoError(() => generateDhKeyPair(params, serverRandom, () => one), 'DH_KEYGEN_FAILED');
  });

  it('rejects a server random that is not 256 bytes', () => {
    expectCryptoError(() => generateDhKeyPair(params, new Uint8Array(255)), 'DH_BAD_RANDOM');
    expectCryptoError(() => generateDhKeyPair(params, new Uint8Array(0)), 'DH_BAD_RANDOM');
  });

  it('range-checks peer values: 2^1984 <= x <= p - 2^1984, at most 256 bytes', () => {
    const low = 1n << 1984n;
    const high = params.p - low;
    const secret = fromHex(v.a_hex);
    checkDhValue(params, bigIntToBytes(low));
    checkDhValue(params, bigIntToBytes(high));
    for (const bad of [low - 1n, high + 1n, 0n, 1n, 2n, params.p - 1n, params.p, params.p + 5n]) {
      expectCryptoError(() => computeSharedKey(params, secret, bigIntToBytes(bad)), 'DH_BAD_VALUE');
    }
    expectCryptoError(() => checkDhValue(params, new Uint8Array(0)), 'DH_BAD_VALUE');
    const tooLong = new Uint8Array(257);
    tooLong.set(fromHex(v.g_a_hex), 1);
    expectCryptoError(() => checkDhValue(params, tooLong), 'DH_BAD_VALUE');
  });

  it('hashes and exchanges a short (255-byte) g_a exactly as sent, never re-padded', () => {
    // find a deterministic secret whose g_a has a leading zero byte (about 1 in 256)
    let found: { secret: Uint8Array; gA: Uint8Array } | undefined;
    for (let i = 0; i < 4096 && !found; i++) {
      const secret = new Uint8Array(
        Buffer.concat(Array.from({ length: 8 }, (_, j) => createHash('sha256').update(`short-g-a:${i}:${j}`).digest())),
      );
      const gA = dhPublicKey(params, secret);
      if (gA.length < 256 && bytesToBigInt(gA) >= 1n << 1984n) found = { secret, gA };
    }
    expect(found).toBeDefined();
    const { secret, gA } = found!;
    expect(gA.length).toBe(255);
    expect(toHex(stripLeadingZeros(gA))).toBe(toHex(gA));
    const hash = gAHash(gA);
    expect(() => checkGAHash(gA, hash)).not.toThrow();
    const padded = bigIntToBytes(bytesToBigInt(gA), 256);
    expectCryptoError(() => checkGAHash(padded, hash), 'DH_HASH_MISMATCH');
    const b = fromHex(v.b_hex);
    expect(toHex(computeSharedKey(params, b, gA))).toBe(
      toHex(computeSharedKey(params, secret, dhPublicKey(params, b))),
    );
  });

  it('pads a shared key with a leading zero byte to 256 bytes, equal to bigint arithmetic', () => {
    // find a deterministic secret whose key with g_b has a leading zero byte (about 1 in 256)
    const gB = fromHex(v.g_b_hex);
    let found: { secret: Uint8Array; key: Uint8Array } | undefined;
    for (let i = 0; i < 4096 && !found; i++) {
      const secret = new Uint8Array(
        Buffer.concat(Array.from({ length: 8 }, (_, j) => createHash('sha256').update(`short-key:${i}:${j}`).digest())),
      );
      const key = computeSharedKey(params, secret, gB);
      if (key[0] === 0) found = { secret, key };
    }
    expect(found).toBeDefined();
    const { secret, key } = found!;
    expect(key).toHaveLength(256);
    expect(toHex(key)).toBe(toHex(bigIntToBytes(modPow(bytesToBigInt(gB), bytesToBigInt(secret), params.p), 256)));
  });

  it('never answers from a stale key object when a secret array is reused with other bytes', () => {
    const secret = seededBytes(seededRandom(21), 256);
    const first = dhPublicKey(params, secret);
    const firstKey = computeSharedKey(params, secret, fromHex(v.g_b_hex));
    secret.set(seededBytes(seededRandom(22), 256));
    const second = dhPublicKey(params, secret);
    expect(toHex(second)).not.toBe(toHex(first));
    expect(bytesToBigInt(second)).toBe(modPow(3n, bytesToBigInt(secret), params.p));
    const secondKey = computeSharedKey(params, secret, fromHex(v.g_b_hex));
    expect(toHex(secondKey)).not.toBe(toHex(firstKey));
    expect(toHex(secondKey)).toBe(toHex(bigIntToBytes(modPow(bytesToBigInt(fromHex(v.g_b_hex)), bytesToBigInt(secret), params.p), 256)));
  });

  it('works in any validated group, not only Telegram’s (RFC 3526 group 14, g = 2)', () => {
    const group = validateDhConfig(2, fromHex(primes.rfc3526_modp14_hex));
    const serverRandom = seededBytes(seededRandom(31), 256);
    const a = generateDhKeyPair(group, serverRandom);
    const b = generateDhKeyPair(group, serverRandom);
    expect(bytesToBigInt(a.publicKey)).toBe(modPow(2n, bytesToBigInt(a.secret), group.p));
    const k1 = computeSharedKey(group, a.secret, b.publicKey);
    expect(toHex(k1)).toBe(toHex(computeSharedKey(group, b.secret, a.publicKey)));
    expect(toHex(k1)).toBe(toHex(bigIntToBytes(modPow(bytesToBigInt(b.publicKey), bytesToBigInt(a.secret), group.p), 256)));
  });

  it('falls back to the classic DH object where DH key objects cannot be built', () => {
    const crypto = createRequire(import.meta.url)('node:crypto') as { createPrivateKey: (...args: unknown[]) => unknown };
    const original = crypto.createPrivateKey;
    crypto.createPrivateKey = () => {
      throw new Error('unsupported key type');
    };
    syncBuiltinESMExports();
    try {
      const engine = new ModExp(params);
      const secret = seededBytes(seededRandom(41), 256);
      expect(bytesToBigInt(engine.powG(secret))).toBe(modPow(3n, bytesToBigInt(secret), params.p));
      const gB = fromHex(v.g_b_hex);
      expect(toHex(engine.pow(gB, secret))).toBe(toHex(bigIntToBytes(modPow(bytesToBigInt(gB), bytesToBigInt(secret), params.p), 256)));
    } finally {
      crypto.createPrivateKey = original;
      syncBuiltinESMExports();
    }
  });

  it('checkGAHash rejects wrong hashes and wrong hash lengths', () => {
    const gA = fromHex(v.g_a_hex);
    const hash = fromHex(v.g_a_hash_hex);
    const flipped = new Uint8Array(hash);
    flipped[31] = flipped[31]! ^ 1;
    expectCryptoError(() => checkGAHash(gA, flipped), 'DH_HASH_MISMATCH');
    expectCryptoError(() => checkGAHash(gA, hash.subarray(0, 31)), 'DH_HASH_MISMATCH');
  });
});
