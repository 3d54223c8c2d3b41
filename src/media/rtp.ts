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
  if (buf.length < 12) return { ok: false, reason: 'too-short' };
  const b0 = buf[0]!;
  if (b0 >> 6 !== 2) return { ok: false, reason: 'bad-version' };
  if (isRtcpPacket(buf)) return { ok: false, reason: 'rtcp' };
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hasPadding = (b0 & 0x20) !== 0;
  const hasExtension = (b0 & 0x10) !== 0;
  const csrcCount = b0 & 0x0f;
  let offset = 12 + 4 * csrcCount;
  if (offset > buf.length) return { ok: false, reason: 'bad-csrc' };
  const csrcs: number[] = [];
  for (let i = 0; i < csrcCount; i += 1) csrcs.push(view.getUint32(12 + 4 * i));

  let extensions: RtpExtension[] = [];
  if (hasExtension) {
    if (offset + 4 > buf.length) return { ok: false, reason: 'bad-extension' };
    const profile = view.getUint16(offset);
    const words = view.getUint16(offset + 2);
    const start = offset + 4;
    const end = start + 4 * words;
    if (end > buf.length) return { ok: false, reason: 'bad-extension' };
    const parsed = parseExtensionBlock(buf, profile, start, end);
    if (parsed === undefined) return { ok: false, reason: 'bad-extension' };
    extensions = parsed;
    offset = end;
  }

  let payloadEnd = buf.length;
  if (hasPadding) {
    const pad = buf[buf.length - 1]!;
    if (pad === 0 || offset + pad > buf.length) return { ok: false, reason: 'bad-padding' };
    payloadEnd -= pad;
  }
  return {
    ok: true,
    packet: {
      payloadType: buf[1]! & 0x7f,
      marker: (buf[1]! & 0x80) !== 0,
      sequenceNumber: view.getUint16(2),
      timestamp: view.getUint32(4),
      ssrc: view.getUint32(8),
      csrcs,
      extensions,
      payload: buf.subarray(offset, payloadEnd),
    },
  };
}

/** RFC 8285 §4.2 / §4.3. Unknown profiles are kept opaque (no elements). */
function parseExtensionBlock(buf: Uint8Array, profile: number, start: number, end: number): RtpExtension[] | undefined {
  const out: RtpExtension[] = [];
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
      if (i + 1 + len > end) return undefined;
      out.push({ id, data: buf.subarray(i + 1, i + 1 + len) });
      i += 1 + len;
    }
  } else if ((profile & TWO_BYTE_PROFILE_MASK) === TWO_BYTE_PROFILE) {
    while (i < end) {
      const id = buf[i]!;
      if (id === 0) {
        i += 1;
        continue;
      }
      if (i + 2 > end) return undefined;
      const len = buf[i + 1]!;
      if (i + 2 + len > end) return undefined;
      out.push({ id, data: buf.subarray(i + 2, i + 2 + len) });
      i += 2 + len;
    }
  }
  return out;
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
  const csrcs = p.csrcs ?? [];
  const exts = p.extensions ?? [];
  if (csrcs.length > 15) throw new RangeError('at most 15 CSRCs');
  const oneByte = exts.every((e) => e.id >= 1 && e.id <= 14 && e.data.length >= 1 && e.data.length <= 16);
  let extBytes = 0;
  for (const e of exts) {
    if (!oneByte && (e.id < 1 || e.id > 255 || e.data.length > 255)) throw new RangeError(`bad extension ${e.id}`);
    extBytes += (oneByte ? 1 : 2) + e.data.length;
  }
  const extWords = Math.ceil(extBytes / 4);
  const headerLen = 12 + 4 * csrcs.length + (exts.length > 0 ? 4 + 4 * extWords : 0);
  // Every byte is written below; a packet this small comes from Node's shared pool, without an
  // ArrayBuffer of its own to create and collect.
  const out = Buffer.allocUnsafe(headerLen + p.payload.length);
  out[0] = 0x80 | (exts.length > 0 ? 0x10 : 0) | csrcs.length;
  out[1] = (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f);
  out.writeUInt16BE(p.sequenceNumber & 0xffff, 2);
  out.writeUInt32BE(p.timestamp >>> 0, 4);
  out.writeUInt32BE(p.ssrc >>> 0, 8);
  let o = 12;
  for (const c of csrcs) {
    out.writeUInt32BE(c >>> 0, o);
    o += 4;
  }
  if (exts.length > 0) {
    out.writeUInt16BE(oneByte ? ONE_BYTE_PROFILE : TWO_BYTE_PROFILE, o);
    out.writeUInt16BE(extWords, o + 2);
    o += 4;
    for (const e of exts) {
      if (oneByte) {
        out[o++] = (e.id << 4) | (e.data.length - 1);
      } else {
        out[o++] = e.id;
        out[o++] = e.data.length;
      }
      out.set(e.data, o);
      o += e.data.length;
    }
    out.fill(0, o, headerLen); // padding to the word boundary
    o = headerLen;
  }
  out.set(p.payload, o);
  return out;
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
