/**
 * STUN attribute types and value codecs: RFC 8489 §14 (STUN), RFC 8656 §18 (TURN), RFC 8445 §16.1
 * (ICE). Values are plain `Uint8Array`s; decoders take a view of the value and never throw (a
 * malformed value reads as `undefined`), encoders throw only on API misuse (an address that is not
 * an IP literal, a number out of range).
 */
import { normalizeAddress, type Endpoint } from './endpoint.js';

/** RFC 8489 §5: bytes 4..7 of every STUN message; also the XOR key of the address attributes. */
export const MAGIC_COOKIE = 0x2112a442;

export const StunAttr = {
  MAPPED_ADDRESS: 0x0001,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  CHANNEL_NUMBER: 0x000c,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_ADDRESS_FAMILY: 0x0017,
  REQUESTED_TRANSPORT: 0x0019,
  MESSAGE_INTEGRITY_SHA256: 0x001c,
  XOR_MAPPED_ADDRESS: 0x0020,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  SOFTWARE: 0x8022,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
  ICE_CONTROLLING: 0x802a,
} as const;

/** An attribute to encode: its type and its value without padding. */
export interface StunAttributeInit {
  readonly type: number;
  readonly value: Uint8Array;
}

const FAMILY_IPV4 = 0x01;
const FAMILY_IPV6 = 0x02;
/** RFC 8656 §18.1 / §18.13: the protocol number of UDP in REQUESTED-TRANSPORT. */
export const TRANSPORT_UDP = 17;

// ---- IP literals <-> bytes ---------------------------------------------------------------------

/** 4 bytes for an IPv4 literal (IPv4-mapped IPv6 included), 16 for IPv6; `undefined` otherwise. */
export function ipToBytes(address: string): Uint8Array | undefined {
  const plain = normalizeAddress(address);
  const zone = plain.indexOf('%');
  const ip = zone >= 0 ? plain.slice(0, zone) : plain;
  return ip.includes(':') ? ipv6ToBytes(ip) : ipv4ToBytes(ip, new Uint8Array(4), 0);
}

function ipv4ToBytes(ip: string, out: Uint8Array, at: number): Uint8Array | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  for (let i = 0; i < 4; i += 1) {
    const part = parts[i]!;
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    out[at + i] = n;
  }
  return out;
}

function ipv6ToBytes(ip: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  const halves = ip.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  // An embedded IPv4 tail (`::ffff:1.2.3.4`, `64:ff9b::1.2.3.4`) fills the last 4 bytes.
  const size = (list: string[]): number => list.reduce((n, g) => n + (g.includes('.') ? 4 : 2), 0);
  const total = size(head) + size(tail);
  if (halves.length === 1 ? total !== 16 : total > 14) return undefined;
  const write = (list: string[], from: number): boolean => {
    let at = from;
    for (const g of list) {
      if (g.includes('.')) {
        // only as the last 4 bytes
        if (at !== 12 || ipv4ToBytes(g, out, 12) === undefined) return false;
        at += 4;
        continue;
      }
      if (!/^[0-9a-f]{1,4}$/.test(g)) return false;
      const n = parseInt(g, 16);
      out[at] = n >> 8;
      out[at + 1] = n & 0xff;
      at += 2;
    }
    return true;
  };
  if (!write(head, 0) || !write(tail, 16 - size(tail))) return undefined;
  return out;
}

/** RFC 5952 text form (lower case, longest zero run as `::`), as Node's dgram reports addresses. */
export function bytesToIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLen) [bestAt, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (list: number[]): string => list.map((g) => g.toString(16)).join(':');
  if (bestAt < 0) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}

/** 4 or 6 from an IP literal's text form (an IPv4-mapped IPv6 address counts as IPv4). */
export function ipFamily(address: string): 4 | 6 {
  return normalizeAddress(address).includes(':') ? 6 : 4;
}

// ---- address attributes (RFC 8489 §14.1, §14.2; RFC 8656 §18.3, §18.5) -----------------------

/**
 * MAPPED-ADDRESS value, or with `transactionId` the XOR form (XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS,
 * XOR-RELAYED-ADDRESS): port XOR the cookie's high 16 bits, IPv4 XOR the cookie, IPv6 XOR the
 * cookie followed by the transaction id.
 */
export function encodeAddress(endpoint: Endpoint, transactionId?: Uint8Array): Uint8Array {
  const ip = ipToBytes(endpoint.address);
  if (!ip) throw new RangeError(`not an IP address: ${endpoint.address}`);
  if (!Number.isInteger(endpoint.port) || endpoint.port < 0 || endpoint.port > 0xffff) throw new RangeError(`bad port ${endpoint.port}`);
  const out = new Uint8Array(4 + ip.length);
  out[1] = ip.length === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  const port = transactionId ? endpoint.port ^ (MAGIC_COOKIE >>> 16) : endpoint.port;
  out[2] = port >> 8;
  out[3] = port & 0xff;
  out.set(ip, 4);
  if (transactionId) xorAddressBytes(out, transactionId);
  return out;
}

/** Decodes a (XOR-)address value; `undefined` for a wrong length or an unknown family. */
export function decodeAddress(value: Uint8Array, transactionId?: Uint8Array): Endpoint | undefined {
  if (value.length < 8) return undefined;
  const family = value[1];
  const size = family === FAMILY_IPV4 ? 4 : family === FAMILY_IPV6 ? 16 : 0;
  if (size === 0 || value.length !== 4 + size) return undefined;
  // a copy (not `slice`, a view on a Node Buffer): the XOR below must not touch the packet
  const raw = new Uint8Array(value);
  let port = (raw[2]! << 8) | raw[3]!;
  if (transactionId) {
    port ^= MAGIC_COOKIE >>> 16;
    xorAddressBytes(raw, transactionId);
  }
  return { address: bytesToIp(raw.subarray(4)), port };
}

function xorAddressBytes(value: Uint8Array, transactionId: Uint8Array): void {
  value[4]! ^= 0x21;
  value[5]! ^= 0x12;
  value[6]! ^= 0xa4;
  value[7]! ^= 0x42;
  for (let i = 8; i < value.length; i += 1) value[i]! ^= transactionId[i - 8]!;
}

// ---- other values ----------------------------------------------------------------------------

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

/** USERNAME (≤ 513 bytes), REALM / NONCE (≤ 763 bytes), SOFTWARE: UTF-8 text. */
export function encodeText(text: string): Uint8Array {
  return utf8.encode(text);
}

export function decodeText(value: Uint8Array): string {
  return utf8Decoder.decode(value);
}

/** LIFETIME, PRIORITY: 32-bit unsigned. */
export function encodeU32(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`not a uint32: ${n}`);
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export function decodeU32(value: Uint8Array): number | undefined {
  if (value.length !== 4) return undefined;
  return ((value[0]! << 24) | (value[1]! << 16) | (value[2]! << 8) | value[3]!) >>> 0;
}

/** ICE-CONTROLLING / ICE-CONTROLLED: the 64-bit tie-breaker. */
export function encodeU64(n: bigint): Uint8Array {
  if (n < 0n || n > 0xffffffffffffffffn) throw new RangeError(`not a uint64: ${n}`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
}

export function decodeU64(value: Uint8Array): bigint | undefined {
  if (value.length !== 8) return undefined;
  return new DataView(value.buffer, value.byteOffset, 8).getBigUint64(0);
}

/** ERROR-CODE (RFC 8489 §14.8): class 3–6 and number 0–99, then a UTF-8 reason phrase. */
export function encodeErrorCode(code: number, reason: string): Uint8Array {
  if (!Number.isInteger(code) || code < 300 || code > 699) throw new RangeError(`bad error code ${code}`);
  const text = utf8.encode(reason);
  const out = new Uint8Array(4 + text.length);
  out[2] = Math.floor(code / 100);
  out[3] = code % 100;
  out.set(text, 4);
  return out;
}

export function decodeErrorCode(value: Uint8Array): { readonly code: number; readonly reason: string } | undefined {
  if (value.length < 4) return undefined;
  const cls = value[2]! & 0x07;
  const number = value[3]!;
  if (cls < 3 || cls > 6 || number > 99) return undefined;
  return { code: cls * 100 + number, reason: utf8Decoder.decode(value.subarray(4)) };
}

/** CHANNEL-NUMBER (RFC 8656 §18.1): the number, then 16 reserved bits. */
export function encodeChannelNumber(channel: number): Uint8Array {
  if (!Number.isInteger(channel) || channel < 0 || channel > 0xffff) throw new RangeError(`bad channel ${channel}`);
  return Uint8Array.of(channel >> 8, channel & 0xff, 0, 0);
}

export function decodeChannelNumber(value: Uint8Array): number | undefined {
  return value.length === 4 ? (value[0]! << 8) | value[1]! : undefined;
}

/** REQUESTED-TRANSPORT (RFC 8656 §18.11): protocol number, then 24 reserved bits. */
export function encodeRequestedTransport(protocol: number = TRANSPORT_UDP): Uint8Array {
  return Uint8Array.of(protocol & 0xff, 0, 0, 0);
}

/** REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.6): 0x01 IPv4, 0x02 IPv6, then 24 reserved bits. */
export function encodeRequestedFamily(family: 4 | 6): Uint8Array {
  return Uint8Array.of(family === 4 ? FAMILY_IPV4 : FAMILY_IPV6, 0, 0, 0);
}
