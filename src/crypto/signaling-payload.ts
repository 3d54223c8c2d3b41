/**
 * Signaling payloads may arrive compressed: every InstanceV2 receiver inflates a decrypted
 * payload that starts with a gzip (1F 8B) or zlib (78 9C) header, up to 2 MiB (§5.5).
 */
import { inflateSync, gunzipSync, gzipSync } from 'node:zlib';

export const MAX_INFLATED_PAYLOAD = 2 * 1024 * 1024;

export function isCompressed(payload: Uint8Array): boolean {
  return payload.length >= 2 && ((payload[0] === 0x1f && payload[1] === 0x8b) || (payload[0] === 0x78 && payload[1] === 0x9c));
}

/** The payload itself, or its inflated form; `undefined` when inflating fails or is too large. */
export function decodeSignalingPayload(payload: Uint8Array): Uint8Array | undefined {
  if (!isCompressed(payload)) return payload;
  try {
    const inflate = payload[0] === 0x1f ? gunzipSync : inflateSync;
    return new Uint8Array(inflate(payload, { maxOutputLength: MAX_INFLATED_PAYLOAD }));
  } catch {
    return undefined;
  }
}

/** gzip as V3 senders do (level 9, gzip wrapper). */
export function compressSignalingPayload(payload: Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(payload, { level: 9 }));
}
