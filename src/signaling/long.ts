/**
 * TL `long` values at the GramJS edge. GramJS (and the `teleproto` fork) represent `long` as a
 * `big-integer` BigInteger; this library uses `bigint` inside and converts only here.
 */
import { helpers } from 'telegram';
import { ProtocolError } from '../errors.js';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const DECIMAL = /^-?\d{1,20}$/;

/**
 * Reads a TL `long` from whatever the MTProto library produced: bigint, a safe-integer number, a
 * decimal string, or a BigInteger-like object whose `toString()` is decimal. Rejects anything else
 * (and values outside int64) with `ProtocolError('BAD_TL')`.
 */
export function readLong(value: unknown, what = 'long'): bigint {
  let result: bigint | undefined;
  if (typeof value === 'bigint') result = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) result = BigInt(value);
  else if (typeof value === 'string' && DECIMAL.test(value)) result = BigInt(value);
  else if (typeof value === 'object' && value !== null) {
    const text = String(value);
    if (DECIMAL.test(text)) result = BigInt(text);
  }
  if (result === undefined || result < INT64_MIN || result > INT64_MAX) {
    throw new ProtocolError('BAD_TL', `${what} is not a 64-bit integer`);
  }
  return result;
}

/** The type GramJS's declarations give TL `long` fields (a `big-integer` BigInteger). */
export type TlLong = ReturnType<typeof helpers.returnBigInt>;

/**
 * bigint -> a value for a TL `long` field of a request. It stays a native `bigint`: GramJS and the
 * `teleproto` fork both accept one when serialising (`compareType`, `toSignedLittleBuffer` ->
 * `returnBigInt`), whereas a BigInteger made by another copy of `big-integer` fails teleproto's
 * `bigInt.isInstance` check. Typed as BigInteger only to satisfy the libraries' declarations.
 */
export function toLong(value: bigint): TlLong {
  if (typeof value !== 'bigint' || value < INT64_MIN || value > INT64_MAX) throw new RangeError('value does not fit in int64');
  return value as unknown as TlLong;
}
