/**
 * DH benchmark: 2048-bit modular exponentiation through OpenSSL (what the library uses) versus
 * bigint square-and-multiply, and a whole key pair + shared key. Prints figures; asserts nothing.
 */
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import {
  bytesToBigInt,
  computeSharedKey,
  dhPublicKey,
  fromHex,
  generateDhKeyPair,
  TELEGRAM_DH_PRIME_HEX,
  validateDhConfig,
} from '../src/crypto/index.js';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function time(fn: () => void, runs: number): number {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(samples);
}

export default async function benchDh(): Promise<void> {
  const params = validateDhConfig(3, fromHex(TELEGRAM_DH_PRIME_HEX));
  const secrets = Array.from({ length: 16 }, (_, i) =>
    new Uint8Array(Buffer.concat(Array.from({ length: 8 }, (_, j) => createHash('sha256').update(`bench:${i}:${j}`).digest()))),
  );
  let i = 0;
  const warm = process.hrtime.bigint();
  dhPublicKey(params, secrets[0]!);
  const firstUse = Number(process.hrtime.bigint() - warm) / 1e6;

  // a fresh array each time: the library reuses the key object it built for the same secret array
  const openssl = time(() => dhPublicKey(params, secrets[i++ % secrets.length]!.slice()), 50);
  const p = params.p;
  const bigintModPow = (exp: bigint): bigint => {
    let result = 1n;
    let base = 3n;
    let e = exp;
    while (e > 0n) {
      if (e & 1n) result = (result * base) % p;
      base = (base * base) % p;
      e >>= 1n;
    }
    return result;
  };
  const bigintTime = time(() => bigintModPow(bytesToBigInt(secrets[i++ % secrets.length]!)), 10);
  const random = new Uint8Array(256).fill(7);
  const exchange = time(() => {
    const a = generateDhKeyPair(params, random);
    const b = generateDhKeyPair(params, random);
    computeSharedKey(params, a.secret, b.publicKey);
    computeSharedKey(params, b.secret, a.publicKey);
  }, 20);

  console.log('\nDH (2048-bit, Telegram prime, g = 3), median ms');
  console.table([
    { what: 'modexp via OpenSSL (library path)', ms: openssl.toFixed(2) },
    { what: 'modexp via bigint square-and-multiply', ms: bigintTime.toFixed(2) },
    { what: 'first modexp of the process (no group setup)', ms: firstUse.toFixed(1) },
    { what: 'full exchange: 2 key pairs + 2 shared keys', ms: exchange.toFixed(2) },
  ]);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchDh();
