/** Builds SCTP packets byte by byte (RFC 9260 §3) for tests of the carrier's reader and policy. */
import { sctpChecksum } from '../../src/carrier/crc32c.js';

export function u16(v: number): number[] {
  return [(v >>> 8) & 0xff, v & 0xff];
}

export function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** A chunk: type, flags, length (default: header + body), body, padding to 4. */
export function chunk(type: number, body: number[] | Uint8Array, flags = 0, length?: number): number[] {
  const b = [...body];
  const out = [type, flags, ...u16(length ?? 4 + b.length), ...b];
  while (out.length % 4) out.push(0);
  return out;
}

export function param(type: number, body: number[], length?: number): number[] {
  const out = [...u16(type), ...u16(length ?? 4 + body.length), ...body];
  while (out.length % 4) out.push(0);
  return out;
}

export function dataChunk(tsn: number, data: number[] | Uint8Array, options: { stream?: number; ssn?: number; ppid?: number; flags?: number } = {}): number[] {
  return chunk(0, [...u32(tsn), ...u16(options.stream ?? 0), ...u16(options.ssn ?? 0), ...u32(options.ppid ?? 53), ...data], options.flags ?? 0x03);
}

export function initChunk(options: { type?: 1 | 2; tag?: number; rwnd?: number; os?: number; mis?: number; tsn?: number; params?: number[] } = {}): number[] {
  return chunk(options.type ?? 1, [
    ...u32(options.tag ?? 0x11223344),
    ...u32(options.rwnd ?? 65536),
    ...u16(options.os ?? 1),
    ...u16(options.mis ?? 1),
    ...u32(options.tsn ?? 1000),
    ...(options.params ?? []),
  ]);
}

export function sackChunk(cumTsn: number, gaps: [number, number][] = [], dups: number[] = [], counts?: { gaps?: number; dups?: number }): number[] {
  return chunk(3, [
    ...u32(cumTsn),
    ...u32(65536),
    ...u16(counts?.gaps ?? gaps.length),
    ...u16(counts?.dups ?? dups.length),
    ...gaps.flatMap(([s, e]) => [...u16(s), ...u16(e)]),
    ...dups.flatMap(u32),
  ]);
}

/** A whole packet with a correct checksum (unless `badChecksum`). */
export function packet(chunks: number[][], options: { vtag?: number; src?: number; dst?: number; badChecksum?: boolean } = {}): Uint8Array {
  const bytes = new Uint8Array([...u16(options.src ?? 5000), ...u16(options.dst ?? 5000), ...u32(options.vtag ?? 0), 0, 0, 0, 0, ...chunks.flat()]);
  const sum = sctpChecksum(bytes) ^ (options.badChecksum ? 1 : 0);
  bytes[8] = sum & 0xff;
  bytes[9] = (sum >>> 8) & 0xff;
  bytes[10] = (sum >>> 16) & 0xff;
  bytes[11] = (sum >>> 24) & 0xff;
  return bytes;
}

/** Re-stamps the checksum after a test changed bytes (an attacker can always compute it). */
export function restamp(bytes: Uint8Array): Uint8Array {
  const sum = sctpChecksum(bytes);
  bytes[8] = sum & 0xff;
  bytes[9] = (sum >>> 8) & 0xff;
  bytes[10] = (sum >>> 16) & 0xff;
  bytes[11] = (sum >>> 24) & 0xff;
  return bytes;
}
