/**
 * A strict reader for the SCTP packets of the V3 signaling carrier (RFC 9260 §3; the blobs of
 * phone.sendSignalingData are whole SCTP packets in the clear, call-crypto-and-signaling.md §5.4,
 * v3-sctp.md rule 1). Sans-I/O: bytes in, a summary or a drop reason out. It runs before the SCTP
 * stack (werift-sctp 0.0.11) sees a packet and rejects everything that stack would mishandle:
 *
 * - a chunk or parameter of length < 4 (werift's `parsePacket` / `decodeParams` loop forever);
 * - lengths beyond the packet, bodies too short for their fixed fields (werift reads past the end);
 * - unknown chunk types (werift throws), INIT bundled with other chunks (werift throws);
 * - SACKs with more gap blocks or duplicate TSNs than any real peer sends (werift walks every gap
 *   position: 16 K blocks x 64 K positions would block the event loop for seconds).
 *
 * State-dependent rules (TSN windows, which chunks are expected when) are in `sctp-policy.ts`;
 * `keepSctpChunks` rebuilds a packet without the chunks that policy refuses.
 */
import { sctpChecksum } from './crc32c.js';

export const SCTP_HEADER_SIZE = 12;

export const ChunkType = {
  DATA: 0,
  INIT: 1,
  INIT_ACK: 2,
  SACK: 3,
  HEARTBEAT: 4,
  HEARTBEAT_ACK: 5,
  ABORT: 6,
  SHUTDOWN: 7,
  SHUTDOWN_ACK: 8,
  ERROR: 9,
  COOKIE_ECHO: 10,
  COOKIE_ACK: 11,
  SHUTDOWN_COMPLETE: 14,
  RE_CONFIG: 130,
  FORWARD_TSN: 192,
} as const;

/** The chunk types werift-sctp 0.0.11 can parse (its CHUNK_BY_TYPE); anything else makes it throw. */
const KNOWN_CHUNKS: ReadonlySet<number> = new Set(Object.values(ChunkType));

/** RE-CONFIG request/response parameters (RFC 6525 §4) and the bytes werift reads from each. */
const RECONFIG_PARAM_MIN: ReadonlyMap<number, number> = new Map([
  [13, 12], // Outgoing SSN Reset Request: request seq, response seq, last TSN (+ stream ids)
  [16, 8], // Re-configuration Response: response seq, result
  [17, 8], // Add Outgoing Streams: request seq, new streams, reserved
]);

export interface SctpPacketLimits {
  /** Larger packets are dropped. */
  readonly maxPacketSize: number;
  readonly maxChunks: number;
  /** Parameters per INIT/INIT-ACK/HEARTBEAT/ERROR/ABORT/RE-CONFIG chunk. */
  readonly maxParams: number;
  readonly maxSackGaps: number;
  readonly maxSackDuplicates: number;
  /** Stream ids listed in one RE-CONFIG reset request or FORWARD-TSN. */
  readonly maxStreamsListed: number;
}

/**
 * dcSCTP sends packets of at most its MTU (1191 B by default): ~20 DATA chunks even for the
 * smallest encrypted signaling messages. These bounds are far above what it sends; the costly
 * part, DATA, is limited per packet by the admission policy (sctp-policy.ts).
 */
export const DEFAULT_SCTP_PACKET_LIMITS: SctpPacketLimits = Object.freeze({
  maxPacketSize: 64 * 1024,
  maxChunks: 128,
  maxParams: 32,
  maxSackGaps: 64,
  maxSackDuplicates: 64,
  maxStreamsListed: 16,
});

type OtherChunkType = Exclude<(typeof ChunkType)[keyof typeof ChunkType], 0 | 3 | 192>;

export type SctpChunkSummary =
  | { readonly type: typeof ChunkType.DATA; readonly flags: number; readonly tsn: number; readonly streamId: number; readonly dataLength: number }
  | { readonly type: typeof ChunkType.SACK; readonly cumulativeTsn: number; readonly gaps: readonly (readonly [number, number])[] }
  | { readonly type: typeof ChunkType.FORWARD_TSN; readonly cumulativeTsn: number }
  | { readonly type: OtherChunkType; readonly flags: number };

export interface SctpPacketSummary {
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly verificationTag: number;
  readonly chunks: readonly SctpChunkSummary[];
  /** Byte range [start, end) of each chunk in the packet, padding included. */
  readonly spans: readonly (readonly [number, number])[];
}

export type SctpPacketDropReason = 'size' | 'checksum' | 'malformed' | 'unknown-chunk' | 'limit';

export type SctpPacketResult = { readonly ok: true; readonly packet: SctpPacketSummary } | { readonly ok: false; readonly reason: SctpPacketDropReason };

const fail = (reason: SctpPacketDropReason): SctpPacketResult => ({ ok: false, reason });

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** Parses and checks one SCTP packet. Never throws. */
export function parseSctpPacket(bytes: Uint8Array, limits: SctpPacketLimits = DEFAULT_SCTP_PACKET_LIMITS): SctpPacketResult {
  if (!(bytes instanceof Uint8Array) || bytes.length < SCTP_HEADER_SIZE + 4 || bytes.length > limits.maxPacketSize) return fail('size');
  // The checksum is stored little-endian as werift and dcSCTP write it (RFC 9260 Appendix A).
  const stored = (bytes[8]! | (bytes[9]! << 8) | (bytes[10]! << 16) | (bytes[11]! << 24)) >>> 0;
  if (stored !== sctpChecksum(bytes)) return fail('checksum');
  const chunks: SctpChunkSummary[] = [];
  const spans: [number, number][] = [];
  let pos = SCTP_HEADER_SIZE;
  while (pos + 4 <= bytes.length) {
    const type = bytes[pos]!;
    const flags = bytes[pos + 1]!;
    const length = u16(bytes, pos + 2);
    if (length < 4 || pos + length > bytes.length) return fail('malformed');
    if (!KNOWN_CHUNKS.has(type)) return fail('unknown-chunk');
    if (chunks.length >= limits.maxChunks) return fail('limit');
    const body = bytes.subarray(pos + 4, pos + length);
    const chunk = readChunk(type as ChunkTypeValue, flags, body, limits);
    if (typeof chunk === 'string') return fail(chunk);
    chunks.push(chunk);
    const next = pos + length + ((4 - (length % 4)) % 4);
    spans.push([pos, Math.min(next, bytes.length)]);
    pos = next;
  }
  // Only chunk padding may follow the last chunk.
  if (chunks.length === 0 || bytes.length - Math.min(pos, bytes.length) > 3) return fail('malformed');
  const verificationTag = u32(bytes, 4);
  // RFC 9260 §6.10: INIT must not be bundled; §8.5.1: it carries verification tag 0.
  if (chunks.some((c) => c.type === ChunkType.INIT) && (chunks.length !== 1 || verificationTag !== 0)) return fail('malformed');
  return { ok: true, packet: { sourcePort: u16(bytes, 0), destinationPort: u16(bytes, 2), verificationTag, chunks, spans } };
}

/** The packet with only the chunks where `keep` is true, re-checksummed; undefined when none is left. */
export function keepSctpChunks(bytes: Uint8Array, packet: SctpPacketSummary, keep: readonly boolean[]): Uint8Array | undefined {
  if (keep.every(Boolean)) return bytes;
  const kept = packet.spans.filter((_, i) => keep[i]);
  if (kept.length === 0) return undefined;
  const out = new Uint8Array(SCTP_HEADER_SIZE + kept.reduce((n, [a, b]) => n + b - a, 0));
  out.set(bytes.subarray(0, SCTP_HEADER_SIZE), 0);
  let at = SCTP_HEADER_SIZE;
  for (const [a, b] of kept) {
    out.set(bytes.subarray(a, b), at);
    at += b - a;
  }
  const sum = sctpChecksum(out);
  out[8] = sum & 0xff;
  out[9] = (sum >>> 8) & 0xff;
  out[10] = (sum >>> 16) & 0xff;
  out[11] = (sum >>> 24) & 0xff;
  return out;
}

type ChunkTypeValue = (typeof ChunkType)[keyof typeof ChunkType];

function readChunk(type: ChunkTypeValue, flags: number, body: Uint8Array, limits: SctpPacketLimits): SctpChunkSummary | SctpPacketDropReason {
  switch (type) {
    case ChunkType.DATA:
      // TSN, stream id, SSN, PPID, then at least one byte of user data (RFC 9260 §3.3.1).
      if (body.length < 13) return 'malformed';
      return { type, flags, tsn: u32(body, 0), streamId: u16(body, 4), dataLength: body.length - 12 };
    case ChunkType.INIT:
    case ChunkType.INIT_ACK:
      if (body.length < 16) return 'malformed';
      // Zero streams or a zero initiate tag are protocol violations (RFC 9260 §3.3.2).
      if (u32(body, 0) === 0 || u16(body, 8) === 0 || u16(body, 10) === 0) return 'malformed';
      return checkParams(body.subarray(16), limits) ?? { type, flags };
    case ChunkType.SACK: {
      if (body.length < 12) return 'malformed';
      const gapCount = u16(body, 8);
      const dupCount = u16(body, 10);
      if (gapCount > limits.maxSackGaps || dupCount > limits.maxSackDuplicates) return 'limit';
      if (body.length !== 12 + 4 * gapCount + 4 * dupCount) return 'malformed';
      const gaps: [number, number][] = [];
      for (let i = 0; i < gapCount; i++) {
        const start = u16(body, 12 + 4 * i);
        const end = u16(body, 14 + 4 * i);
        if (start === 0 || end < start) return 'malformed';
        gaps.push([start, end]);
      }
      return { type, cumulativeTsn: u32(body, 0), gaps };
    }
    case ChunkType.FORWARD_TSN:
      if (body.length < 4 || (body.length - 4) % 4 !== 0) return 'malformed';
      if ((body.length - 4) / 4 > limits.maxStreamsListed) return 'limit';
      return { type, cumulativeTsn: u32(body, 0) };
    case ChunkType.SHUTDOWN:
      return body.length < 4 ? 'malformed' : { type, flags };
    case ChunkType.HEARTBEAT:
    case ChunkType.HEARTBEAT_ACK:
    case ChunkType.ABORT:
    case ChunkType.ERROR:
      return checkParams(body, limits) ?? { type, flags };
    case ChunkType.RE_CONFIG:
      return checkParams(body, limits, true) ?? { type, flags };
    default:
      return { type, flags };
  }
}

/** TLV parameters (RFC 9260 §3.2.1): each length >= 4 and inside the chunk; padding only at the end. */
function checkParams(body: Uint8Array, limits: SctpPacketLimits, reconfig = false): SctpPacketDropReason | undefined {
  let pos = 0;
  let count = 0;
  while (pos + 4 <= body.length) {
    const paramType = u16(body, pos);
    const length = u16(body, pos + 2);
    if (length < 4 || pos + length > body.length) return 'malformed';
    if (++count > limits.maxParams) return 'limit';
    if (reconfig) {
      const min = RECONFIG_PARAM_MIN.get(paramType);
      if (min !== undefined && length - 4 < min) return 'malformed';
      if (paramType === 13 && (length - 4 - 12) / 2 > limits.maxStreamsListed) return 'limit';
    }
    pos += length + ((4 - (length % 4)) % 4);
  }
  return body.length - Math.min(pos, body.length) > 3 ? 'malformed' : undefined;
}
