/**
 * Serialises a TL object with GramJS's own serializer and parses it back, so everything the fake
 * sends or receives is wire-valid (a field GramJS cannot encode fails here, as it would on a real
 * connection). `Bool` values travel as boolTrue / boolFalse.
 */
import { extensions } from 'telegram';

const BOOL_TRUE = Buffer.from([0xb5, 0x75, 0x72, 0x99]);
const BOOL_FALSE = Buffer.from([0x37, 0x97, 0x79, 0xbc]);

interface Serializable {
  getBytes(): Buffer;
}

export function tlBytes(value: unknown): Buffer {
  if (value === true) return BOOL_TRUE;
  if (value === false) return BOOL_FALSE;
  if (typeof value === 'object' && value !== null && typeof (value as Serializable).getBytes === 'function') {
    return (value as Serializable).getBytes();
  }
  throw new TypeError('not a TL object');
}

export function tlParse(bytes: Buffer): unknown {
  const reader = new extensions.BinaryReader(bytes);
  return reader.tgReadObject() as unknown;
}

export function roundTrip<T>(value: T): T {
  return tlParse(tlBytes(value)) as T;
}
