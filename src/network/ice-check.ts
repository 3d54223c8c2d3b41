/**
 * ICE connectivity checks (RFC 8445 §7.2.2, §7.3) as the path mux sees them in front of libjuice:
 *
 * - `verifyIceRequest`: is this a Binding request from our peer, signed with our ICE password?
 *   Only such a request may move a path to a new peer address (network-change.md, rule 7: "a real
 *   implementation must first verify the request's MESSAGE-INTEGRITY with our ICE pwd (and USERNAME
 *   = `<our ufrag>:<peer ufrag>`) so that nobody can hijack the call").
 * - `fixZeroTiebreaker`: the peer's checks through a Telegram reflector carry an all-zero
 *   ICE-CONTROLLING/ICE-CONTROLLED value that libjuice rejects with 400; re-sign them with a non-zero
 *   one (reflector-shim.md §3).
 * - `rewriteMappedAddress`: libjuice answers the peer's checks with the loopback proxy's address as
 *   XOR-MAPPED-ADDRESS; put the peer's real address there so the peer learns its true mapping
 *   (reflector-shim.md §5 notes responses are signed with our pwd too, so we can re-sign them).
 *
 * Requests *to* us and our responses to them are keyed with **our** password (RFC 8445 §7.2.2).
 * All three verify the input's integrity before doing anything: nothing here ever signs bytes that
 * were not already signed with our password, so a forged check cannot be laundered into a valid one.
 * None of them throws on any input; rejections are preallocated objects.
 */
import { sameEndpoint, type Endpoint } from './endpoint.js';
import {
  StunAttr,
  StunMethod,
  buildStun,
  decodeAddress,
  decodeU32,
  encodeAddress,
  encodeU64,
  findAttribute,
  parseStun,
  resignInPlace,
  verifyFingerprint,
  verifyIntegrity,
  type StunAttributeInit,
  type StunMessage,
  type StunParseFailureReason,
} from './stun.js';

export type IceRejectReason =
  | StunParseFailureReason
  | 'not-binding-request'
  | 'no-username'
  | 'wrong-ufrag'
  | 'no-integrity'
  | 'bad-fingerprint'
  | 'bad-integrity'
  | 'no-priority';

export interface IceRequestAccepted {
  readonly ok: true;
  readonly remoteUfrag: string;
  readonly useCandidate: boolean;
  readonly priority: number;
  /** Which role attribute the request carried (`undefined`: neither). */
  readonly role: 'controlling' | 'controlled' | undefined;
}

export interface IceRequestRejected {
  readonly ok: false;
  readonly reason: IceRejectReason;
}

export type IceRequestCheck = IceRequestAccepted | IceRequestRejected;

const REJECT = new Map<IceRejectReason, IceRequestRejected>();
function reject(reason: IceRejectReason): IceRequestRejected {
  let r = REJECT.get(reason);
  if (!r) REJECT.set(reason, (r = Object.freeze({ ok: false, reason })));
  return r;
}

/**
 * Accepts a Binding request whose USERNAME is `<localUfrag>:<remoteUfrag>` (remote part non-empty),
 * whose FINGERPRINT (when present) and MESSAGE-INTEGRITY verify with `localPwd`, and which carries
 * PRIORITY (RFC 8445 §7.1.1 makes it mandatory). Cheap checks run before the HMAC.
 */
export function verifyIceRequest(bytes: Uint8Array, localUfrag: string, localPwd: string): IceRequestCheck {
  const message = parseStun(bytes);
  if (!message.ok) return reject(message.reason);
  if (message.method !== StunMethod.BINDING || message.cls !== 'request') return reject('not-binding-request');
  const username = findAttribute(message, StunAttr.USERNAME);
  if (!username) return reject('no-username');
  const remoteUfrag = remoteUfragOf(message, username.offset, username.length, localUfrag);
  if (remoteUfrag === undefined) return reject('wrong-ufrag');
  if (message.integrityOffset < 0) return reject('no-integrity');
  if (message.fingerprintOffset >= 0 && !verifyFingerprint(message)) return reject('bad-fingerprint');
  if (!verifyIntegrity(message, localPwd)) return reject('bad-integrity');
  const priorityAttr = findAttribute(message, StunAttr.PRIORITY);
  const priority = priorityAttr ? decodeU32(bytes.subarray(priorityAttr.offset, priorityAttr.offset + priorityAttr.length)) : undefined;
  if (priority === undefined) return reject('no-priority');
  const role = findAttribute(message, StunAttr.ICE_CONTROLLING)
    ? 'controlling'
    : findAttribute(message, StunAttr.ICE_CONTROLLED)
      ? 'controlled'
      : undefined;
  return { ok: true, remoteUfrag, useCandidate: findAttribute(message, StunAttr.USE_CANDIDATE) !== undefined, priority, role };
}

/** The part after `<localUfrag>:`, or `undefined` when the prefix does not match or nothing follows. */
function remoteUfragOf(message: StunMessage, offset: number, length: number, localUfrag: string): string | undefined {
  const b = message.bytes;
  const n = localUfrag.length;
  if (length <= n + 1) return undefined;
  // ICE ufrags are ice-chars (ASCII, RFC 8839 §5.4): compare code units with bytes, no decoding.
  for (let i = 0; i < n; i += 1) if (b[offset + i] !== localUfrag.charCodeAt(i)) return undefined;
  if (b[offset + n] !== 0x3a) return undefined;
  return Buffer.from(b.buffer, b.byteOffset + offset + n + 1, length - n - 1).toString('utf8');
}

/**
 * reflector-shim.md §3: if `bytes` is a Binding request signed with `localPwd` whose ICE-CONTROLLING
 * or ICE-CONTROLLED value (8 bytes) is all zero, returns a copy with that value set to `tiebreaker`
 * and MESSAGE-INTEGRITY / FINGERPRINT recomputed; otherwise `undefined` (forward the original).
 * `tiebreaker` must be non-zero (one random value per call is fine).
 */
export function fixZeroTiebreaker(bytes: Uint8Array, localPwd: string, tiebreaker: bigint): Uint8Array | undefined {
  if (tiebreaker <= 0n || tiebreaker > 0xffffffffffffffffn) throw new RangeError('the tie-breaker must be a non-zero uint64');
  const message = parseStun(bytes);
  if (!message.ok || message.method !== StunMethod.BINDING || message.cls !== 'request') return undefined;
  const zeroAt: number[] = [];
  for (const attr of message.attributes) {
    if ((attr.type === StunAttr.ICE_CONTROLLING || attr.type === StunAttr.ICE_CONTROLLED) && attr.length === 8 && isZero(bytes, attr.offset, 8)) {
      zeroAt.push(attr.offset);
    }
  }
  if (zeroAt.length === 0 || message.integrityOffset < 0) return undefined;
  if (message.fingerprintOffset >= 0 && !verifyFingerprint(message)) return undefined;
  if (!verifyIntegrity(message, localPwd)) return undefined;
  // a copy even when `bytes` is a Node Buffer (whose slice() is a view): the input stays untouched
  const out = new Uint8Array(bytes);
  const value = encodeU64(tiebreaker);
  for (const at of zeroAt) out.set(value, at);
  resignInPlace(out, message, localPwd);
  return out;
}

function isZero(bytes: Uint8Array, from: number, length: number): boolean {
  for (let i = from; i < from + length; i += 1) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * If `response` is a Binding success response signed with `localPwd` whose XOR-MAPPED-ADDRESS (and
 * MAPPED-ADDRESS, if any) is not `endpoint`, returns a copy that reports `endpoint`, re-signed with
 * `localPwd` (FINGERPRINT kept when it had one). `undefined`: not such a response, integrity does
 * not verify, it carries MESSAGE-INTEGRITY-SHA256 (not re-signed here), or it already says `endpoint`.
 * The address family may change (a loopback IPv4 proxy, an IPv6 peer): the message is rebuilt.
 */
export function rewriteMappedAddress(response: Uint8Array, endpoint: Endpoint, localPwd: string): Uint8Array | undefined {
  const message = parseStun(response);
  if (!message.ok || message.method !== StunMethod.BINDING || message.cls !== 'success') return undefined;
  if (message.integrityOffset < 0 || findAttribute(message, StunAttr.MESSAGE_INTEGRITY_SHA256)) return undefined;
  const xorMapped = findAttribute(message, StunAttr.XOR_MAPPED_ADDRESS);
  if (!xorMapped) return undefined;
  let replacement: Uint8Array;
  try {
    replacement = encodeAddress(endpoint, message.transactionId);
  } catch {
    return undefined; // not an IP literal: nothing sensible to report
  }
  const current = response.subarray(xorMapped.offset, xorMapped.offset + xorMapped.length);
  const mapped = findAttribute(message, StunAttr.MAPPED_ADDRESS);
  const mappedCurrent = mapped ? decodeAddress(response.subarray(mapped.offset, mapped.offset + mapped.length)) : undefined;
  const mappedRight = !mapped || (mappedCurrent !== undefined && sameEndpoint(mappedCurrent, endpoint));
  if (sameBytes(current, replacement) && mappedRight) return undefined;
  if (message.fingerprintOffset >= 0 && !verifyFingerprint(message)) return undefined;
  if (!verifyIntegrity(message, localPwd)) return undefined;

  const attributes: StunAttributeInit[] = [];
  for (const attr of message.attributes) {
    if (attr.offset >= message.integrityOffset) break;
    if (attr.type === StunAttr.XOR_MAPPED_ADDRESS) attributes.push({ type: attr.type, value: replacement });
    else if (attr.type === StunAttr.MAPPED_ADDRESS) attributes.push({ type: attr.type, value: encodeAddress(endpoint) });
    else attributes.push({ type: attr.type, value: response.subarray(attr.offset, attr.offset + attr.length) });
  }
  return buildStun({
    method: message.method,
    cls: message.cls,
    transactionId: message.transactionId,
    attributes,
    integrityKey: localPwd,
    fingerprint: message.fingerprintOffset >= 0,
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}
