/**
 * Signaling payloads may arrive compressed: every InstanceV2 receiver inflates a decrypted
 * payload that starts with a gzip (1F 8B) or zlib (78 9C) header, up to 2 MiB (§5.5).
 *
 * Inflating is the one step whose cost the peer controls (a 2 KiB deflate stream of zeros
 * inflates to 2 MiB: ~1000:1), so it runs against a byte budget shared by the whole channel: an
 * attempt is made only when the budget holds a maximal output (zlib's `maxOutputLength` caps it),
 * and what it consumed and produced is charged. Inflating stays synchronous: one call costs at most
 * ~5 ms (2 MiB, bench/signaling-hostile.ts) and the budget allows ~1 MiB/s after a 4 MiB burst,
 * while a worker thread would add a hop to every honest message and make the channels async.
 */
import { gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import type { RateLimit, TokenBucket } from './token-bucket.js';

export const MAX_INFLATED_PAYLOAD = 2 * 1024 * 1024;

/**
 * Bytes (input + output) a channel may inflate: 4 MiB at once, so the largest payload §5.5 allows
 * (plus its input) always fits in a full bucket, then 1 MiB/s. Honest 8.0.0/9.0.0 peers never compress; V3 peers
 * gzip JSON of a few KiB per message, a few dozen at setup (§5.5, §7). A hostile peer gets ~2 ms
 * of inflating per second (about 2 ms per MiB measured, bench/signaling-hostile.ts).
 */
export const INFLATE_LIMIT: RateLimit = Object.freeze({ capacity: 4 * 1024 * 1024, perSecond: 1024 * 1024 });

/**
 * Why a payload was not delivered. `budget`: the inflate budget is spent for now; an acked channel
 * leaves such a message unacknowledged, so the peer resends it later.
 */
export type PayloadDropReason = 'empty' | 'corrupt' | 'too-large' | 'budget';

export type DecodedPayload = { readonly ok: true; readonly payload: Uint8Array } | { readonly ok: false; readonly reason: PayloadDropReason };

export function isCompressed(payload: Uint8Array): boolean {
  return payload.length >= 2 && ((payload[0] === 0x1f && payload[1] === 0x8b) || (payload[0] === 0x78 && payload[1] === 0x9c));
}

const dropped = {
  empty: { ok: false, reason: 'empty' },
  corrupt: { ok: false, reason: 'corrupt' },
  'too-large': { ok: false, reason: 'too-large' },
  budget: { ok: false, reason: 'budget' },
} as const satisfies Record<PayloadDropReason, DecodedPayload>;

/**
 * The payload itself, or its inflated form, or why neither. An empty payload is never a
 * signaling message (every one is a JSON object, §7), so it is dropped here rather than parsed.
 * `budget` is charged at `now`. Never throws.
 */
export function decodeSignalingPayload(payload: Uint8Array, budget: TokenBucket, now: number): DecodedPayload {
  if (payload.length === 0) return dropped.empty;
  if (!isCompressed(payload)) return { ok: true, payload };
  // gzip: CM must be 8 (deflate) and the reserved flag bits zero (RFC 1952 §2.3.1); refusing a
  // bad header here spares zlib building an exception.
  const gzip = payload[0] === 0x1f;
  if (gzip && (payload.length < 18 || payload[2] !== 8 || (payload[3]! & 0xe0) !== 0)) return dropped.corrupt;
  // Attempt only when the budget holds the largest output allowed: then an attempt never fails for
  // want of budget, and honest payloads (a few KiB) are charged only what they really inflate to.
  if (budget.available(now) < payload.length + MAX_INFLATED_PAYLOAD) return dropped.budget;
  try {
    const out = (gzip ? gunzipSync : inflateSync)(payload, { maxOutputLength: MAX_INFLATED_PAYLOAD });
    budget.charge(payload.length + out.length, now);
    if (out.length === 0) return dropped.empty;
    return { ok: true, payload: new Uint8Array(out.buffer, out.byteOffset, out.byteLength) };
  } catch (error) {
    // The attempt may have produced up to the cap before failing: charge all of it, so a peer
    // sending bombs or garbage gets one attempt (and one exception) per ~2 s once the burst is spent.
    budget.charge(payload.length + MAX_INFLATED_PAYLOAD, now);
    return (error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE' ? dropped['too-large'] : dropped.corrupt;
  }
}

/** gzip as V3 senders do (level 9, gzip wrapper). */
export function compressSignalingPayload(payload: Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(payload, { level: 9 }));
}
