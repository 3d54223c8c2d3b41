/**
 * Typed errors. Every error the library raises is a `TgCallError` with a stable `code`, so callers
 * can branch on `err.code` instead of parsing messages.
 */
export class TgCallError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad DH parameters or values, key/fingerprint mismatches, malformed encrypted packets. */
export class CryptoError extends TgCallError {}

/** Malformed or unexpected protocol data (TL fields, JSON signaling messages, packets). */
export class ProtocolError extends TgCallError {}

/** Failures of the call lifecycle over MTProto (RPC errors, wrong state, unknown call). */
export class CallSignalingError extends TgCallError {}

/** Peer connection failures (ICE, DTLS, data channel). */
export class TransportError extends TgCallError {}

/** Audio codec, RTP and file failures. */
export class MediaError extends TgCallError {}

/** A deadline passed (ring timeout, connect timeout, receive timeout). */
export class CallTimeoutError extends TgCallError {}

/** Turns anything caught into an Error without throwing again. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}
