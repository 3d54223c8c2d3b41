/**
 * STUN messages (RFC 8489 §5, §14.5, §14.7): a fast classifier for the per-packet path, a parser
 * that returns views into the input (attribute type, value offset, length — no copies) or a typed
 * failure reason and never throws, a builder with MESSAGE-INTEGRITY (HMAC-SHA1) and FINGERPRINT
 * (CRC-32 XOR 0x5354554E), and constant-time integrity verification.
 *
 * Keys: short-term credentials (ICE, RFC 8445 §7.2.2) use the password itself; long-term
 * credentials (TURN, RFC 8489 §9.2.2) use MD5(username ":" realm ":" password). Passwords are taken
 * as given (no OpaqueString/SASLprep): ICE passwords are ice-chars and Telegram's TURN credentials
 * are ASCII.
 *
 * Attribute codecs live in stun-attributes.ts and are re-exported here: import STUN from this file.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { StunAttr, type StunAttributeInit } from './stun-attributes.js';

export * from './stun-attributes.js';

export type StunClass = 'request' | 'indication' | 'success' | 'error';

export const StunMethod = {
  BINDING: 0x001,
  ALLOCATE: 0x003,
  REFRESH: 0x004,
  SEND: 0x006,
  DATA: 0x007,
  CREATE_PERMISSION: 0x008,
  CHANNEL_BIND: 0x009,
} as const;

export const STUN_HEADER_SIZE = 20;
/** Bound on the attributes one message may carry; an ICE check has ~7, a TURN response ~8. */
export const MAX_STUN_ATTRIBUTES = 32;
const FINGERPRINT_XOR = 0x5354554e;
const CLASSES: readonly StunClass[] = ['request', 'indication', 'success', 'error'];

/** A parsed attribute: its type and where its value is in `StunMessage.bytes` (padding excluded). */
export interface StunAttributeView {
  readonly type: number;
  readonly offset: number;
  readonly length: number;
}

export interface StunMessage {
  readonly ok: true;
  /** The message bytes (the input, not a copy). */
  readonly bytes: Uint8Array;
  readonly method: number;
  readonly cls: StunClass;
  /** View of bytes 8..19. */
  readonly transactionId: Uint8Array;
  /**
   * Wire order. Attributes after MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and
   * FINGERPRINT are left out: RFC 8489 §14.5 says to ignore them.
   */
  readonly attributes: readonly StunAttributeView[];
  /** Offset of the MESSAGE-INTEGRITY attribute header, -1 when absent. */
  readonly integrityOffset: number;
  /** Offset of the FINGERPRINT attribute header, -1 when absent. */
  readonly fingerprintOffset: number;
}

export type StunParseFailureReason =
  | 'too-short'
  | 'not-stun'
  | 'bad-length'
  | 'attribute-overrun'
  | 'too-many-attributes'
  | 'bad-integrity-length'
  | 'bad-fingerprint-length'
  | 'fingerprint-not-last';

export interface StunParseFailure {
  readonly ok: false;
  readonly reason: StunParseFailureReason;
}

export type StunParseResult = StunMessage | StunParseFailure;

/** One frozen object per reason: a rejected packet allocates nothing. */
const FAIL: { readonly [R in StunParseFailureReason]: StunParseFailure } = Object.freeze({
  'too-short': Object.freeze({ ok: false, reason: 'too-short' }),
  'not-stun': Object.freeze({ ok: false, reason: 'not-stun' }),
  'bad-length': Object.freeze({ ok: false, reason: 'bad-length' }),
  'attribute-overrun': Object.freeze({ ok: false, reason: 'attribute-overrun' }),
  'too-many-attributes': Object.freeze({ ok: false, reason: 'too-many-attributes' }),
  'bad-integrity-length': Object.freeze({ ok: false, reason: 'bad-integrity-length' }),
  'bad-fingerprint-length': Object.freeze({ ok: false, reason: 'bad-fingerprint-length' }),
  'fingerprint-not-last': Object.freeze({ ok: false, reason: 'fingerprint-not-last' }),
} as const);

/**
 * The per-packet demultiplexing test: first byte 0–3 (RFC 7983 §7: STUN's range next to DTLS 20–63,
 * TURN channels 64–79 and RTP/RTCP 128–191; IANA keeps STUN methods 0x100–0xFFF reserved for
 * exactly this), the magic cookie, a length that is a multiple of 4 and matches the datagram.
 * `parseStun` itself accepts every RFC 8489 message (first two bits zero).
 */
export function isStunPacket(bytes: Uint8Array): boolean {
  return (
    bytes.length >= STUN_HEADER_SIZE &&
    bytes[0]! < 4 &&
    bytes[4] === 0x21 &&
    bytes[5] === 0x12 &&
    bytes[6] === 0xa4 &&
    bytes[7] === 0x42 &&
    (bytes[3]! & 3) === 0 &&
    ((bytes[2]! << 8) | bytes[3]!) + STUN_HEADER_SIZE === bytes.length
  );
}

export function stunMessageType(method: number, cls: StunClass): number {
  const c = CLASSES.indexOf(cls);
  return ((method & 0xf80) << 2) | ((method & 0x070) << 1) | (method & 0x00f) | ((c & 2) << 7) | ((c & 1) << 4);
}

/** A STUN datagram (`isStunPacket`) of this method and class, read from its header alone (no parse). */
export function isStunOfType(bytes: Uint8Array, method: number, cls: StunClass): boolean {
  return isStunPacket(bytes) && ((bytes[0]! << 8) | bytes[1]!) === stunMessageType(method, cls);
}

export function parseStun(bytes: Uint8Array): StunParseResult {
  if (bytes.length < STUN_HEADER_SIZE) return FAIL['too-short'];
  if (bytes[0]! >= 0x40 || bytes[4] !== 0x21 || bytes[5] !== 0x12 || bytes[6] !== 0xa4 || bytes[7] !== 0x42) return FAIL['not-stun'];
  const length = (bytes[2]! << 8) | bytes[3]!;
  if ((length & 3) !== 0 || length + STUN_HEADER_SIZE !== bytes.length) return FAIL['bad-length'];
  const type = (bytes[0]! << 8) | bytes[1]!;
  const method = ((type >> 2) & 0xf80) | ((type >> 1) & 0x070) | (type & 0x00f);
  const cls = CLASSES[((type >> 7) & 2) | ((type >> 4) & 1)]!;

  const attributes: StunAttributeView[] = [];
  let integrityOffset = -1;
  let fingerprintOffset = -1;
  let at = STUN_HEADER_SIZE;
  let count = 0;
  while (at < bytes.length) {
    if (fingerprintOffset >= 0) return FAIL['fingerprint-not-last'];
    if (at + 4 > bytes.length) return FAIL['attribute-overrun'];
    const attrType = (bytes[at]! << 8) | bytes[at + 1]!;
    const attrLength = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    const next = at + 4 + ((attrLength + 3) & ~3);
    if (next > bytes.length) return FAIL['attribute-overrun'];
    if (++count > MAX_STUN_ATTRIBUTES) return FAIL['too-many-attributes'];
    if (attrType === StunAttr.FINGERPRINT) {
      if (attrLength !== 4) return FAIL['bad-fingerprint-length'];
      fingerprintOffset = at;
      attributes.push({ type: attrType, offset: at + 4, length: attrLength });
    } else if (integrityOffset < 0) {
      if (attrType === StunAttr.MESSAGE_INTEGRITY) {
        if (attrLength !== 20) return FAIL['bad-integrity-length'];
        integrityOffset = at;
      }
      attributes.push({ type: attrType, offset: at + 4, length: attrLength });
    } else if (attrType === StunAttr.MESSAGE_INTEGRITY_SHA256) {
      attributes.push({ type: attrType, offset: at + 4, length: attrLength });
    }
    at = next;
  }
  return {
    ok: true,
    bytes,
    method,
    cls,
    transactionId: bytes.subarray(8, 20),
    attributes,
    integrityOffset,
    fingerprintOffset,
  };
}

/** The first attribute of `type` (RFC 8489 §14: only the first occurrence counts). */
export function findAttribute(message: StunMessage, type: number): StunAttributeView | undefined {
  const list = message.attributes;
  for (let i = 0; i < list.length; i += 1) if (list[i]!.type === type) return list[i];
  return undefined;
}

/** The value of the first attribute of `type` as a view into the message, or `undefined`. */
export function attributeValue(message: StunMessage, type: number): Uint8Array | undefined {
  const attr = findAttribute(message, type);
  return attr ? message.bytes.subarray(attr.offset, attr.offset + attr.length) : undefined;
}

// ---- keys, integrity, fingerprint --------------------------------------------------------------

export type StunKey = Uint8Array | string;

export function shortTermKey(password: string): Uint8Array {
  return new Uint8Array(Buffer.from(password, 'utf8'));
}

export function longTermKey(username: string, realm: string, password: string): Uint8Array {
  return new Uint8Array(createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest());
}

let scratch = new Uint8Array(1500);

/** HMAC-SHA1 over the bytes before the attribute at `at`, with the header length set to end after it (RFC 8489 §14.5). */
function integrityDigest(bytes: Uint8Array, at: number, key: StunKey): Buffer {
  if (scratch.length < at) scratch = new Uint8Array(at);
  scratch.set(bytes.subarray(0, at));
  const length = at + 24 - STUN_HEADER_SIZE;
  scratch[2] = length >> 8;
  scratch[3] = length & 0xff;
  return createHmac('sha1', key).update(scratch.subarray(0, at)).digest();
}

/** True when MESSAGE-INTEGRITY is present and matches `key` (compared in constant time). */
export function verifyIntegrity(message: StunMessage, key: StunKey): boolean {
  const at = message.integrityOffset;
  if (at < 0) return false;
  const digest = integrityDigest(message.bytes, at, key);
  return timingSafeEqual(digest, message.bytes.subarray(at + 4, at + 24));
}

/** True when FINGERPRINT is present and matches. */
export function verifyFingerprint(message: StunMessage): boolean {
  const at = message.fingerprintOffset;
  if (at < 0) return false;
  const b = message.bytes;
  // FINGERPRINT is last (parseStun checks), so the header length already ends after it.
  const expected = (crc32(b, 0, at) ^ FINGERPRINT_XOR) >>> 0;
  const actual = ((b[at + 4]! << 24) | (b[at + 5]! << 16) | (b[at + 6]! << 8) | b[at + 7]!) >>> 0;
  return expected === actual;
}

/**
 * Writes MESSAGE-INTEGRITY at `at` (header and HMAC) into a message being built or re-signed. The
 * header length is left pointing at the end of the attribute; the caller sets the final length.
 */
export function writeIntegrity(bytes: Uint8Array, at: number, key: StunKey): void {
  const digest = integrityDigest(bytes, at, key);
  const length = at + 24 - STUN_HEADER_SIZE;
  bytes[2] = length >> 8;
  bytes[3] = length & 0xff;
  writeAttributeHeader(bytes, at, StunAttr.MESSAGE_INTEGRITY, 20);
  bytes.set(digest, at + 4);
}

/** Writes FINGERPRINT at `at`; it must be the last attribute, so the header length ends after it. */
export function writeFingerprint(bytes: Uint8Array, at: number): void {
  const length = at + 8 - STUN_HEADER_SIZE;
  bytes[2] = length >> 8;
  bytes[3] = length & 0xff;
  writeAttributeHeader(bytes, at, StunAttr.FINGERPRINT, 4);
  const crc = (crc32(bytes, 0, at) ^ FINGERPRINT_XOR) >>> 0;
  bytes[at + 4] = crc >>> 24;
  bytes[at + 5] = (crc >>> 16) & 0xff;
  bytes[at + 6] = (crc >>> 8) & 0xff;
  bytes[at + 7] = crc & 0xff;
}

function writeAttributeHeader(bytes: Uint8Array, at: number, type: number, length: number): void {
  bytes[at] = type >> 8;
  bytes[at + 1] = type & 0xff;
  bytes[at + 2] = length >> 8;
  bytes[at + 3] = length & 0xff;
}

// ---- building ---------------------------------------------------------------------------------

export interface StunMessageInit {
  readonly method: number;
  readonly cls: StunClass;
  /** 12 bytes. */
  readonly transactionId: Uint8Array;
  readonly attributes?: readonly StunAttributeInit[];
  /** Adds MESSAGE-INTEGRITY keyed with this (see `shortTermKey`, `longTermKey`). */
  readonly integrityKey?: StunKey;
  /** Adds FINGERPRINT (last). */
  readonly fingerprint?: boolean;
  /** Padding byte value; RFC 8489 says 0 (senders), RFC 5769's vectors use 0x20. */
  readonly padding?: number;
}

/** Encodes a message. Throws a RangeError only on misuse (bad transaction id, oversized value). */
export function buildStun(init: StunMessageInit): Uint8Array {
  if (init.transactionId.length !== 12) throw new RangeError('STUN transaction id must be 12 bytes');
  if (init.method < 0 || init.method > 0xfff) throw new RangeError(`bad STUN method ${init.method}`);
  const attributes = init.attributes ?? [];
  let size = STUN_HEADER_SIZE;
  for (const attr of attributes) {
    if (attr.value.length > 0xffff) throw new RangeError(`STUN attribute 0x${attr.type.toString(16)} too long`);
    size += 4 + ((attr.value.length + 3) & ~3);
  }
  const integrityAt = size;
  if (init.integrityKey !== undefined) size += 24;
  const fingerprintAt = size;
  if (init.fingerprint) size += 8;
  if (size - STUN_HEADER_SIZE > 0xffff) throw new RangeError('STUN message too long');

  // Pooled and unzeroed (Send indications are per-packet): every byte is written below, padding included.
  const pooled = Buffer.allocUnsafe(size);
  const out = new Uint8Array(pooled.buffer, pooled.byteOffset, size);
  const type = stunMessageType(init.method, init.cls);
  out[0] = type >> 8;
  out[1] = type & 0xff;
  out[4] = 0x21;
  out[5] = 0x12;
  out[6] = 0xa4;
  out[7] = 0x42;
  out.set(init.transactionId, 8);
  let at = STUN_HEADER_SIZE;
  for (const attr of attributes) {
    writeAttributeHeader(out, at, attr.type, attr.value.length);
    out.set(attr.value, at + 4);
    const end = at + 4 + attr.value.length;
    at += 4 + ((attr.value.length + 3) & ~3);
    out.fill(init.padding ?? 0, end, at);
  }
  if (init.integrityKey !== undefined) writeIntegrity(out, integrityAt, init.integrityKey);
  if (init.fingerprint) writeFingerprint(out, fingerprintAt);
  const length = size - STUN_HEADER_SIZE;
  out[2] = length >> 8;
  out[3] = length & 0xff;
  return out;
}

/** Re-signs a message in place after its attribute values changed (integrity, then fingerprint). */
export function resignInPlace(bytes: Uint8Array, message: StunMessage, key: StunKey): void {
  if (message.integrityOffset >= 0) writeIntegrity(bytes, message.integrityOffset, key);
  if (message.fingerprintOffset >= 0) writeFingerprint(bytes, message.fingerprintOffset);
  const length = bytes.length - STUN_HEADER_SIZE;
  bytes[2] = length >> 8;
  bytes[3] = length & 0xff;
}

// ---- CRC-32 (ISO-HDLC, the one zlib and RFC 8489 §14.7 use) ------------------------------------

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let c = 0xffffffff;
  for (let i = from; i < to; i += 1) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
