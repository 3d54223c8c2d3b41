/**
 * Validation of the DH parameters (p, g) returned by `messages.getDhConfig`
 * (call-crypto-and-signaling.md §2.2): p is a 2048-bit safe prime, g in 2..7 is a quadratic
 * residue mod p. The expensive safe-prime test runs once per distinct p per process.
 */
import {
  checkPrimeSync,
  createDiffieHellman,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  timingSafeEqual,
  type DiffieHellman,
  type KeyObject,
} from 'node:crypto';
import { CryptoError } from '../errors.js';
import { bigIntToBytes, bytesToBigInt, toHex } from './bytes.js';

/** Telegram's well-known 2048-bit safe prime; clients accept it without a primality test. */
export const TELEGRAM_DH_PRIME_HEX =
  'c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b';

const PRIME_BITS = 2048;
const MILLER_RABIN_ROUNDS = 30; // as tdesktop and Android

/** A validated DH group. Create with `validateDhConfig`. */
export interface DhParams {
  readonly g: number;
  readonly p: bigint;
  /** p as exactly 256 big-endian bytes. */
  readonly pBytes: Uint8Array;
}

/** Safe-prime verdict per p (hex), so each distinct prime is tested once per process. */
const safePrimeCache = new Map<string, boolean>();
const SAFE_PRIME_CACHE_LIMIT = 64;

export function validateDhConfig(g: number, pBytes: Uint8Array): DhParams {
  if (!Number.isInteger(g)) throw new CryptoError('DH_BAD_GENERATOR', `g must be an integer, got ${String(g)}`);
  if (!(pBytes instanceof Uint8Array) || pBytes.length !== PRIME_BITS / 8 || (pBytes[0]! & 0x80) === 0) {
    throw new CryptoError('DH_BAD_PRIME', 'p must be exactly 2048 bits');
  }
  const p = bytesToBigInt(pBytes);
  if (!isGeneratorGood(g, p)) {
    throw new CryptoError('DH_BAD_GENERATOR', `g = ${g} is not an acceptable generator for this p`);
  }
  const pHex = toHex(pBytes);
  let safe = safePrimeCache.get(pHex);
  if (safe === undefined) {
    safe = pHex === TELEGRAM_DH_PRIME_HEX || isSafePrime(p);
    if (safePrimeCache.size >= SAFE_PRIME_CACHE_LIMIT) safePrimeCache.clear();
    safePrimeCache.set(pHex, safe);
  }
  if (!safe) throw new CryptoError('DH_BAD_PRIME', 'p is not a safe prime');
  return { g, p, pBytes: new Uint8Array(pBytes) };
}

/** g must be 2..7 and a quadratic residue mod p, checked through p's residues (docs §2.2). */
function isGeneratorGood(g: number, p: bigint): boolean {
  switch (g) {
    case 2:
      return p % 8n === 7n;
    case 3:
      return p % 3n === 2n;
    case 4:
      return true;
    case 5: {
      const r = p % 5n;
      return r === 1n || r === 4n;
    }
    case 6: {
      const r = p % 24n;
      return r === 19n || r === 23n;
    }
    case 7: {
      const r = p % 7n;
      return r === 3n || r === 5n || r === 6n;
    }
    default:
      return false;
  }
}

function isSafePrime(p: bigint): boolean {
  if ((p & 1n) === 0n) return false;
  // Miller–Rabin through OpenSSL (BN_check_prime): far faster than bigint arithmetic.
  return checkPrimeSync(p, { checks: MILLER_RABIN_ROUNDS }) && checkPrimeSync((p - 1n) / 2n, { checks: MILLER_RABIN_ROUNDS });
}

/**
 * Modular exponentiation modulo a validated p through OpenSSL's DH key objects (≈ 3 ms per
 * 2048-bit exponentiation versus ≈ 18 ms with bigint square-and-multiply).
 *
 * Not `crypto.createDiffieHellman`: its constructor runs OpenSSL's DH_check on the group, two
 * Miller–Rabin tests of 2048 bits (≈ 0.2-0.4 s of blocked event loop on the first call of a
 * process). That check is redundant here: `validateDhConfig` already accepted p (the well-known
 * prime, or our own safe-prime test), and its result was never used. Key objects built from DER
 * carry the group without checking it; OpenSSL still range-checks peer values on derivation, on
 * top of the 2^1984 rule in dh.ts. Where DH key objects are not available (a Node built on a TLS
 * library without them), the DH object is used after all.
 */
export class ModExp {
  /** DER AlgorithmIdentifier { dhKeyAgreement, DHParameter { p, g } } shared by every key of the group. */
  private readonly algorithm: Buffer;
  /**
   * The private key object built for an exponent array, so the shared key of a call does not
   * pay a second g^x (loading a private key computes it). Checked against a copy of the bytes, in
   * case the array was reused for another exponent; dropped with the array.
   */
  private readonly privateKeys = new WeakMap<Uint8Array, { readonly bytes: Uint8Array; readonly key: KeyObject }>();
  /** Set when key objects cannot be built here: the classic DH object (checks the group once). */
  private fallback: DiffieHellman | undefined;

  constructor(readonly params: DhParams) {
    this.algorithm = derSequence(DH_KEY_AGREEMENT_OID, derSequence(derInteger(params.pBytes), derInteger(Uint8Array.of(params.g))));
  }

  /** g^exponent mod p, minimal big-endian bytes. */
  powG(exponent: Uint8Array): Uint8Array {
    const key = this.privateKey(exponent);
    if (!key) {
      const dh = this.fallback!;
      dh.setPrivateKey(Buffer.from(exponent));
      return new Uint8Array(dh.generateKeys());
    }
    // OpenSSL computed the public value while it loaded the private key.
    return publicValueFromSpki(createPublicKey(key).export({ format: 'der', type: 'spki' }));
  }

  /**
   * base^exponent mod p as exactly 256 bytes. `base` must already be range-checked
   * (OpenSSL rejects values outside 2..p-2).
   */
  pow(base: Uint8Array, exponent: Uint8Array): Uint8Array {
    const privateKey = this.privateKey(exponent);
    let out: Uint8Array;
    if (privateKey) {
      const publicKey = createPublicKey({ key: this.publicKeyDer(base), format: 'der', type: 'spki' });
      out = new Uint8Array(diffieHellman({ privateKey, publicKey }));
    } else {
      const dh = this.fallback!;
      dh.setPrivateKey(Buffer.from(exponent));
      out = new Uint8Array(dh.computeSecret(Buffer.from(base)));
    }
    // Node pads the secret to the prime length; pad defensively in case it did not.
    return out.length === 256 ? out : bigIntToBytes(bytesToBigInt(out), 256);
  }

  /**
   * The key object for an exponent: PKCS#8 PrivateKeyInfo { 0, algorithm, OCTET STRING { INTEGER x } }.
   * Undefined once key objects proved unavailable (then `fallback` is set).
   */
  private privateKey(exponent: Uint8Array): KeyObject | undefined {
    if (this.fallback) return undefined;
    const known = this.privateKeys.get(exponent);
    if (known && known.bytes.length === exponent.length && timingSafeEqual(known.bytes, exponent)) return known.key;
    const der = derSequence(derInteger(Uint8Array.of(0)), this.algorithm, derTlv(0x04, derInteger(exponent)));
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } catch {
      // Any 256-byte exponent loads where DH key objects exist: this runtime has none.
      this.fallback = createDiffieHellman(Buffer.from(this.params.pBytes), Buffer.from([this.params.g]));
      return undefined;
    }
    this.privateKeys.set(exponent, { bytes: Uint8Array.from(exponent), key });
    return key;
  }

  /** SubjectPublicKeyInfo { algorithm, BIT STRING { INTEGER y } }. */
  private publicKeyDer(value: Uint8Array): Buffer {
    return derSequence(this.algorithm, derTlv(0x03, Buffer.concat([Buffer.of(0), derInteger(value)])));
  }
}

const modExpCache = new Map<string, ModExp>();

/** The shared `ModExp` for a group (created on first use; cheap). */
export function modExpFor(params: DhParams): ModExp {
  const key = `${params.g}:${toHex(params.pBytes)}`;
  let engine = modExpCache.get(key);
  if (!engine) {
    if (modExpCache.size >= SAFE_PRIME_CACHE_LIMIT) modExpCache.clear();
    engine = new ModExp(params);
    modExpCache.set(key, engine);
  }
  return engine;
}

// ---- minimal DER for the DH key containers above ----------------------------------------------

/** 1.2.840.113549.1.3.1 (PKCS #3 dhKeyAgreement) as a DER OBJECT IDENTIFIER. */
const DH_KEY_AGREEMENT_OID = Buffer.from('06092a864886f70d010301', 'hex');

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function derTlv(tag: number, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.of(tag), derLength(body.length), body]);
}

function derSequence(...items: Uint8Array[]): Buffer {
  return derTlv(0x30, Buffer.concat(items));
}

/** A non-negative INTEGER from big-endian bytes (leading zeros dropped, sign byte added). */
function derInteger(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const body = bytes.subarray(start);
  const sign = body.length === 0 || (body[0]! & 0x80) !== 0 ? Buffer.of(0) : Buffer.alloc(0);
  return derTlv(0x02, Buffer.concat([sign, body]));
}

/** y from a DH SubjectPublicKeyInfo: the INTEGER inside its trailing BIT STRING, minimal bytes. */
function publicValueFromSpki(spki: Buffer): Uint8Array {
  const fail = (): never => {
    throw new CryptoError('DH_BAD_VALUE', 'unexpected public key encoding from OpenSSL');
  };
  const readHeader = (at: number, tag: number): { body: number; end: number } => {
    if (spki[at] !== tag) fail();
    let length = spki[at + 1] ?? fail();
    let body = at + 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 3) fail();
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (spki[body + i] ?? fail());
      body += count;
    }
    if (body + length > spki.length) fail();
    return { body, end: body + length };
  };
  const outer = readHeader(0, 0x30);
  const algorithm = readHeader(outer.body, 0x30);
  const bits = readHeader(algorithm.end, 0x03);
  if (spki[bits.body] !== 0) fail(); // no unused bits
  const value = readHeader(bits.body + 1, 0x02);
  let start = value.body;
  while (start < value.end - 1 && spki[start] === 0) start++;
  return new Uint8Array(spki.subarray(start, value.end));
}
