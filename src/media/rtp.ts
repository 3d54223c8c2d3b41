/**
 * RTP packets (RFC 3550 §5.1) with RFC 8285 header extensions, and the two extensions official
 * clients negotiate for audio: abs-send-time and transport-wide-cc (transport-v2-sources.md §2.5).
 *
 * Parsing is strict and never throws: a malformed packet is a counted drop with a reason, because
 * the receive path must survive anything the network delivers. The payload is a view into the
 * input buffer (no copy).
 */

export interface RtpExtension {
  /** 1–14 in the one-byte form, 1–255 in the two-byte form. */
  id: number;
  data: Uint8Array;
}

export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  extensions: RtpExtension[];
  payload: Uint8Array;
}

export type RtpDropReason = 'too-short' | 'bad-version' | 'bad-csrc' | 'bad-extension' | 'bad-padding' | 'rtcp';

export type RtpParseResult = { ok: true; packet: RtpPacket } | { ok: false; reason: RtpDropReason };

const ONE_BYTE_PROFILE = 0xbede;
/** RFC 8285 §4.3: 0x100 followed by 4 "appbits". */
const TWO_BYTE_PROFILE_MASK = 0xfff0;
const TWO_BYTE_PROFILE = 0x1000;

/**
 * RFC 5761 §4: with RTP and RTCP multiplexed, the second byte of RTCP is a packet type 192–223,
 * which would read as an RTP payload type 64–95 with the marker bit set.
 */
export function isRtcpPacket(buf: Uint8Array): boolean {
  if (buf.length < 2 || buf[0]! >> 6 !== 2) return false;
  const pt = buf[1]!;
  return pt >= 192 && pt <= 223;
}

export function parseRtp(buf: Uint8Array): RtpParseResult {
  const packet: RtpPacket = { payloadType: 0, marker: false, sequenceNumber: 0, timestamp: 0, ssrc: 0, csrcs: [], extensions: [], payload: buf };
  const reason = readRtp(buf, packet, true);
  return reason === undefined ? { ok: true, packet } : { ok: false, reason };
}

/**
 * `parseRtp` for a receive path that needs only the fixed header and the payload: fills `into`
 * (a receiver keeps one and reuses it) with the same checks, validating CSRCs and extensions
 * without collecting them (`into.csrcs` and `into.extensions` are left as they are). The only
 * allocation is the payload view. Returns the drop reason, or `undefined` for a valid packet.
 */
export function readRtpHeader(buf: Uint8Array, into: RtpPacket): RtpDropReason | undefined {
  return readRtp(buf, into, false);
}

function readRtp(buf: Uint8Array, into: RtpPacket, collect: boolean): RtpDropReason | undefined {
  const length = buf.length;
  if (length < 12) return 'too-short';
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  if (b0 >> 6 !== 2) return 'bad-version';
  if (b1 >= 192 && b1 <= 223) return 'rtcp'; // RFC 5761 §4 (see isRtcpPacket)
  const csrcCount = b0 & 0x0f;
  let offset = 12 + 4 * csrcCount;
  if (offset > length) return 'bad-csrc';
  if (collect) for (let i = 0; i < csrcCount; i += 1) into.csrcs.push(readU32(buf, 12 + 4 * i));

  if ((b0 & 0x10) !== 0) {
    if (offset + 4 > length) return 'bad-extension';
    const profile = (buf[offset]! << 8) | buf[offset + 1]!;
    const start = offset + 4;
    const end = start + 4 * ((buf[offset + 2]! << 8) | buf[offset + 3]!);
    if (end > length) return 'bad-extension';
    if (!parseExtensionBlock(buf, profile, start, end, collect ? into.extensions : undefined)) return 'bad-extension';
    offset = end;
  }

  let payloadEnd = length;
  if ((b0 & 0x20) !== 0) {
    const pad = buf[length - 1]!;
    if (pad === 0 || offset + pad > length) return 'bad-padding';
    payloadEnd -= pad;
  }
  into.payloadType = b1 & 0x7f;
  into.marker = (b1 & 0x80) !== 0;
  into.sequenceNumber = (buf[2]! << 8) | buf[3]!;
  into.timestamp = readU32(buf, 4);
  into.ssrc = readU32(buf, 8);
  into.payload = buf.subarray(offset, payloadEnd);
  return undefined;
}

/**
 * The value of a 2-byte header extension element `id` (e.g. transport-wide-cc's sequence number)
 * of a packet `readRtpHeader` accepted, without collecting the extensions; `undefined` when the
 * packet has no such element or it is not 2 bytes (as `decodeTransportSequence` reads it).
 */
export function readRtpExtensionU16(buf: Uint8Array, id: number): number | undefined {
  const b0 = buf[0]!;
  if ((b0 & 0x10) === 0) return undefined;
  const offset = 12 + 4 * (b0 & 0x0f);
  if (offset + 4 > buf.length) return undefined;
  const profile = (buf[offset]! << 8) | buf[offset + 1]!;
  const end = Math.min(buf.length, offset + 4 + 4 * ((buf[offset + 2]! << 8) | buf[offset + 3]!));
  const oneByte = profile === ONE_BYTE_PROFILE;
  if (!oneByte && (profile & TWO_BYTE_PROFILE_MASK) !== TWO_BYTE_PROFILE) return undefined;
  for (let i = offset + 4; i < end; ) {
    const b = buf[i]!;
    if (b === 0) {
      i += 1;
      continue;
    }
    let elementId: number;
    let len: number;
    let data: number;
    if (oneByte) {
      elementId = b >> 4;
      if (elementId === 15) return undefined;
      len = (b & 0x0f) + 1;
      data = i + 1;
    } else {
      if (i + 2 > end) return undefined;
      elementId = b;
      len = buf[i + 1]!;
      data = i + 2;
    }
    if (data + len > end) return undefined;
    if (elementId === id) return len === 2 ? (buf[data]! << 8) | buf[data + 1]! : undefined;
    i = data + len;
  }
  return undefined;
}

function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

/**
 * RFC 8285 §4.2 / §4.3: checks the elements of an extension block and collects them into `out`
 * when given. Unknown profiles are kept opaque (no elements). False when malformed.
 */
function parseExtensionBlock(buf: Uint8Array, profile: number, start: number, end: number, out: RtpExtension[] | undefined): boolean {
  let i = start;
  if (profile === ONE_BYTE_PROFILE) {
    while (i < end) {
      const b = buf[i]!;
      if (b === 0) {
        i += 1; // padding byte
        continue;
      }
      const id = b >> 4;
      if (id === 15) break; // reserved: stop processing the block (RFC 8285 §4.2)
      const len = (b & 0x0f) + 1;
      if (i + 1 + len > end) return false;
      out?.push({ id, data: buf.subarray(i + 1, i + 1 + len) });
      i += 1 + len;
    }
  } else if ((profile & TWO_BYTE_PROFILE_MASK) === TWO_BYTE_PROFILE) {
    while (i < end) {
      const id = buf[i]!;
      if (id === 0) {
        i += 1;
        continue;
      }
      if (i + 2 > end) return false;
      const len = buf[i + 1]!;
      if (i + 2 + len > end) return false;
      out?.push({ id, data: buf.subarray(i + 2, i + 2 + len) });
      i += 2 + len;
    }
  }
  return true;
}

export interface RtpPacketInit {
  payloadType: number;
  marker?: boolean;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs?: readonly number[];
  extensions?: readonly RtpExtension[];
  payload: Uint8Array;
}

/**
 * Serializes a packet. Extensions use the one-byte form when every id is 1–14 and every element
 * 1–16 bytes long (what libwebrtc sends for audio), else the two-byte form.
 */
export function serializeRtp(p: RtpPacketInit): Buffer {
  const csrcs = p.csrcs ?? NONE;
  const exts = p.extensions ?? NONE;
  const csrcCount = csrcs.length;
  const extCount = exts.length;
  if (csrcCount > 15) throw new RangeError('at most 15 CSRCs');
  let oneByte = true;
  let dataBytes = 0;
  for (let i = 0; i < extCount; i += 1) {
    const e = exts[i]!;
    const n = e.data.length;
    if (e.id < 1 || e.id > 14 || n < 1 || n > 16) oneByte = false;
    dataBytes += n;
  }
  if (!oneByte) {
    for (let i = 0; i < extCount; i += 1) {
      const e = exts[i]!;
      if (e.id < 1 || e.id > 255 || e.data.length > 255) throw new RangeError(`bad extension ${e.id}`);
    }
  }
  const extWords = Math.ceil((dataBytes + (oneByte ? 1 : 2) * extCount) / 4);
  const headerLen = 12 + 4 * csrcCount + (extCount > 0 ? 4 + 4 * extWords : 0);
  // Every byte is written below; a packet this small comes from Node's shared pool, without an
  // ArrayBuffer of its own to create and collect.
  const out = Buffer.allocUnsafe(headerLen + p.payload.length);
  out[0] = 0x80 | (extCount > 0 ? 0x10 : 0) | csrcCount;
  out[1] = (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f);
  out[2] = (p.sequenceNumber >>> 8) & 0xff;
  out[3] = p.sequenceNumber & 0xff;
  writeU32(out, 4, p.timestamp);
  writeU32(out, 8, p.ssrc);
  let o = 12;
  for (let i = 0; i < csrcCount; i += 1, o += 4) writeU32(out, o, csrcs[i]!);
  if (extCount > 0) {
    const profile = oneByte ? ONE_BYTE_PROFILE : TWO_BYTE_PROFILE;
    out[o] = profile >>> 8;
    out[o + 1] = profile & 0xff;
    out[o + 2] = (extWords >>> 8) & 0xff;
    out[o + 3] = extWords & 0xff;
    o += 4;
    for (let i = 0; i < extCount; i += 1) {
      const { id, data } = exts[i]!;
      if (oneByte) {
        out[o++] = (id << 4) | (data.length - 1);
      } else {
        out[o++] = id;
        out[o++] = data.length;
      }
      // Elements are a few bytes: a loop beats TypedArray#set's call overhead.
      for (let j = 0; j < data.length; j += 1) out[o++] = data[j]!;
    }
    while (o < headerLen) out[o++] = 0; // padding to the word boundary
  }
  out.set(p.payload, o);
  return out;
}

const NONE: readonly never[] = [];

function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

export function findExtension(p: RtpPacket, id: number): Uint8Array | undefined {
  for (const e of p.extensions) if (e.id === id) return e.data;
  return undefined;
}

/**
 * abs-send-time (webrtc.org/experiments/rtp-hdrext/abs-send-time): the send time in seconds as
 * 6.18 fixed point, i.e. the low 24 bits of (time * 2^18), wrapping every 64 s. Written into `out`
 * when given (a sender reuses one array: `serializeRtp` copies it).
 */
export function encodeAbsSendTime(nowMs: number, out: Uint8Array = new Uint8Array(3)): Uint8Array {
  const v = Math.floor((nowMs * 262144) / 1000) & 0xffffff;
  out[0] = v >>> 16;
  out[1] = (v >>> 8) & 0xff;
  out[2] = v & 0xff;
  return out;
}

/** The 24-bit abs-send-time value, or `undefined` if the element is not 3 bytes. */
export function decodeAbsSendTime(data: Uint8Array): number | undefined {
  if (data.length !== 3) return undefined;
  return (data[0]! << 16) | (data[1]! << 8) | data[2]!;
}

/** transport-wide-cc (draft-holmer-rmcat-transport-wide-cc-extensions-01): a 16-bit sequence number. */
export function encodeTransportSequence(seq: number, out: Uint8Array = new Uint8Array(2)): Uint8Array {
  out[0] = (seq >>> 8) & 0xff;
  out[1] = seq & 0xff;
  return out;
}

export function decodeTransportSequence(data: Uint8Array): number | undefined {
  if (data.length !== 2) return undefined;
  return (data[0]! << 8) | data[1]!;
}
