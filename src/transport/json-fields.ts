/**
 * Generic readers for untrusted JSON objects, shared by the signaling message decoder
 * (messages.ts). Each one either returns the typed value or throws `FieldError`, which the decoder
 * turns into a counted `ProtocolError` result at its boundary: nothing here reaches a caller as a
 * throw. Only own properties are read, so `__proto__` and inherited keys never count as fields.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Thrown inside a decoder only; turned into a `ProtocolError` result at its boundary. */
export class FieldError extends Error {}

export const UINT32_MAX = 0xffffffff;

/** Longest string accepted in any field, far above anything tgcalls/ntgcalls send. */
export const MAX_STRING_LENGTH = 4096;

/** A uint32 sent as a decimal string (tgcalls) or a JSON number (accepted by tgcalls too). */
export function uint32Field(v: Json | undefined, what: string): number {
  if (typeof v === 'string') {
    if (!/^[0-9]{1,10}$/.test(v)) throw new FieldError(`${what} is not a decimal uint32 string`);
    const n = Number(v);
    if (n > UINT32_MAX) throw new FieldError(`${what} ${v} exceeds uint32`);
    return n;
  }
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > UINT32_MAX) throw new FieldError(`${what} is not a uint32`);
    return v;
  }
  throw new FieldError(`${what} is missing or not a string/number`);
}

export function own(o: JsonObject, key: string): Json | undefined {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asObject(v: Json | undefined, what: string): JsonObject {
  if (!isObject(v)) throw new FieldError(`${what} is not an object`);
  return v;
}

export function asArray(v: Json | undefined, what: string, max: number): Json[] {
  if (!Array.isArray(v)) throw new FieldError(`${what} is not an array`);
  if (v.length > max) throw new FieldError(`${what} has more than ${max} elements`);
  return v;
}

export function requiredArray(o: JsonObject, key: string, max: number, at = ''): Json[] {
  return asArray(own(o, key), `${at}${key}`, max);
}

export function optionalArray(o: JsonObject, key: string, max: number, at = ''): Json[] {
  const v = own(o, key);
  return v === undefined ? [] : asArray(v, `${at}${key}`, max);
}

export function requiredString(o: JsonObject, key: string, at = ''): string {
  const v = own(o, key);
  if (typeof v !== 'string') throw new FieldError(`${at}${key} is missing or not a string`);
  if (v.length > MAX_STRING_LENGTH) throw new FieldError(`${at}${key} is longer than ${MAX_STRING_LENGTH} characters`);
  return v;
}

export function optionalBoolean(o: JsonObject, key: string, fallback: boolean): boolean {
  const v = own(o, key);
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new FieldError(`${key} is not a boolean`);
  return v;
}
