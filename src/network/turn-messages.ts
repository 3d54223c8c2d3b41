/**
 * TURN over UDP wire pieces (RFC 8656): ChannelData framing (§12.4), the request attributes of each
 * method, the protocol's fixed lifetimes, and the mapping from STUN error codes to the TURN client's
 * stable failure codes.
 */
import type { Endpoint } from './endpoint.js';
import {
  StunAttr,
  StunMethod,
  encodeAddress,
  encodeChannelNumber,
  encodeRequestedFamily,
  encodeRequestedTransport,
  encodeU32,
  type StunAttributeInit,
} from './stun.js';

/** RFC 8656 §12: channel numbers 0x4000–0x4FFF (0x5000–0x7FFF are reserved since RFC 8656). */
export const CHANNEL_MIN = 0x4000;
export const CHANNEL_MAX = 0x4fff;

/** RFC 8656 §9: a permission lives 300 s; refresh well before (one minute of margin). */
export const PERMISSION_LIFETIME_MS = 300_000;
export const PERMISSION_REFRESH_MS = 240_000;
/** RFC 8656 §12: a channel binding lives 600 s; refresh one minute before. */
export const CHANNEL_LIFETIME_MS = 600_000;
export const CHANNEL_REFRESH_MS = 540_000;
/** RFC 8656 §7.2: the server's default allocation lifetime when none is granted explicitly. */
export const DEFAULT_ALLOCATION_LIFETIME_S = 600;

/** When to refresh an allocation granted for `lifetimeSec`: a minute early, or halfway for short ones. */
export function allocationRefreshDelayMs(lifetimeSec: number): number {
  return lifetimeSec >= 120 ? (lifetimeSec - 60) * 1000 : lifetimeSec * 500;
}

// ---- ChannelData (RFC 8656 §12.4) --------------------------------------------------------------

/** Largest payload we relay: a Send indication's other attributes must fit the 16-bit STUN length too. */
export const MAX_TURN_PAYLOAD = 0xffff - 64;

/** First byte 0x40–0x4F: the RFC 7983 range for TURN channels (our numbers are all 0x4000–0x4FFF). */
export function isChannelData(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && (bytes[0]! & 0xf0) === 0x40;
}

export function encodeChannelData(channel: number, payload: Uint8Array): Uint8Array {
  // Over UDP the padding to a multiple of 4 is optional (§12.5); we send none. Every byte is
  // written, so the pooled unzeroed allocation is safe (and ~3x cheaper per media packet).
  const pooled = Buffer.allocUnsafe(4 + payload.length);
  const out = new Uint8Array(pooled.buffer, pooled.byteOffset, pooled.length);
  out[0] = channel >> 8;
  out[1] = channel & 0xff;
  out[2] = payload.length >> 8;
  out[3] = payload.length & 0xff;
  out.set(payload, 4);
  return out;
}

/**
 * `{ channel, payload }` (payload: a view into `bytes`), or `undefined` when the length field
 * overruns the datagram or more than 3 bytes of padding follow.
 */
export function parseChannelData(bytes: Uint8Array): { readonly channel: number; readonly payload: Uint8Array } | undefined {
  if (!isChannelData(bytes)) return undefined;
  const length = (bytes[2]! << 8) | bytes[3]!;
  const trailing = bytes.length - 4 - length;
  if (trailing < 0 || trailing > 3) return undefined;
  return { channel: (bytes[0]! << 8) | bytes[1]!, payload: bytes.subarray(4, 4 + length) };
}

// ---- request attributes -----------------------------------------------------------------------

export function allocateAttributes(family: 4 | 6, lifetimeSec: number | undefined): StunAttributeInit[] {
  const attributes: StunAttributeInit[] = [{ type: StunAttr.REQUESTED_TRANSPORT, value: encodeRequestedTransport() }];
  // RFC 8656 §7.1: without it the server relays IPv4.
  if (family === 6) attributes.push({ type: StunAttr.REQUESTED_ADDRESS_FAMILY, value: encodeRequestedFamily(6) });
  if (lifetimeSec !== undefined) attributes.push({ type: StunAttr.LIFETIME, value: encodeU32(lifetimeSec) });
  return attributes;
}

export function refreshAttributes(lifetimeSec: number | undefined): StunAttributeInit[] {
  return lifetimeSec === undefined ? [] : [{ type: StunAttr.LIFETIME, value: encodeU32(lifetimeSec) }];
}

/** XOR-PEER-ADDRESS needs the transaction id, so attributes that carry one are built per request. */
export function peerAttribute(peer: Endpoint, transactionId: Uint8Array): StunAttributeInit {
  return { type: StunAttr.XOR_PEER_ADDRESS, value: encodeAddress(peer, transactionId) };
}

export function channelAttribute(channel: number): StunAttributeInit {
  return { type: StunAttr.CHANNEL_NUMBER, value: encodeChannelNumber(channel) };
}

// ---- requests -------------------------------------------------------------------------------

export type TurnRequestKind = 'allocate' | 'refresh' | 'permission' | 'channel';

export function turnMethod(kind: TurnRequestKind): number {
  switch (kind) {
    case 'allocate':
      return StunMethod.ALLOCATE;
    case 'refresh':
      return StunMethod.REFRESH;
    case 'permission':
      return StunMethod.CREATE_PERMISSION;
    default:
      return StunMethod.CHANNEL_BIND;
  }
}

/**
 * Unsigned error responses accepted for an authenticated request besides the 401/438 challenges:
 * coturn (4.6.1, run here) answers an Allocate on a 5-tuple that already has an allocation with an
 * unsigned 437 — it checks the 5-tuple before the credentials. Without this a client whose port was
 * reused within an allocation's lifetime would wait for a timeout instead of learning why.
 */
export function unsignedErrorAllowed(kind: TurnRequestKind, status: number | undefined): boolean {
  return kind === 'allocate' && status === 437;
}

// ---- failures ---------------------------------------------------------------------------------

export type TurnFailureCode =
  | 'TURN_UNAUTHORIZED'
  | 'TURN_STALE_NONCE'
  | 'TURN_FORBIDDEN'
  | 'TURN_ALLOCATION_MISMATCH'
  | 'TURN_WRONG_CREDENTIALS'
  | 'TURN_UNSUPPORTED_FAMILY'
  | 'TURN_UNSUPPORTED_TRANSPORT'
  | 'TURN_QUOTA_REACHED'
  | 'TURN_INSUFFICIENT_CAPACITY'
  | 'TURN_ERROR_RESPONSE'
  | 'TURN_BAD_RESPONSE'
  | 'TURN_TIMEOUT';

/** RFC 8656 §19 / RFC 8489 §14.8 error codes to the client's stable failure codes. */
export function failureCodeFor(status: number): TurnFailureCode {
  switch (status) {
    case 401:
      return 'TURN_UNAUTHORIZED';
    case 438:
      return 'TURN_STALE_NONCE';
    case 403:
      return 'TURN_FORBIDDEN';
    case 437:
      return 'TURN_ALLOCATION_MISMATCH';
    case 441:
      return 'TURN_WRONG_CREDENTIALS';
    case 440:
    case 443:
      return 'TURN_UNSUPPORTED_FAMILY';
    case 442:
      return 'TURN_UNSUPPORTED_TRANSPORT';
    case 486:
      return 'TURN_QUOTA_REACHED';
    case 508:
      return 'TURN_INSUFFICIENT_CAPACITY';
    default:
      return 'TURN_ERROR_RESPONSE';
  }
}
