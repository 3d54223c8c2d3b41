/**
 * RTCP sender and receiver reports, SDES CNAME and BYE (RFC 3550 §6.4–6.6), parsed and built as
 * plain objects. Everything else (transport-cc feedback, NACK, XR …) parses as `other` so a
 * compound packet from libwebrtc never fails because of a type we do not use.
 */

export interface ReportBlock {
  /** The source this block reports on. */
  ssrc: number;
  /** Fraction of packets lost since the previous report, 0–255 (/256). */
  fractionLost: number;
  /** Cumulative packets lost, signed 24-bit (duplicates can make it negative). */
  cumulativeLost: number;
  /** Extended highest sequence number received (cycles << 16 | max seq). */
  highestSequence: number;
  /** Interarrival jitter in timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP time of the last SR from that source, 0 if none. */
  lastSenderReport: number;
  /** Delay since that SR, in 1/65536 s. */
  delaySinceLastSenderReport: number;
}

export interface SenderReport {
  type: 'sr';
  ssrc: number;
  /** 64-bit NTP timestamp (seconds since 1900 in the high 32 bits). */
  ntpTime: bigint;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  reports: ReportBlock[];
}

export interface ReceiverReport {
  type: 'rr';
  ssrc: number;
  reports: ReportBlock[];
}

export interface SourceDescription {
  type: 'sdes';
  chunks: { ssrc: number; cname?: string }[];
}

export interface Goodbye {
  type: 'bye';
  ssrcs: number[];
}

export interface OtherRtcp {
  type: 'other';
  packetType: number;
  /** The 5-bit count / format field. */
  format: number;
}

export type RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Goodbye | OtherRtcp;

export type RtcpParseResult = { ok: true; packets: RtcpPacket[] } | { ok: false; reason: string };

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;

const SDES_CNAME = 1;
/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01. */
const NTP_UNIX_OFFSET = 2208988800n;

/** 64-bit NTP time for a Unix time in ms. */
export function ntpFromUnixMs(ms: number): bigint {
  const secs = Math.floor(ms / 1000);
  const frac = Math.min(0xffffffff, Math.floor(((ms - secs * 1000) / 1000) * 2 ** 32));
  return (((BigInt(secs) + NTP_UNIX_OFFSET) & 0xffffffffn) << 32n) | BigInt(frac);
}

/** The middle 32 bits of an NTP time: the "compact" form used in LSR and for RTT (RFC 3550 §6.4.1). */
export function ntpMiddle32(ntp: bigint): number {
  return Number((ntp >> 16n) & 0xffffffffn);
}

/** Compact NTP (1/65536 s units) for a Unix time in ms. */
export function compactNtpFromUnixMs(ms: number): number {
  return ntpMiddle32(ntpFromUnixMs(ms));
}

export function parseRtcp(buf: Uint8Array): RtcpParseResult {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const packets: RtcpPacket[] = [];
  let o = 0;
  if (buf.length < 4) return { ok: false, reason: 'too-short' };
  while (o < buf.length) {
    if (o + 4 > buf.length) return { ok: false, reason: 'truncated-header' };
    const b0 = buf[o]!;
    if (b0 >> 6 !== 2) return { ok: false, reason: 'bad-version' };
    const count = b0 & 0x1f;
    const packetType = buf[o + 1]!;
    const length = 4 * (view.getUint16(o + 2) + 1);
    if (o + length > buf.length) return { ok: false, reason: 'truncated-packet' };
    let end = o + length;
    if (b0 & 0x20) {
      // Padding is only allowed on the last packet of a compound (RFC 3550 §6.4.1).
      const pad = buf[end - 1]!;
      if (end !== buf.length || pad === 0 || pad > length - 4) return { ok: false, reason: 'bad-padding' };
      end -= pad;
    }
    const body = o + 4;
    switch (packetType) {
      case RTCP_SR: {
        if (body + 24 + 24 * count > end) return { ok: false, reason: 'short-sr' };
        packets.push({
          type: 'sr',
          ssrc: view.getUint32(body),
          ntpTime: view.getBigUint64(body + 4),
          rtpTimestamp: view.getUint32(body + 12),
          packetCount: view.getUint32(body + 16),
          octetCount: view.getUint32(body + 20),
          reports: readBlocks(view, body + 24, count),
        });
        break;
      }
      case RTCP_RR: {
        if (body + 4 + 24 * count > end) return { ok: false, reason: 'short-rr' };
        packets.push({ type: 'rr', ssrc: view.getUint32(body), reports: readBlocks(view, body + 4, count) });
        break;
      }
      case RTCP_SDES: {
        const chunks = readSdes(buf, view, body, end, count);
        if (!chunks) return { ok: false, reason: 'bad-sdes' };
        packets.push({ type: 'sdes', chunks });
        break;
      }
      case RTCP_BYE: {
        if (body + 4 * count > end) return { ok: false, reason: 'short-bye' };
        const ssrcs: number[] = [];
        for (let i = 0; i < count; i += 1) ssrcs.push(view.getUint32(body + 4 * i));
        packets.push({ type: 'bye', ssrcs });
        break;
      }
      default:
        packets.push({ type: 'other', packetType, format: count });
    }
    o += length;
  }
  return { ok: true, packets };
}

function readBlocks(view: DataView, at: number, count: number): ReportBlock[] {
  const blocks: ReportBlock[] = [];
  for (let i = 0; i < count; i += 1) {
    const o = at + 24 * i;
    const lostWord = view.getUint32(o + 4);
    let cumulative = lostWord & 0xffffff;
    if (cumulative & 0x800000) cumulative -= 0x1000000; // signed 24-bit
    blocks.push({
      ssrc: view.getUint32(o),
      fractionLost: lostWord >>> 24,
      cumulativeLost: cumulative,
      highestSequence: view.getUint32(o + 8),
      jitter: view.getUint32(o + 12),
      lastSenderReport: view.getUint32(o + 16),
      delaySinceLastSenderReport: view.getUint32(o + 20),
    });
  }
  return blocks;
}

function readSdes(
  buf: Uint8Array,
  view: DataView,
  start: number,
  end: number,
  count: number,
): SourceDescription['chunks'] | undefined {
  const chunks: SourceDescription['chunks'] = [];
  let o = start;
  for (let c = 0; c < count; c += 1) {
    if (o + 4 > end) return undefined;
    const chunk: { ssrc: number; cname?: string } = { ssrc: view.getUint32(o) };
    o += 4;
    for (;;) {
      if (o >= end) return undefined;
      const itemType = buf[o]!;
      if (itemType === 0) {
        o = (o + 4) & ~3; // the null item plus padding to the next word boundary
        break;
      }
      if (o + 2 > end) return undefined;
      const len = buf[o + 1]!;
      if (o + 2 + len > end) return undefined;
      if (itemType === SDES_CNAME) chunk.cname = Buffer.from(buf.subarray(o + 2, o + 2 + len)).toString('utf8');
      o += 2 + len;
    }
    chunks.push(chunk);
  }
  return chunks;
}

/** Builds a compound packet from SR/RR/SDES/BYE entries (`other` entries are skipped). */
export function serializeRtcp(packets: readonly RtcpPacket[]): Buffer {
  const parts: Buffer[] = [];
  for (const p of packets) {
    switch (p.type) {
      case 'sr':
        parts.push(buildSr(p));
        break;
      case 'rr':
        parts.push(buildRr(p));
        break;
      case 'sdes':
        parts.push(buildSdes(p));
        break;
      case 'bye':
        parts.push(buildBye(p));
        break;
      default:
        break;
    }
  }
  return Buffer.concat(parts);
}

function header(out: Buffer, count: number, packetType: number): void {
  out[0] = 0x80 | (count & 0x1f);
  out[1] = packetType;
  out.writeUInt16BE(out.length / 4 - 1, 2);
}

function checkBlocks(reports: readonly ReportBlock[]): void {
  if (reports.length > 31) throw new RangeError('at most 31 report blocks');
}

function writeBlocks(out: Buffer, at: number, reports: readonly ReportBlock[]): void {
  reports.forEach((r, i) => {
    const o = at + 24 * i;
    out.writeUInt32BE(r.ssrc >>> 0, o);
    const lost = Math.max(-0x800000, Math.min(0x7fffff, Math.trunc(r.cumulativeLost))) & 0xffffff;
    out.writeUInt32BE((((r.fractionLost & 0xff) << 24) | lost) >>> 0, o + 4);
    out.writeUInt32BE(r.highestSequence >>> 0, o + 8);
    out.writeUInt32BE(r.jitter >>> 0, o + 12);
    out.writeUInt32BE(r.lastSenderReport >>> 0, o + 16);
    out.writeUInt32BE(r.delaySinceLastSenderReport >>> 0, o + 20);
  });
}

function buildSr(p: SenderReport): Buffer {
  checkBlocks(p.reports);
  const out = Buffer.alloc(28 + 24 * p.reports.length);
  header(out, p.reports.length, RTCP_SR);
  out.writeUInt32BE(p.ssrc >>> 0, 4);
  out.writeBigUInt64BE(BigInt.asUintN(64, p.ntpTime), 8);
  out.writeUInt32BE(p.rtpTimestamp >>> 0, 16);
  out.writeUInt32BE(p.packetCount >>> 0, 20);
  out.writeUInt32BE(p.octetCount >>> 0, 24);
  writeBlocks(out, 28, p.reports);
  return out;
}

function buildRr(p: ReceiverReport): Buffer {
  checkBlocks(p.reports);
  const out = Buffer.alloc(8 + 24 * p.reports.length);
  header(out, p.reports.length, RTCP_RR);
  out.writeUInt32BE(p.ssrc >>> 0, 4);
  writeBlocks(out, 8, p.reports);
  return out;
}

function buildSdes(p: SourceDescription): Buffer {
  if (p.chunks.length > 31) throw new RangeError('at most 31 SDES chunks');
  const bodies = p.chunks.map((c) => {
    const cname = Buffer.from(c.cname ?? '', 'utf8').subarray(0, 255);
    const items = c.cname !== undefined ? 2 + cname.length : 0;
    const len = (4 + items + 1 + 3) & ~3; // ssrc, items, null terminator, word padding
    const b = Buffer.alloc(len);
    b.writeUInt32BE(c.ssrc >>> 0, 0);
    if (c.cname !== undefined) {
      b[4] = SDES_CNAME;
      b[5] = cname.length;
      cname.copy(b, 6);
    }
    return b;
  });
  const body = Buffer.concat(bodies);
  const out = Buffer.alloc(4 + body.length);
  header(out, p.chunks.length, RTCP_SDES);
  body.copy(out, 4);
  return out;
}

function buildBye(p: Goodbye): Buffer {
  if (p.ssrcs.length > 31) throw new RangeError('at most 31 SSRCs');
  const out = Buffer.alloc(4 + 4 * p.ssrcs.length);
  header(out, p.ssrcs.length, RTCP_BYE);
  p.ssrcs.forEach((s, i) => out.writeUInt32BE(s >>> 0, 4 + 4 * i));
  return out;
}
