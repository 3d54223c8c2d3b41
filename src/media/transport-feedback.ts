/**
 * RTCP transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-
 * extensions-01 §3.1: RTPFB, PT 205, FMT 15): which transport-wide sequence numbers arrived, and
 * when, in 250 µs ticks. The sender's bandwidth estimator (libwebrtc's GoogCC in official apps)
 * reads the link from it.
 *
 *   header (V=2 P FMT=15, PT=205, length) | sender SSRC | media source SSRC
 *   base sequence (16) | packet status count (16) | reference time (24, × 64 ms) | fb count (8)
 *   packet chunks (16 bits each) | receive deltas (8 or 16 bits each) | padding
 *
 * Chunks: run length (T=0, 2-bit symbol, 13-bit length), or status vector (T=1) of 14 one-bit
 * or 7 two-bit symbols. Symbols: 0 not received, 1 received with a 1-byte delta (0 … 63.75 ms),
 * 2 received with a signed 2-byte delta. The first delta is relative to the reference time.
 * Padding as libwebrtc writes it (transport_feedback.cc `Create`): the P bit, zero bytes, and
 * the padding length in the last byte.
 */

export const RTCP_RTPFB = 205;
export const TRANSPORT_FEEDBACK_FMT = 15;
/** Receive delta unit, ms (250 µs). */
export const DELTA_TICK_MS = 0.25;
/** Reference time unit, ms. */
export const REFERENCE_TICK_MS = 64;

export interface TransportFeedback {
  senderSsrc: number;
  mediaSsrc: number;
  baseSequence: number;
  /** 24-bit, in 64 ms units. */
  referenceTime: number;
  /** 8-bit counter of feedback packets sent. */
  feedbackCount: number;
  /**
   * One entry per sequence number from `baseSequence` on: the receive delta in 250 µs ticks
   * (−32768 … 32767) since the previous received packet — for the first, since the reference
   * time — or `null` when the packet was not received.
   */
  deltas: (number | null)[];
}

const RUN_MAX = 0x1fff;

export function serializeTransportFeedback(fb: TransportFeedback): Buffer {
  const n = fb.deltas.length;
  if (n === 0 || n > 0xffff) throw new RangeError(`packet status count ${n} is outside 1…65535`);
  const symbols = fb.deltas.map((d) => {
    if (d === null) return 0;
    if (!Number.isInteger(d) || d < -0x8000 || d > 0x7fff) throw new RangeError(`receive delta ${d} does not fit 16 bits`);
    return d >= 0 && d <= 0xff ? 1 : 2;
  });
  const chunks = encodeChunks(symbols);
  const deltaBytes = symbols.reduce<number>((sum, s) => sum + s, 0);
  const size = 20 + 2 * chunks.length + deltaBytes;
  const padding = (4 - (size % 4)) % 4;
  const out = Buffer.alloc(size + padding);
  out[0] = 0x80 | (padding > 0 ? 0x20 : 0) | TRANSPORT_FEEDBACK_FMT;
  out[1] = RTCP_RTPFB;
  out.writeUInt16BE(out.length / 4 - 1, 2);
  out.writeUInt32BE(fb.senderSsrc >>> 0, 4);
  out.writeUInt32BE(fb.mediaSsrc >>> 0, 8);
  out.writeUInt16BE(fb.baseSequence & 0xffff, 12);
  out.writeUInt16BE(n, 14);
  out.writeUIntBE(fb.referenceTime & 0xffffff, 16, 3);
  out[19] = fb.feedbackCount & 0xff;
  let o = 20;
  for (const c of chunks) {
    out.writeUInt16BE(c, o);
    o += 2;
  }
  fb.deltas.forEach((d, i) => {
    if (symbols[i] === 1) out[o++] = d!;
    else if (symbols[i] === 2) {
      out.writeInt16BE(d!, o);
      o += 2;
    }
  });
  if (padding > 0) out[out.length - 1] = padding;
  return out;
}

/**
 * Status chunks for `symbols`: a run length where at least 14 symbols repeat (or all that are
 * left do), otherwise a one-bit vector of 14 when they are all 0/1, else a two-bit vector of 7.
 * A vector may reach past the end: a reader takes only `packet status count` symbols.
 */
function encodeChunks(symbols: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < symbols.length; ) {
    const s = symbols[i]!;
    let run = 1;
    while (i + run < symbols.length && symbols[i + run] === s && run < RUN_MAX) run += 1;
    if (run >= 14 || i + run === symbols.length) {
      out.push((s << 13) | run);
      i += run;
      continue;
    }
    const window = symbols.slice(i, i + 14);
    if (window.every((x) => x <= 1)) {
      let chunk = 0x8000;
      window.forEach((x, k) => (chunk |= x << (13 - k)));
      out.push(chunk);
      i += 14;
    } else {
      let chunk = 0xc000;
      symbols.slice(i, i + 7).forEach((x, k) => (chunk |= x << (2 * (6 - k))));
      out.push(chunk);
      i += 7;
    }
  }
  return out;
}

/** Parses one transport-cc feedback packet (the first RTCP packet in `buf`), or undefined. */
export function parseTransportFeedback(buf: Uint8Array): TransportFeedback | undefined {
  if (buf.length < 20 || buf[0]! >> 6 !== 2 || (buf[0]! & 0x1f) !== TRANSPORT_FEEDBACK_FMT || buf[1] !== RTCP_RTPFB) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let end = 4 * (view.getUint16(2) + 1);
  if (end > buf.length) return undefined;
  if (buf[0]! & 0x20) {
    const pad = buf[end - 1]!;
    if (pad === 0 || pad > end - 20) return undefined;
    end -= pad;
  }
  const n = view.getUint16(14);
  if (n === 0) return undefined;
  const symbols: number[] = [];
  let o = 20;
  while (symbols.length < n) {
    if (o + 2 > end) return undefined;
    const c = view.getUint16(o);
    o += 2;
    const left = n - symbols.length;
    if ((c & 0x8000) === 0) {
      for (let k = Math.min(c & RUN_MAX, left); k > 0; k -= 1) symbols.push((c >> 13) & 3);
    } else if ((c & 0x4000) === 0) {
      for (let k = 0; k < Math.min(14, left); k += 1) symbols.push((c >> (13 - k)) & 1);
    } else {
      for (let k = 0; k < Math.min(7, left); k += 1) symbols.push((c >> (2 * (6 - k))) & 3);
    }
  }
  const deltas: (number | null)[] = [];
  for (const s of symbols) {
    if (s === 0) deltas.push(null);
    else if (s === 1) {
      if (o + 1 > end) return undefined;
      deltas.push(buf[o++]!);
    } else if (s === 2) {
      if (o + 2 > end) return undefined;
      deltas.push(view.getInt16(o));
      o += 2;
    } else return undefined;
  }
  return {
    senderSsrc: view.getUint32(4),
    mediaSsrc: view.getUint32(8),
    baseSequence: view.getUint16(12),
    referenceTime: (view.getUint16(16) << 8) | buf[18]!,
    feedbackCount: buf[19]!,
    deltas,
  };
}
